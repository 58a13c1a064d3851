/** makeSnapshot: a consistent copy that says what it holds, made while the replica goes on applying. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { LogEntry } from "../../protocol/mod.ts";
import { StateDb } from "../state_db.ts";
import { makeSnapshot, MakeSnapshotError } from "./make.ts";

const stroke = (index: number, term: number): LogEntry => ({
  index,
  term,
  stroke: { id: `s${index}`, x0: index, y0: 0, x1: 1, y1: 1, color: "#000000", width: 1 },
});

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "wb-make-snapshot-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A state database with `count` entries, the last ones of term 4. */
function fill(path: string, count: number): StateDb {
  const db = new StateDb(path);
  const batch = 5000;
  for (let from = 1; from <= count; from += batch) {
    const to = Math.min(count, from + batch - 1);
    db.apply(
      Array.from(
        { length: to - from + 1 },
        (_, i) => stroke(from + i, from + i > count / 2 ? 4 : 2),
      ),
    );
  }
  return db;
}

Deno.test("make snapshot: the copy holds the applied entries and says up to which", async () => {
  await withDir(async (dir) => {
    const db = fill(`${dir}/state.sqlite`, 1234);
    db.apply([{ index: 1235, term: 5, noop: true }]);
    await Deno.writeTextFile(`${dir}/snap`, "stale"); // replaced, not refused
    const meta = await makeSnapshot(`${dir}/state.sqlite`, `${dir}/snap`);
    assert.equal(meta.index, db.lastIndex());
    assert.equal(meta.term, db.termAt(db.lastIndex()));
    assert.equal(meta.term, 5);
    const bytes = await Deno.readFile(`${dir}/snap`);
    // One file: no -wal or -shm left beside it for the shipper to leak.
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.startsWith("snap"));
    assert.deepEqual(names, ["snap"]);
    assert.equal(meta.bytes, bytes.length);
    assert.equal(meta.sha256, createHash("sha256").update(bytes).digest("hex"));
    const copy = new StateDb(`${dir}/snap`);
    assert.equal(copy.lastIndex(), 1235);
    assert.deepEqual(copy.entries(1, 2000), db.entries(1, 2000));
    copy.close();
    db.close();
  });
});

Deno.test("make snapshot: a failure rejects clearly and leaves no output", async () => {
  await withDir(async (dir) => {
    await assert.rejects(
      makeSnapshot(`${dir}/missing.sqlite`, `${dir}/snap`),
      (e) => e instanceof MakeSnapshotError && /missing\.sqlite.*failed/.test(e.message),
    );
    // A database without the applied table: the backup succeeds, reading the copy fails.
    new StateDb(`${dir}/ok.sqlite`).close();
    const { DatabaseSync } = await import("node:sqlite");
    const raw = new DatabaseSync(`${dir}/ok.sqlite`);
    raw.exec("DROP TABLE applied");
    raw.close();
    await assert.rejects(makeSnapshot(`${dir}/ok.sqlite`, `${dir}/snap`), /applied/);
    await assert.rejects(Deno.stat(`${dir}/snap`), Deno.errors.NotFound, "no partial output");
  });
});

Deno.test("make snapshot: writes go on during the copy; the copy is the database at one batch", async () => {
  await withDir(async (dir) => {
    // ~40 MiB: the copy and its digest take many turns of the event loop.
    const rows = 300_000;
    const db = fill(`${dir}/state.sqlite`, rows);
    let next = rows + 1;
    let during = 0;
    let copying = true;
    const writes = (async () => {
      while (copying) {
        db.apply(Array.from({ length: 100 }, () => stroke(next++, 6)));
        during++;
        await new Promise((r) => setTimeout(r, 0));
      }
    })();
    const started = performance.now();
    let meta;
    try {
      meta = await makeSnapshot(`${dir}/state.sqlite`, `${dir}/snap`);
    } finally {
      copying = false;
      await writes;
    }
    const ms = performance.now() - started;
    console.log(
      `copy + sha256 of ${rows} rows, ${(meta.bytes / 2 ** 20).toFixed(1)} MiB: ${
        ms.toFixed(0)
      } ms,` +
        ` ${during} batches applied meanwhile`,
    );
    assert.ok(during > 0, "the event loop ran the writes while the copy was made");
    assert.ok(meta.index >= rows && meta.index < next - 1, `copy at ${meta.index} of ${next - 1}`);
    const copy = new StateDb(`${dir}/snap`);
    try {
      assert.equal(copy.lastIndex(), meta.index);
      assert.deepEqual(copy.entries(meta.index - 500, 1000), db.entries(meta.index - 500, 501));
      const { DatabaseSync } = await import("node:sqlite");
      const raw = new DatabaseSync(`${dir}/snap`);
      assert.equal(raw.prepare("PRAGMA integrity_check").get()?.integrity_check, "ok");
      raw.close();
    } finally {
      copy.close();
      db.close();
    }
  });
});
