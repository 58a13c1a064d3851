/** makeSnapshot: a consistent copy that says what it holds, made without blocking the event loop. */
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

Deno.test("make snapshot: 300k rows copied while the main thread's timers keep firing", async () => {
  await withDir(async (dir) => {
    // Big enough (~40 MiB, ~0.7 s here) that a copy on the main thread would
    // stall it for about the whole copy. The bound is relative to the copy's
    // own duration, not a number of milliseconds: a loaded machine slows both.
    const rows = 300_000;
    const db = fill(`${dir}/state.sqlite`, rows);
    const started = performance.now();
    let ms = 0;
    let last = started;
    let worstGap = 0;
    let worstAt = 0;
    let ticks = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      if (now - last > worstGap) [worstGap, worstAt] = [now - last, last - started];
      last = now;
      ticks++;
    }, 10);
    try {
      const meta = await makeSnapshot(`${dir}/state.sqlite`, `${dir}/snap`);
      ms = performance.now() - started;
      const mib = meta.bytes / 2 ** 20;
      const rate = (mib / (ms / 1000)).toFixed(0);
      console.log(`backup + sha256 of ${rows} rows, ${mib.toFixed(1)} MiB:`);
      console.log(`  ${ms.toFixed(0)} ms (${rate} MiB/s), ${ticks} timer ticks`);
      console.log(`  worst gap ${worstGap.toFixed(1)} ms, at ${worstAt.toFixed(0)} ms`);
      assert.equal(meta.index, rows);
      assert.equal(meta.term, 4);
    } finally {
      clearInterval(timer);
      db.close();
    }
    assert.ok(
      worstGap < ms / 2,
      `the event loop stalled for ${worstGap.toFixed(0)} ms of a ${ms.toFixed(0)} ms copy`,
    );
  });
});
