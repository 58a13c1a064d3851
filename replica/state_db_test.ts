/** The SQLite state machine: order, duplicates per (board, id), paging, reopen, atomic batches. */
import assert from "node:assert/strict";
import type { LogEntry } from "../protocol/mod.ts";
import { StateDb, StateDbError } from "./state_db.ts";

const stroke = (index: number, id: string, board?: string, term = 1): LogEntry => ({
  index,
  term,
  stroke: {
    id,
    x0: index,
    y0: 0,
    x1: 1,
    y1: 1,
    color: "#000000",
    width: 1,
    ...(board ? { board } : {}),
  },
});

async function withDir(fn: (path: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "wb-statedb-" });
  try {
    await fn(`${dir}/state.sqlite`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("state db: applies in order and serves what it applied", () => {
  const db = new StateDb(":memory:");
  const noop: LogEntry = { index: 1, term: 1, noop: true };
  db.apply([noop, stroke(2, "a"), stroke(3, "b", "room")]);
  assert.equal(db.lastIndex(), 3);
  assert.deepEqual(db.entries(1, 10), [noop, stroke(2, "a"), stroke(3, "b", "room")]);
  assert.throws(() => db.apply([stroke(5, "c")]), /out of order/);
  assert.throws(() => db.apply([stroke(3, "c")]), /out of order/);
  assert.equal(db.lastIndex(), 3);
  db.close();
});

Deno.test("state db: a repeated (board, id) is a no-op at its index; another board keeps its stroke", () => {
  const db = new StateDb(":memory:");
  const applied = db.apply([stroke(1, "s1", "a"), stroke(2, "s1", "b"), stroke(3, "s1", "a")]);
  assert.ok("stroke" in applied[0] && "stroke" in applied[1]);
  assert.deepEqual(applied[2], { index: 3, term: 1, noop: true });
  assert.deepEqual(db.entries(3, 1), [{ index: 3, term: 1, noop: true }], "stored as applied");
  assert.equal(db.indexOf({ id: "s1", board: "a" }), 1);
  assert.equal(db.indexOf({ id: "s1", board: "b" }), 2);
  assert.equal(db.indexOf({ id: "s1" }), undefined, "no stroke s1 on the default board");
  db.apply([stroke(4, "s1"), stroke(5, "s1", "default")]);
  assert.equal(db.indexOf({ id: "s1" }), 4, "no board is the default board");
  assert.ok("noop" in db.entries(5, 1)[0]);
  db.close();
});

Deno.test("state db: pages from any index, within the limit", () => {
  const db = new StateDb(":memory:");
  db.apply(Array.from({ length: 50 }, (_, i) => stroke(i + 1, `s${i + 1}`)));
  assert.deepEqual(db.entries(0, 3).map((e) => e.index), [1, 2, 3], "0 reads from the first");
  assert.deepEqual(db.entries(48, 10).map((e) => e.index), [48, 49, 50]);
  assert.deepEqual(db.entries(51, 10), []);
  assert.deepEqual(db.entries(10, 0), []);
  db.close();
});

Deno.test("state db: the JSON of a page is the page's JSON, byte for byte", () => {
  const db = new StateDb(":memory:");
  const quoted = 'a "quoted" \\ id \u2028 é';
  db.apply([
    { index: 1, term: 1, noop: true },
    stroke(2, "a"),
    stroke(3, quoted, quoted, 2),
    stroke(4, "a"), // a duplicate: stored as a no-op
  ]);
  for (const [from, limit] of [[1, 10], [0, 2], [3, 1], [4, 5], [5, 5], [1, 0]]) {
    assert.equal(db.entriesJson(from, limit), JSON.stringify(db.entries(from, limit)));
  }
  db.close();
});

Deno.test("state db: strange ids and boards are data, never SQL", () => {
  const db = new StateDb(":memory:");
  const evil = "x'); DROP TABLE entries; --";
  db.apply([stroke(1, evil, evil)]);
  assert.equal(db.indexOf({ id: evil, board: evil }), 1);
  assert.deepEqual(db.entries(1, 1), [stroke(1, evil, evil)]);
  db.close();
});

Deno.test("state db: the applied index and the history survive a reopen", async () => {
  await withDir((path) => {
    const a = new StateDb(path);
    a.apply([stroke(1, "a"), stroke(2, "a"), stroke(3, "b", "room", 2)]);
    a.close();
    const b = new StateDb(path);
    assert.equal(b.lastIndex(), 3);
    assert.equal(b.termAt(3), 2);
    assert.equal(b.appliedSinceOpen, 0);
    assert.equal(b.indexOf({ id: "a" }), 1);
    assert.deepEqual(b.entries(1, 10).map((e) => "noop" in e), [false, true, false]);
    b.apply([stroke(4, "b", "room")]);
    assert.ok("noop" in b.entries(4, 1)[0], "the de-duplication index survived too");
    b.close();
  });
});

Deno.test("state db: a batch that fails halfway leaves nothing of it, also after a reopen", async () => {
  await withDir((path) => {
    const db = new StateDb(path);
    db.apply([stroke(1, "a")]);
    // A crash in the middle of the batch: the third entry throws while the
    // first two are already inserted.
    const bomb = stroke(4, "c");
    Object.defineProperty((bomb as { stroke: object }).stroke, "id", {
      get: () => {
        throw new Error("crash mid-batch");
      },
    });
    assert.throws(() => db.apply([stroke(2, "b"), stroke(3, "b2"), bomb]), /crash mid-batch/);
    const check = (d: StateDb) => {
      assert.equal(d.lastIndex(), 1);
      assert.deepEqual(d.entries(1, 10).map((e) => e.index), [1]);
      assert.equal(d.indexOf({ id: "b" }), undefined);
    };
    check(db);
    db.close();
    const again = new StateDb(path);
    check(again);
    again.apply([stroke(2, "b")]);
    assert.equal(again.indexOf({ id: "b" }), 2);
    again.close();
  });
});

Deno.test("state db: a process that dies mid-batch leaves the database at the batch before", async () => {
  await withDir(async (path) => {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("./testdata/die_mid_batch.ts", import.meta.url).pathname, path],
    });
    const { code } = await child.output();
    assert.equal(code, 9, "the writer died in the middle of its second batch");
    const db = new StateDb(path);
    assert.equal(db.lastIndex(), 10);
    assert.deepEqual(db.entries(9, 100).map((e) => e.index), [9, 10]);
    assert.equal(db.indexOf({ id: "s11" }), undefined);
    db.close();
  });
});

Deno.test("state db: reconcile empties a database its log does not hold", () => {
  const db = new StateDb(":memory:");
  db.apply([stroke(1, "a"), stroke(2, "b", undefined, 2)]);
  assert.equal(db.reconcile((i) => [1, 2][i - 1]), false, "the log holds entry 2 of term 2");
  assert.equal(db.reconcile((i) => [1, 2, 2][i - 1]), false, "a longer log is fine");
  assert.equal(db.lastIndex(), 2);
  assert.equal(db.reconcile((i) => [1, 3][i - 1]), true, "another entry at 2");
  assert.equal(db.lastIndex(), 0);
  assert.deepEqual(db.entries(1, 10), []);
  assert.equal(db.indexOf({ id: "a" }), undefined);
  db.apply([stroke(1, "a")]);
  assert.equal(db.reconcile(() => undefined), true, "a lost log");
  assert.equal(db.lastIndex(), 0);
  db.close();
});

Deno.test("state db: a schema from the future is refused", async () => {
  await withDir(async (path) => {
    new StateDb(path).close();
    const { DatabaseSync } = await import("node:sqlite");
    const raw = new DatabaseSync(path);
    raw.exec("PRAGMA user_version = 99");
    raw.close();
    assert.throws(() => new StateDb(path), StateDbError);
  });
});

Deno.test("state db: a stroke's id is stored once; a schema 1 database (id in the body too) is migrated", async () => {
  await withDir(async (path) => {
    const quoted = 'a "quoted" \\ id \u2028 é';
    const applied: LogEntry[] = [
      { index: 1, term: 1, noop: true },
      stroke(2, "a"),
      stroke(3, quoted, quoted, 2),
      { index: 4, term: 2, noop: true },
    ];
    new StateDb(path).apply(applied);
    const { DatabaseSync } = await import("node:sqlite");
    const raw = new DatabaseSync(path);
    const bodies = () =>
      (raw.prepare("SELECT body FROM entries ORDER BY idx").all() as { body: string }[])
        .map((r) => r.body);
    assert.ok(bodies().every((b) => !b.includes('"id"')), bodies().join(" "));
    // As schema 1 stored them: the payload as applied, id included.
    const update = raw.prepare("UPDATE entries SET body = ? WHERE idx = ?");
    for (const e of applied) {
      const { index, term: _term, ...payload } = e;
      update.run(JSON.stringify(payload), index);
    }
    raw.exec("DROP TABLE boards; PRAGMA user_version = 1");
    const db = new StateDb(path);
    assert.deepEqual(db.entries(1, 10), applied);
    assert.equal(db.entriesJson(1, 10), JSON.stringify(applied));
    assert.ok(bodies().every((b) => !b.includes('"id"')), "migrated");
    assert.equal(db.indexOf({ id: quoted, board: quoted }), 3);
    db.close();
    raw.close();
  });
});

Deno.test("state db: a waiter wakes when its index is applied, or when its wait is over", async () => {
  const db = new StateDb(":memory:");
  let woke = false;
  const waiting = db.waitFor(1, 10_000).then(() => woke = true);
  await Promise.resolve();
  assert.equal(woke, false);
  db.apply([stroke(1, "a")]);
  await waiting;
  const t0 = Date.now();
  await db.waitFor(5, 30);
  assert.ok(Date.now() - t0 >= 25);
  db.close();
});

Deno.test("state db: the last configuration applied is the members table, with the entry itself", () => {
  const db = new StateDb(":memory:");
  assert.equal(db.members(), undefined, "none applied: the bootstrap configuration holds");
  const first = [{ id: "r1", url: "http://127.0.0.1:9001", voter: true }];
  const second = [...first, { id: "r4", url: "http://127.0.0.1:9004", voter: false }];
  db.apply([
    { index: 1, term: 1, config: { members: first } },
    stroke(2, "a"),
    { index: 3, term: 1, config: { members: second } },
  ]);
  assert.deepEqual(db.members(), second);
  assert.deepEqual(db.entries(3, 1), [{ index: 3, term: 1, config: { members: second } }]);
  db.close();
});
