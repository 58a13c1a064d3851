/** Board operations in the state machine: filed beside strokes, one id namespace, board counts. */
import assert from "node:assert/strict";
import type { LogEntry } from "../protocol/mod.ts";
import { StateDb } from "./state_db.ts";

const stroke = (index: number, id: string, board?: string): LogEntry => ({
  index,
  term: 1,
  stroke: {
    id,
    x0: 0,
    y0: 0,
    x1: 1,
    y1: 1,
    color: "#000000",
    width: 1,
    ...(board ? { board } : {}),
  },
});

Deno.test("state db: ops are stored and served as applied, by their key", () => {
  const db = new StateDb(":memory:");
  const erase: LogEntry = { index: 2, term: 1, erase: { id: "e1", targets: ["s1"], board: "b" } };
  const restore: LogEntry = {
    index: 3,
    term: 1,
    restore: { id: "r1", targets: ["e1"], board: "b" },
  };
  const clear: LogEntry = { index: 4, term: 1, clear: { id: "c1" } };
  db.apply([stroke(1, "s1", "b"), erase, restore, clear]);
  assert.deepEqual(db.entries(2, 3), [erase, restore, clear]);
  assert.deepEqual(JSON.parse(db.entriesJson(2, 3)), [erase, restore, clear]);
  assert.equal(db.indexOf({ id: "e1", board: "b" }), 2);
  assert.equal(db.indexOf({ id: "c1" }), 4, "an op without a board is on the default board");
  assert.equal(db.indexOf({ id: "e1" }), undefined);
  db.close();
});

Deno.test("state db: a retried op, or an op reusing a stroke's id, is a no-op at its index", () => {
  const db = new StateDb(":memory:");
  const applied = db.apply([
    { index: 1, term: 1, erase: { id: "e1", targets: ["g"], board: "b" } },
    { index: 2, term: 2, erase: { id: "e1", targets: ["g"], board: "b" } },
    stroke(3, "x", "b"),
    { index: 4, term: 2, clear: { id: "x", board: "b" } },
    { index: 5, term: 2, clear: { id: "x", board: "other" } },
  ]);
  assert.deepEqual(applied.map((e) => Object.keys(e)[2]), [
    "erase",
    "noop",
    "stroke",
    "noop",
    "clear",
  ]);
  assert.deepEqual(db.entries(2, 1), [{ index: 2, term: 2, noop: true }]);
  assert.equal(db.indexOf({ id: "e1", board: "b" }), 1, "the ack of a retry is the first index");
  assert.equal(db.indexOf({ id: "x", board: "b" }), 3);
  db.close();
});

Deno.test("state db: boards count their strokes and ops, duplicates not, most recent first", () => {
  const db = new StateDb(":memory:");
  db.apply([
    { index: 1, term: 1, noop: true },
    stroke(2, "a", "one"),
    stroke(3, "b", "one"),
    stroke(4, "a", "two"),
    stroke(5, "a", "one"),
    { index: 6, term: 1, clear: { id: "c", board: "one" } },
    stroke(7, "z"),
  ]);
  assert.deepEqual(db.boards(10), [
    { name: "default", entries: 1, lastIndex: 7 },
    { name: "one", entries: 3, lastIndex: 6 },
    { name: "two", entries: 1, lastIndex: 4 },
  ]);
  db.apply([stroke(8, "q", "two"), stroke(9, "a", "two"), stroke(10, "r", "two")]);
  assert.deepEqual(db.boards(2), [
    { name: "two", entries: 3, lastIndex: 10 },
    { name: "default", entries: 1, lastIndex: 7 },
  ], "counted on across batches");
  assert.deepEqual(db.boards(1).map((b) => b.name), ["two"], "bounded");
  assert.equal(db.reconcile(() => undefined), true);
  assert.deepEqual(db.boards(10), [], "emptied with the rest");
  db.close();
});

Deno.test("state db: a schema-1 database gets its board counts on open", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wb-statedb-ops-" });
  const path = `${dir}/state.sqlite`;
  try {
    const db = new StateDb(path);
    db.apply([stroke(1, "a", "one"), stroke(2, "b", "one"), stroke(3, "a", "two")]);
    db.close();
    const { DatabaseSync } = await import("node:sqlite");
    const raw = new DatabaseSync(path);
    raw.exec("DROP TABLE boards; PRAGMA user_version = 1");
    raw.close();
    const reopened = new StateDb(path);
    assert.deepEqual(reopened.boards(10), [
      { name: "two", entries: 1, lastIndex: 3 },
      { name: "one", entries: 2, lastIndex: 2 },
    ]);
    reopened.apply([stroke(4, "c", "one")]);
    assert.equal(reopened.boards(10)[0].entries, 3);
    reopened.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
