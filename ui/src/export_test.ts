import assert from "node:assert/strict";
import type { Stroke } from "../../protocol/mod.ts";
import { exportFrame, jsonOf, parseBoardFile, svgExport } from "./export.ts";

const a: Stroke = {
  id: "a",
  x0: 0,
  y0: 0,
  x1: 10,
  y1: 20,
  color: "#e63946",
  width: 4,
  group: "g1",
};
const b: Stroke = { id: "b", x0: 10, y0: 20, x1: 30, y1: 5, color: "#1d1d1f", width: 2 };

Deno.test("JSON export round-trips through import", () => {
  const r = parseBoardFile(jsonOf("room", [{ ...a, board: "room" }, b]));
  assert.ok(r.ok);
  assert.deepEqual(r.strokes, [a, b]);
});

Deno.test("bad files get a clear error", () => {
  assert.deepEqual(parseBoardFile("{oops"), { ok: false, error: "not a JSON file" });
  assert.deepEqual(parseBoardFile('{"x":1}'), {
    ok: false,
    error: 'no "strokes" list in the file',
  });
  const bad = parseBoardFile(JSON.stringify({ strokes: [a, { ...b, color: "red" }] }));
  assert.ok(!bad.ok);
  assert.match(bad.error, /^stroke 2: stroke.color/);
});

Deno.test("whole-board frame pads the bounds; a visible frame is kept", () => {
  const f = exportFrame([a], null)!;
  assert.deepEqual(f, { minX: -18, minY: -18, maxX: 28, maxY: 38 });
  const v = { minX: 1, minY: 2, maxX: 3, maxY: 4 };
  assert.equal(exportFrame([a], v), v);
  assert.equal(exportFrame([], null), null);
});

Deno.test("SVG export is a document framed by the frame", () => {
  const svg = svgExport([a], { minX: 0, minY: 0, maxX: 100, maxY: 50 });
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" viewBox="0 0 100 50"/);
});
