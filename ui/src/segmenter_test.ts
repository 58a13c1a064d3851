import assert from "node:assert/strict";
import { addPoint, endPath, livePoints, type Point, type Segment, startPath } from "./segmenter.ts";
import { segmentToStroke } from "./strokes.ts";

/** Runs a whole path through the segmenter. */
function segmentsOf(points: Point[]): Segment[] {
  const st = startPath(points[0]);
  const out: Segment[] = [];
  for (const p of points.slice(1)) out.push(...addPoint(st, p));
  out.push(...endPath(st));
  return out;
}

/** Distance from p to the polyline made of the segments. */
function distanceToSegments(p: Point, segs: Segment[]): number {
  let best = Infinity;
  for (const [a, b] of segs) {
    const dx = b.x - a.x, dy = b.y - a.y;
    const len2 = dx * dx + dy * dy;
    const t = len2 === 0
      ? 0
      : Math.max(0, Math.min(1, ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2));
    best = Math.min(best, Math.hypot(p.x - a.x - t * dx, p.y - a.y - t * dy));
  }
  return best;
}

Deno.test("segmenter", async (t) => {
  await t.step("a slow straight line pixel by pixel is a few segments, not one per pixel", () => {
    const pts = Array.from({ length: 101 }, (_, i) => ({ x: i, y: 50 }));
    const segs = segmentsOf(pts);
    assert.ok(segs.length <= 3, `got ${segs.length} segments`);
    assert.deepEqual(segs[0][0], { x: 0, y: 50 });
    assert.deepEqual(segs[segs.length - 1][1], { x: 100, y: 50 });
    for (let i = 1; i < segs.length; i++) {
      assert.deepEqual(segs[i][0], segs[i - 1][1], "contiguous");
    }
  });

  await t.step("a circle keeps close to the drawn curve with far fewer segments", () => {
    const pts = Array.from({ length: 721 }, (_, i) => {
      const a = (i / 720) * 2 * Math.PI;
      return { x: 200 + 80 * Math.cos(a), y: 200 + 80 * Math.sin(a) };
    });
    const segs = segmentsOf(pts);
    assert.ok(segs.length < 200, `got ${segs.length} segments for 720 moves`);
    assert.ok(segs.length > 12, "a circle is not a dozen straight lines");
    for (const p of pts) assert.ok(distanceToSegments(p, segs) <= 0.5 + 1e-9);
  });

  await t.step("a sharp corner is kept exactly", () => {
    const pts = [...Array.from({ length: 30 }, (_, i) => ({ x: i, y: 0 }))];
    pts.push(...Array.from({ length: 30 }, (_, i) => ({ x: 29, y: i + 1 })));
    const segs = segmentsOf(pts);
    assert.ok(segs.some(([, b]) => b.x === 29 && b.y === 0), JSON.stringify(segs));
  });

  await t.step("a tap without movement is a dot; jitter is ignored", () => {
    assert.deepEqual(segmentsOf([{ x: 5, y: 5 }]), [[{ x: 5, y: 5 }, { x: 5, y: 5 }]]);
    assert.deepEqual(segmentsOf([{ x: 5, y: 5 }, { x: 5.1, y: 5.1 }]), [[{ x: 5, y: 5 }, {
      x: 5,
      y: 5,
    }]]);
  });

  await t.step("a long straight drag is cut so others see it grow", () => {
    const pts = Array.from({ length: 401 }, (_, i) => ({ x: i, y: 0 }));
    const segs = segmentsOf(pts);
    assert.ok(segs.length >= 10, `got ${segs.length}`);
    for (const [a, b] of segs) assert.ok(Math.hypot(b.x - a.x, b.y - a.y) <= 40);
  });

  await t.step("livePoints shows the unsent rest of the path", () => {
    const st = startPath({ x: 0, y: 0 });
    addPoint(st, { x: 3, y: 0 });
    assert.deepEqual(livePoints(st), [{ x: 0, y: 0 }, { x: 3, y: 0 }]);
  });

  await t.step("segmentToStroke rounds to hundredths", () => {
    const s = segmentToStroke([{ x: 1.23456, y: 2 }, { x: 3, y: 4.005 }], "c:1", "#e63946", 4);
    assert.deepEqual(s, {
      id: "c:1",
      x0: 1.23,
      y0: 2,
      x1: 3,
      y1: 4.01,
      color: "#e63946",
      width: 4,
    });
  });
});
