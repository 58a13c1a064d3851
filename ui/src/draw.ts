/**
 * Pure canvas drawing: what to paint comes in as arguments, nothing is read
 * from the page. Groups are traced by paths.ts, so the board, the overlay,
 * the history preview and the exports draw one stroke the same way.
 */
import type { Stroke } from "../../protocol/mod.ts";
import { groupsOf, traceGroup } from "./paths.ts";
import type { Point } from "./segmenter.ts";

/** Minimal 2D context surface used here (a real CanvasRenderingContext2D fits). */
export type Ctx2D = Pick<
  CanvasRenderingContext2D,
  | "canvas"
  | "save"
  | "restore"
  | "rect"
  | "clip"
  | "setTransform"
  | "clearRect"
  | "beginPath"
  | "moveTo"
  | "lineTo"
  | "quadraticCurveTo"
  | "stroke"
  | "strokeStyle"
  | "lineWidth"
  | "lineCap"
  | "lineJoin"
>;

/** Strokes one group's segments (log order) as its smoothed paths (`blockOf`: see traceGroup). */
export function drawGroup(
  ctx: Ctx2D,
  segments: readonly Stroke[],
  blockOf?: (k: number) => number,
  wanted?: (block: number) => boolean,
): void {
  traceGroup(
    segments,
    {
      begin(color, width) {
        if (ctx.strokeStyle !== color) ctx.strokeStyle = color;
        if (ctx.lineWidth !== width) ctx.lineWidth = width;
        ctx.beginPath();
      },
      moveTo: (x, y) => ctx.moveTo(x, y),
      lineTo: (x, y) => ctx.lineTo(x, y),
      quadraticCurveTo: (cx, cy, x, y) => ctx.quadraticCurveTo(cx, cy, x, y),
      end: () => ctx.stroke(),
    },
    blockOf,
    wanted,
  );
}

/** A path still under the pointer, not yet cut into segments. */
export interface LivePath {
  points: readonly Point[];
  color: string;
  width: number;
}

/** The live path as segments, so it is smoothed as it will be once sent. */
function liveSegments(path: LivePath): Stroke[] {
  const out: Stroke[] = [];
  for (let i = 1; i < path.points.length; i++) {
    const a = path.points[i - 1], b = path.points[i];
    out.push({ id: "", x0: a.x, y0: a.y, x1: b.x, y1: b.y, color: path.color, width: path.width });
  }
  return out;
}

/** The overlay: own pending segments by group, then the live tails of paths being drawn. */
export function drawOverlay(
  ctx: Ctx2D,
  pending: readonly Stroke[],
  live: readonly LivePath[],
): void {
  for (const group of groupsOf(pending)) drawGroup(ctx, group);
  for (const path of live) if (path.points.length >= 2) drawGroup(ctx, liveSegments(path));
}
