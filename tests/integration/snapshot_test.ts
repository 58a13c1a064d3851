/**
 * Compaction and InstallSnapshot with real replica processes, compacting
 * often (SNAPSHOT_THRESHOLD=200): a follower wiped after compaction and one
 * that was down while the leader compacted past it are caught up with the
 * leader's state database over /install-snapshot; a replica restarted on a
 * compacted log re-applies nothing; a leader SIGKILLed mid-way loses no
 * acknowledged stroke; every replica ends with the same history from index 1.
 */
import assert from "node:assert/strict";
import type { LogEntry } from "../../protocol/mod.ts";
import { eventually, LocalCluster, testStroke } from "../testing/local_cluster.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const THRESHOLD = 200;

function strokeIds(entries: LogEntry[]): string[] {
  return entries.flatMap((e) => ("stroke" in e ? [e.stroke.id] : []));
}

async function draw(c: LocalCluster, prefix: string, batches: number, size = 100) {
  const ids: string[] = [];
  for (let b = 0; b < batches; b++) {
    const batch = Array.from({ length: size }, (_, i) => `${prefix}${b}-${i}`);
    ids.push(...batch);
    await c.propose(batch.map((id, i) => testStroke(id, i)));
  }
  return ids;
}

/** Every live replica serves exactly `ids`, each once, from index 1. */
async function allServe(c: LocalCluster, ids: string[]): Promise<void> {
  const leader = await c.waitForLeader();
  const target = (await c.status(leader.id))!.commitIndex;
  await c.waitForApplied(target, 20_000);
  const want = [...ids].sort();
  for (const r of c.replicas.filter((x) => x.proc.running)) {
    const got = strokeIds(await c.entries(r.id));
    assert.equal(got.length, new Set(got).size, `${r.id} serves a stroke twice`);
    assert.deepEqual([...got].sort(), want, `${r.id} serves the whole history`);
  }
}

async function logOf(id: string, dir: string): Promise<string> {
  return await Deno.readTextFile(`${dir}/${id}.log`);
}

Deno.test({
  name:
    "snapshots: wiped and lagging followers catch up from the leader's database; restarts re-apply nothing",
  ...opts,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "wb-snap-" });
  const c = await new LocalCluster({ dir, env: { SNAPSHOT_THRESHOLD: String(THRESHOLD) } }).start();
  try {
    const leader = await c.waitForLeader();
    const [f1, f2] = c.replicas.filter((r) => r.id !== leader.id);
    const ids = await draw(c, "a", 10);
    await eventually(
      async () => ((await c.status(leader.id))?.snapshotIndex ?? 0) > 0,
      10_000,
      "the leader compacts",
    );

    // Disk loss after compaction: only a snapshot can bring the prefix back.
    await c.kill(f1.id);
    await c.restart(f1.id, { wipe: true });
    ids.push(...await draw(c, "b", 3));
    await eventually(
      async () => (await c.status(f1.id))?.recovering === false,
      20_000,
      "the wiped follower is caught up",
    );
    assert.match(await logOf(f1.id, dir), /event=snapshot_received .*success=true/);
    assert.match(await logOf(leader.id, dir), /event=snapshot_shipped .*result=final/);
    await allServe(c, ids);

    // Down while the leader compacts past its log (once it has been down for
    // longer than an election timeout, the leader keeps no entries for it).
    await c.kill(f2.id);
    await new Promise((r) => setTimeout(r, 1000));
    ids.push(...await draw(c, "c", 6));
    await c.restart(f2.id);
    await allServe(c, ids);
    assert.match(await logOf(f2.id, dir), /event=snapshot_received/);

    // A restart on a compacted log opens the database and the log tail, and re-applies nothing.
    await c.kill(f2.id);
    await c.restart(f2.id);
    await eventually(async () => (await c.status(f2.id)) !== null, 10_000, "f2 back");
    const st = (await c.status(f2.id))!;
    assert.ok((st.snapshotIndex ?? 0) > 0, "restarted on a compacted log");
    assert.equal(st.appliedSinceStart, 0, "nothing re-applied");

    // The leader dies: the new one compacts and ships on its own.
    await c.kill(leader.id);
    ids.push(...await draw(c, "d", 4));
    await c.restart(leader.id, { wipe: true });
    ids.push(...await draw(c, "e", 1));
    await allServe(c, ids);
  } finally {
    await c.stop();
    if (Deno.env.get("KEEP_DIR")) console.log(dir);
    else await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
