import assert from "node:assert/strict";
import type { LogEntry } from "../../replica/raft/types.ts";
import { SimDisk, writeEntries } from "./disk.ts";
import { Prng } from "../testing/prng.ts";

const entry = (index: number, term: number): LogEntry => ({ index, term, noop: true });
const hs = (term: number) => ({ term, votedFor: "n1", recovering: false });

Deno.test("disk: synced writes survive a crash, unsynced ones survive only as a prefix", () => {
  const outcomes = new Set<string>();
  for (let seed = 1; seed <= 50; seed++) {
    const disk = new SimDisk();
    disk.write(hs(1), [entry(1, 1), entry(2, 1)], true);
    disk.write(null, [entry(3, 1)], false);
    disk.write(hs(2), [entry(4, 2)], false);
    disk.crash(new Prng(seed));
    const r = disk.restored()!;
    const kept = r.entries.map((e) => e.index).join(",");
    // Writes reach the disk in order: the hard state of term 2 implies entry 4.
    assert.ok(["1,2", "1,2,3", "1,2,3,4"].includes(kept), kept);
    if (r.hardState.term === 2) assert.equal(kept, "1,2,3,4");
    outcomes.add(`${kept}@${r.hardState.term}`);
  }
  assert.deepEqual([...outcomes].sort(), ["1,2,3,4@1", "1,2,3,4@2", "1,2,3@1", "1,2@1"]);
});

Deno.test("disk: a sync makes earlier unsynced writes durable too", () => {
  const disk = new SimDisk();
  disk.write(null, [entry(1, 1)], false);
  disk.write(hs(1), [], true);
  assert.equal(disk.crash(new Prng(1)), 0);
  assert.deepEqual(disk.restored(), { hardState: hs(1), entries: [entry(1, 1)] });
});

Deno.test("disk: a wiped disk restores nothing", () => {
  const disk = new SimDisk();
  disk.write(hs(3), [entry(1, 3)], true);
  disk.wipe();
  assert.equal(disk.restored(), undefined);
});

Deno.test("writeEntries truncates from the first written index and refuses gaps", () => {
  const log = [entry(1, 1), entry(2, 1), entry(3, 1)];
  writeEntries(log, [entry(2, 2)]);
  assert.deepEqual(log, [entry(1, 1), entry(2, 2)]);
  assert.throws(() => writeEntries(log, [entry(4, 2)]), /entries start at 4/);
});
