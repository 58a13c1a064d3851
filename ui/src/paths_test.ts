import assert from "node:assert/strict";
import type { Stroke } from "../../protocol/mod.ts";
import { mulberry32 } from "../../tests/testing/prng.ts";
import { BLOCK, GroupIndex, groupsOf, type PathSink, traceGroup, wantedSegments } from "./paths.ts";

/** The calls a trace makes, one string per path. */
function traced(
  segments: Stroke[],
  blockOf?: (k: number) => number,
  wanted?: (block: number) => boolean,
): string[] {
  const out: string[] = [];
  let d = "";
  const sink: PathSink = {
    begin: (c, w) => d = `${c}/${w}:`,
    moveTo: (x, y) => d += ` M${x},${y}`,
    lineTo: (x, y) => d += ` L${x},${y}`,
    quadraticCurveTo: (cx, cy, x, y) => d += ` Q${cx},${cy} ${x},${y}`,
    end: () => out.push(d),
  };
  traceGroup(segments, sink, blockOf, wanted);
  return out;
}

const seg = (x0: number, y0: number, x1: number, y1: number, width = 2): Stroke => ({
  id: `${x0},${y0}`,
  x0,
  y0,
  x1,
  y1,
  color: "#000000",
  width,
  group: "g",
});

Deno.test("a chain is one path: line to the first midpoint, curves about each joint, line to the end", () => {
  assert.deepEqual(traced([seg(0, 0, 10, 0), seg(10, 0, 10, 10), seg(10, 10, 20, 10)]), [
    "#000000/2: M0,0 L5,0 Q10,0 10,5 Q10,10 15,10 L20,10",
  ]);
});

Deno.test("a gap in the chain starts a new path; a lone segment is a straight line", () => {
  assert.deepEqual(traced([seg(0, 0, 10, 0), seg(10, 0, 20, 0), seg(50, 50, 60, 50)]), [
    "#000000/2: M0,0 L5,0 Q10,0 15,0 L20,0",
    "#000000/2: M50,50 L60,50",
  ]);
});

Deno.test("a change of width (pressure) continues from the midpoint where the last run stopped", () => {
  assert.deepEqual(traced([seg(0, 0, 10, 0, 2), seg(10, 0, 20, 0, 4), seg(20, 0, 30, 0, 4)]), [
    "#000000/2: M0,0 L5,0",
    "#000000/4: M5,0 Q10,0 15,0 Q20,0 25,0 L30,0",
  ]);
});

Deno.test("a tap is nudged so its round caps make a dot", () => {
  assert.deepEqual(traced([seg(3, 4, 3, 4)]), ["#000000/2: M3,4 L3.01,4"]);
});

Deno.test("groups stack where their first segment is, and cover their ink", () => {
  const a1 = seg(0, 0, 10, 0), b1 = { ...seg(0, 5, 0, 9), group: "h" }, a2 = seg(10, 0, 10, 20, 4);
  const lone = { ...seg(1, 1, 2, 2), group: undefined, id: "lone" };
  const index = new GroupIndex();
  [a1, b1, a2, lone].forEach((s, i) => index.add(s, i));
  assert.deepEqual(index.groups.map((g) => [g.key, g.z, g.members]), [
    ["g", 0, [0, 2]],
    ["h", 1, [1]],
    ["lone", 2, [3]],
  ]);
  const g = index.groups[0];
  assert.deepEqual([g.minX, g.minY, g.maxX, g.maxY], [-1, -2, 12, 22]);
  assert.deepEqual(groupsOf([a1, b1, a2]), [[a1, a2], [b1]]);
});

Deno.test("a chain longer than a block is cut at a midpoint; the next path picks up there", () => {
  const chain = Array.from({ length: 20 }, (_, i) => seg(i * 10, 0, i * 10 + 10, 0));
  const paths = traced(chain);
  assert.equal(paths.length, 2);
  assert.ok(paths[0].endsWith(" Q150,0 155,0"), paths[0]);
  assert.ok(paths[1].startsWith("#000000/2: M155,0 Q160,0 165,0"), paths[1]);
  assert.ok(paths[1].endsWith(" L200,0"), paths[1]);
});

Deno.test("unwanted blocks are traced but not drawn", () => {
  const chain = Array.from({ length: 20 }, (_, i) => seg(i * 10, 0, i * 10 + 10, 0));
  const out: string[] = [];
  traceGroup(
    chain,
    {
      begin: () => out.push("path"),
      moveTo() {},
      lineTo() {},
      quadraticCurveTo() {},
      end() {},
    },
    undefined,
    (b) => b === 1,
  );
  assert.deepEqual(out, ["path"]);
});

Deno.test("the wanted blocks' segments with their neighbours trace those blocks as the whole group does", () => {
  const rnd = mulberry32(7);
  for (let round = 0; round < 200; round++) {
    // Chains with gaps and width changes, some segments hidden (erased, not yet restored).
    let x = 0, y = 0;
    const log = Array.from({ length: 10 + Math.floor(rnd() * 90) }, () => {
      if (rnd() < 0.05) [x, y] = [rnd() * 100, rnd() * 100];
      const s = seg(x, y, x + rnd() * 8, y + rnd() * 8, rnd() < 0.1 ? 4 : 2);
      [x, y] = [s.x1, s.y1];
      return s;
    });
    const hidden = new Set(log.flatMap((_, i) => rnd() < 0.15 ? [i] : []));
    const index = new GroupIndex();
    log.forEach((s, i) => index.add(s, i));
    const g = index.groups[0];
    const wantedSet = new Set(g.blocks.flatMap((_, b) => rnd() < 0.4 ? [b] : []));
    const wanted = (b: number) => wantedSet.has(b);
    const shown = g.members.filter((pos) => !hidden.has(pos));
    const whole = traced(shown.map((pos) => log[pos]), (k) => Math.floor(shown[k] / BLOCK), wanted);
    const source = {
      strokeAt: (pos: number) => log[pos],
      visible: (pos: number) => !hidden.has(pos),
    };
    const { segments, blocks } = wantedSegments(g, source, wanted);
    assert.deepEqual(traced(segments, (k) => blocks[k], wanted), whole, `round ${round}`);
    assert.ok(segments.length <= shown.length);
  }
});
