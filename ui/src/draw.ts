/**
 * Pure canvas drawing: what to paint comes in as arguments, nothing is read
 * from the page. Every segment is stroked on its own, in log order, so the
 * committed picture is the same pixels however the log arrived (one replay or
 * many small batches): merging runs into one path would change antialiasing.
 */
import type { Stroke } from "../../protocol/mod.ts";
import type { Point } from "./segmenter.ts";

/** Minimal 2D context surface used here (a real CanvasRenderingContext2D fits). */
export type Ctx2D = Pick<
  CanvasRenderingContext2D,
  | "setTransform"
  | "clearRect"
  | "beginPath"
  | "moveTo"
  | "lineTo"
  | "stroke"
  | "strokeStyle"
  | "lineWidth"
  | "lineCap"
  | "lineJoin"
>;

/** How many segments to draw between two looks at the clock. */
const CLOCK_STRIDE = 128;
/** Length given to a zero-length segment (a tap), far below a pixel. */
const DOT_NUDGE = 0.01;

/** Clears a layer and sets the world-to-device transform (world units are CSS pixels). */
export function resetLayer(ctx: Ctx2D, widthPx: number, heightPx: number, dpr: number): void {
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, widthPx, heightPx);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
}

/**
 * Draws `strokes[from..to)` in order until done or `outOfTime()` says stop
 * (checked every CLOCK_STRIDE segments). Returns the index to resume from.
 */
export function drawSegments(
  ctx: Ctx2D,
  strokes: readonly Stroke[],
  from: number,
  to = strokes.length,
  outOfTime: () => boolean = () => false,
): number {
  let i = from;
  const stop = Math.min(to, strokes.length);
  while (i < stop) {
    const end = Math.min(stop, i + CLOCK_STRIDE);
    for (; i < end; i++) strokeSegment(ctx, strokes[i]);
    if (outOfTime()) break;
  }
  return i;
}

/** One segment as its own path. */
export function strokeSegment(ctx: Ctx2D, s: Stroke): void {
  if (ctx.strokeStyle !== s.color) ctx.strokeStyle = s.color;
  if (ctx.lineWidth !== s.width) ctx.lineWidth = s.width;
  ctx.beginPath();
  ctx.moveTo(s.x0, s.y0);
  // Canvas prunes zero-length lines, caps and all: nudge a tap so its round caps make a dot.
  ctx.lineTo(s.x0 === s.x1 && s.y0 === s.y1 ? s.x1 + DOT_NUDGE : s.x1, s.y1);
  ctx.stroke();
}

/** A path still under the pointer, not yet cut into segments. */
export interface LivePath {
  points: readonly Point[];
  color: string;
  width: number;
}

/** The overlay: own pending segments, then the live tails of paths being drawn. */
export function drawOverlay(
  ctx: Ctx2D,
  pending: readonly Stroke[],
  live: readonly LivePath[],
): void {
  drawSegments(ctx, pending, 0);
  for (const path of live) {
    if (path.points.length < 2) continue;
    ctx.strokeStyle = path.color;
    ctx.lineWidth = path.width;
    ctx.beginPath();
    ctx.moveTo(path.points[0].x, path.points[0].y);
    for (let i = 1; i < path.points.length; i++) ctx.lineTo(path.points[i].x, path.points[i].y);
    ctx.stroke();
  }
}
