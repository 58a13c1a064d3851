/**
 * The board as a picture, independent of any screen: draw strokes through a
 * camera onto a 2D context, measure their bounds, write them as SVG. Export,
 * history previews and the live renderer all use these, so every picture of
 * the board agrees.
 */
import type { Stroke } from "../../protocol/mod.ts";
import type { Bounds, Camera } from "./camera.ts";
import { type Ctx2D, strokeSegment } from "./draw.ts";

/** Sets `ctx` to map board coordinates through `camera` at `dpr` device pixels per CSS pixel. */
export function applyCamera(ctx: Ctx2D, camera: Camera, dpr: number): void {
  const s = camera.zoom * dpr;
  ctx.setTransform(s, 0, 0, s, -camera.x * s, -camera.y * s);
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
}

/** Draws `strokes` in order through `camera` (the context's pixels are `dpr` per CSS pixel). */
export function drawStrokes(
  ctx: Ctx2D,
  strokes: Iterable<Stroke>,
  camera: Camera,
  dpr = 1,
): void {
  applyCamera(ctx, camera, dpr);
  for (const s of strokes) strokeSegment(ctx, s);
}

/** The board rectangle that covers every stroke including its width; null when there are none. */
export function boundsOf(strokes: Iterable<Stroke>): Bounds | null {
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (const s of strokes) {
    const r = s.width / 2;
    minX = Math.min(minX, s.x0 - r, s.x1 - r);
    minY = Math.min(minY, s.y0 - r, s.y1 - r);
    maxX = Math.max(maxX, s.x0 + r, s.x1 + r);
    maxY = Math.max(maxY, s.y0 + r, s.y1 + r);
  }
  return minX === Infinity ? null : { minX, minY, maxX, maxY };
}

/** Colours reach SVG attributes only in this form; anything else is drawn black. */
const SAFE_COLOR = /^#[0-9a-f]{3,8}$/i;

/** The strokes as an SVG document; `bounds` (default: their own) is the picture's frame. */
export function svgOf(
  strokes: readonly Stroke[],
  bounds: Bounds | null = boundsOf(strokes),
): string {
  const b = bounds ?? { minX: 0, minY: 0, maxX: 1, maxY: 1 };
  const w = b.maxX - b.minX;
  const h = b.maxY - b.minY;
  const lines = strokes.map((s) => {
    const color = SAFE_COLOR.test(s.color) ? s.color : "#000000";
    return `<line x1="${s.x0}" y1="${s.y0}" x2="${s.x1}" y2="${s.y1}" stroke="${color}" stroke-width="${s.width}"/>`;
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="${b.minX} ${b.minY} ${w} ${h}" width="${w}" height="${h}">`,
    `<g fill="none" stroke-linecap="round" stroke-linejoin="round">`,
    ...lines,
    `</g>`,
    `</svg>`,
  ].join("\n");
}
