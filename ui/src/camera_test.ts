import assert from "node:assert/strict";
import { fitBounds, HOME, panBy, screenToWorld, worldToScreen, zoomAt } from "./camera.ts";

function near(a: number, b: number): void {
  assert.ok(Math.abs(a - b) < 1e-9, `${a} is not ${b}`);
}

Deno.test("camera: screen and world coordinates are inverse", () => {
  const c = { x: 120, y: -40, zoom: 2.5 };
  const w = screenToWorld(c, { x: 33, y: 77 });
  const s = worldToScreen(c, w);
  near(s.x, 33);
  near(s.y, 77);
});

Deno.test("camera: zoomAt keeps the board point under the cursor", () => {
  const at = { x: 200, y: 150 };
  const before = screenToWorld(HOME, at);
  const after = screenToWorld(zoomAt(HOME, at, 3), at);
  near(after.x, before.x);
  near(after.y, before.y);
});

Deno.test("camera: panning by a drag moves the content with the pointer", () => {
  const c = panBy({ x: 0, y: 0, zoom: 2 }, { x: 10, y: -20 });
  assert.deepEqual(c, { x: -5, y: 10, zoom: 2 });
});

Deno.test("camera: fitBounds shows the whole rectangle centred", () => {
  const c = fitBounds({ minX: 1000, minY: 1000, maxX: 1200, maxY: 1100 }, {
    width: 480,
    height: 480,
  }, 40);
  const tl = worldToScreen(c, { x: 1000, y: 1000 });
  const br = worldToScreen(c, { x: 1200, y: 1100 });
  near(tl.x, 40);
  near(br.x, 440);
  near((tl.y + br.y) / 2, 240);
  assert.deepEqual(fitBounds(null, { width: 10, height: 10 }), HOME);
});
