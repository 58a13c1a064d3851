import assert from "node:assert/strict";
import fc from "fast-check";
import type { Stroke } from "../../protocol/mod.ts";
import * as bs from "./board_state.ts";
import { boardHits, hitTargets } from "./hit_test.ts";

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

/** What the board shows, in the order the eraser's linear scan would read it (as store.visibleStrokes). */
function shown(b: bs.BoardState): Stroke[] {
  const out = b.committed.filter((_, i) => bs.isCommittedVisible(b, i));
  for (const p of b.pending.values()) {
    if (p.msg.type === "stroke" && bs.isPendingVisible(b, p)) out.push(p.msg.stroke);
  }
  return out;
}

const GROUPS = ["g1", "g2", "g3", "g4"];
const coord = fc.oneof(
  fc.integer({ min: -1500, max: 1500 }), // dense, on and across cell edges (multiples of 256)
  fc.double({ min: -1e6, max: 1e6, noNaN: true }), // huge strokes spanning thousands of cells
);
const strokeArb = fc.record({
  x0: coord,
  y0: coord,
  x1: coord,
  y1: coord,
  shape: fc.constantFrom("dot", "short", "free"), // zero length, a pen segment, anything
  dx: fc.integer({ min: -60, max: 60 }),
  dy: fc.integer({ min: -60, max: 60 }),
  width: fc.oneof(fc.constantFrom(0.5, 2, 16, 200), fc.double({ min: 0.5, max: 200, noNaN: true })),
  group: fc.option(fc.constantFrom(...GROUPS), { nil: undefined }),
});
type Arb = typeof strokeArb extends fc.Arbitrary<infer T> ? T : never;
function toStroke(a: Arb, id: string): Stroke {
  if (a.shape === "free") return seg(id, a.x0, a.y0, a.x1, a.y1, a.width, a.group);
  const [dx, dy] = a.shape === "dot" ? [0, 0] : [a.dx, a.dy];
  return seg(id, a.x0, a.y0, a.x0 + dx, a.y0 + dy, a.width, a.group);
}
/** A point anywhere, or near stroke `k` (a fraction `t` along it, then off by `dx, dy`). */
const queryArb = fc.record({
  free: fc.option(fc.record({ x: coord, y: coord }), { nil: undefined }),
  k: fc.nat(),
  t: fc.double({ min: 0, max: 1, noNaN: true }),
  dx: fc.double({ min: -40, max: 40, noNaN: true }),
  dy: fc.double({ min: -40, max: 40, noNaN: true }),
  radius: fc.oneof(
    fc.double({ min: 0, max: 40, noNaN: true }),
    fc.double({ min: 0, max: 1e5, noNaN: true }), // zoomed far out: many cells
  ),
});

Deno.test("hit test: the board's grid finds exactly what the linear scan finds", () => {
  let nonEmpty = 0;
  fc.assert(
    fc.property(
      fc.array(strokeArb, { minLength: 1, maxLength: 60 }),
      fc.array(strokeArb, { maxLength: 20 }),
      fc.array(fc.nat(), { maxLength: 4 }),
      fc.array(queryArb, { minLength: 1, maxLength: 8 }),
      (first, later, erased, queries) => {
        const b = bs.createBoardState();
        let index = 0;
        const all: Stroke[] = [];
        const commit = (arbs: Arb[]) => {
          const strokes = arbs.map((a) => toStroke(a, `s${all.length + 1}`));
          for (const s of strokes) {
            all.push(s), bs.applyCommitted(b, [{ index: ++index, stroke: s }]);
          }
        };
        const check = () => {
          for (const q of queries) {
            const s = all[q.k % all.length];
            const p = q.free ??
              { x: s.x0 + q.t * (s.x1 - s.x0) + q.dx, y: s.y0 + q.t * (s.y1 - s.y0) + q.dy };
            const want = hitTargets(shown(b), p, q.radius);
            assert.deepEqual(boardHits(b, p, q.radius), want);
            if (want.length > 0) nonEmpty++;
          }
        };
        commit(first);
        check();
        // The grid is built now: strokes, erases, a pending stroke and a clear arrive after.
        commit(later);
        const targets = erased.map((n) => n % 2 ? GROUPS[n % 4] : all[n % all.length].id);
        if (targets.length) bs.applyCommitted(b, [{ index: ++index, erase: { id: "e", targets } }]);
        check();
        const own = toStroke(first[0], "own");
        bs.addPending(b, { type: "stroke", stroke: own });
        all.push(own);
        check();
        bs.applyCommitted(b, [{ index: ++index, clear: { id: "c" } }]);
        check(); // hides every committed stroke; the pending one, made later, stays
      },
    ),
    { numRuns: 500 },
  );
  assert.ok(nonEmpty > 100, `only ${nonEmpty} queries hit anything: the property says little`);
});

Deno.test("hit test: a reset log gets a new grid", () => {
  const b = bs.createBoardState();
  bs.applyCommitted(b, [{ index: 1, stroke: seg("a", 0, 0, 10, 0) }]);
  assert.deepEqual(boardHits(b, { x: 5, y: 0 }, 1), ["a"]);
  bs.resetCommitted(b);
  bs.applyCommitted(b, [{ index: 1, stroke: seg("b", 1000, 1000, 1000, 1000) }]);
  assert.deepEqual(boardHits(b, { x: 5, y: 0 }, 1), []);
  assert.deepEqual(boardHits(b, { x: 1000, y: 1001 }, 1), ["b"]);
});
