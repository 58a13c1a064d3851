import assert from "node:assert/strict";
import { type BoardEntry, checkTargetsOp, MAX_OP_TARGETS, Visibility } from "./board_ops.ts";
import { checkEntry, type Stroke } from "./stroke.ts";

const seg = (id: string, group?: string): Stroke => ({
  id,
  x0: 0,
  y0: 0,
  x1: 1,
  y1: 1,
  color: "#000000",
  width: 2,
  ...(group ? { group } : {}),
});

/** Ids of the visible strokes after applying `entries` in order. */
function visible(entries: BoardEntry[]): string[] {
  const v = new Visibility();
  for (const e of entries) v.apply(e);
  return entries.flatMap((e) =>
    "stroke" in e && v.isVisible(e.stroke, e.index) ? [e.stroke.id] : []
  );
}

Deno.test("erase hides by stroke or group id, restore shows again", () => {
  const a1 = { index: 1, stroke: seg("a1", "ga") };
  const a2 = { index: 2, stroke: seg("a2", "ga") };
  const b1 = { index: 3, stroke: seg("b1", "gb") };
  assert.deepEqual(visible([a1, a2, b1]), ["a1", "a2", "b1"]);
  const eraseGa = { index: 4, erase: { id: "u1", targets: ["ga"] } };
  assert.deepEqual(visible([a1, a2, b1, eraseGa]), ["b1"]);
  const restoreGa = { index: 5, restore: { id: "r1", targets: ["ga"] } };
  assert.deepEqual(visible([a1, a2, b1, eraseGa, restoreGa]), ["a1", "a2", "b1"]);
  assert.deepEqual(visible([a1, a2, b1, { index: 4, erase: { id: "e", targets: ["a2"] } }]), [
    "a1",
    "b1",
  ]);
});

Deno.test("clear hides what came before it; restoring the clear brings it back, erasing it again re-clears", () => {
  const a = { index: 1, stroke: seg("a") };
  const gone = { index: 2, erase: { id: "e", targets: ["a"] } };
  const b = { index: 3, stroke: seg("b") };
  const clear = { index: 4, clear: { id: "clr" } };
  const c = { index: 5, stroke: seg("c") };
  assert.deepEqual(visible([a, b, clear, c]), ["c"]);
  const undo = { index: 6, restore: { id: "u", targets: ["clr"] } };
  assert.deepEqual(visible([a, b, clear, c, undo]), ["a", "b", "c"]);
  // A stroke erased before the clear stays erased when the clear is undone.
  assert.deepEqual(visible([a, gone, b, clear, c, undo]), ["b", "c"]);
  const redo = { index: 7, erase: { id: "r", targets: ["clr"] } };
  assert.deepEqual(visible([a, b, clear, c, undo, redo]), ["c"]);
});

Deno.test("op bodies are validated", () => {
  assert.equal(checkTargetsOp({ id: "x", targets: [] }, "erase").ok, false);
  assert.equal(checkTargetsOp({ id: "x", targets: ["bad id"] }, "erase").ok, false);
  const many = Array.from({ length: MAX_OP_TARGETS + 1 }, (_, i) => `t${i}`);
  assert.equal(checkTargetsOp({ id: "x", targets: many }, "restore").ok, false);
  assert.equal(checkTargetsOp({ id: "x", targets: ["t"], extra: 1 }, "erase").ok, true);
  const e = checkEntry({ index: 3, term: 1, erase: { id: "x", targets: ["g"], board: "b" } });
  assert.deepEqual(e, {
    ok: true,
    value: { index: 3, term: 1, erase: { id: "x", targets: ["g"], board: "b" } },
  });
  assert.equal(checkEntry({ index: 3, term: 1, clear: { id: "x", board: "no/slash" } }).ok, false);
  assert.equal(
    checkEntry({ index: 3, term: 1, stroke: { ...seg("s"), group: "bad group" } }).ok,
    false,
  );
});
