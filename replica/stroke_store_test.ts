/** The state machine applies each (board, id) once; the same id on another board is another stroke. */
import assert from "node:assert/strict";
import type { LogEntry } from "../protocol/mod.ts";
import { StrokeStore } from "./stroke_store.ts";

const entry = (index: number, board: string): LogEntry => ({
  index,
  term: 1,
  stroke: { id: "s1", board, x0: 0, y0: 0, x1: 1, y1: 1, color: "#000000", width: 1 },
});

Deno.test("a repeated (board, id) is applied as a no-op; another board keeps its stroke", () => {
  const store = new StrokeStore();
  const applied = store.apply([entry(1, "a"), entry(2, "b"), entry(3, "a")]);
  assert.ok("stroke" in applied[0] && "stroke" in applied[1]);
  assert.ok("noop" in applied[2], "the second copy on board a is a no-op");
  assert.equal(store.indexOf({ id: "s1", board: "a" }), 1);
  assert.equal(store.indexOf({ id: "s1", board: "b" }), 2);
  assert.equal(store.indexOf({ id: "s1" }), undefined, "no stroke s1 on the default board");
});
