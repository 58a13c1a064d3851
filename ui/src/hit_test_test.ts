import assert from "node:assert/strict";
import type { Stroke } from "../../protocol/mod.ts";
import { hitTargets } from "./hit_test.ts";

function seg(
  id: string,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  width = 2,
  group?: string,
) {
  const s: Stroke = { id, x0, y0, x1, y1, width, color: "#000000" };
  if (group) s.group = group;
  return s;
}

Deno.test("hit test: near a segment's middle, not beyond its end, width counts", () => {
  const strokes = [
    seg("a", 0, 0, 100, 0, 2, "g1"),
    seg("b", 0, 50, 100, 50, 40),
    seg("c", 10, 10, 10, 10),
  ];
  assert.deepEqual(hitTargets(strokes, { x: 50, y: 3 }, 2.5), ["g1"]);
  assert.deepEqual(hitTargets(strokes, { x: 106, y: 0 }, 2.5), []);
  assert.deepEqual(
    hitTargets(strokes, { x: 50, y: 30 }, 1),
    ["b"],
    "a wide stroke reaches further",
  );
  assert.deepEqual(hitTargets(strokes, { x: 11, y: 11 }, 1), ["c"], "a dot is hit too");
});

Deno.test("hit test: each group once", () => {
  const strokes = [seg("a", 0, 0, 10, 0, 2, "g"), seg("b", 10, 0, 20, 0, 2, "g")];
  assert.deepEqual(hitTargets(strokes, { x: 10, y: 0 }, 1), ["g"]);
});
