/**
 * The eraser's hit test: which strokes pass within `radius` (board units) of
 * a point, counting their width. On the board, the committed strokes are
 * found through a grid (stroke_grid.ts) kept in step with the append-only
 * log, and visibility is asked at query time, so no erase, restore or clear
 * can leave the index stale; own pending strokes are few and scanned.
 */
import type { Stroke } from "../../protocol/mod.ts";
import { type BoardState, isCommittedVisible, isPendingVisible } from "./board_state.ts";
import { groupKeyOf } from "./paths.ts";
import { StrokeGrid } from "./stroke_grid.ts";

/** Squared distance from `p` to the segment of `s`. */
function distance2(s: Stroke, px: number, py: number): number {
  const dx = s.x1 - s.x0, dy = s.y1 - s.y0;
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - s.x0) * dx + (py - s.y0) * dy) / len2));
  const ex = s.x0 + t * dx - px, ey = s.y0 + t * dy - py;
  return ex * ex + ey * ey;
}

type Point = { x: number; y: number };

/** True when `s`, counting its width, passes within `radius` of `p` (a cheap box test first). */
function touches(s: Stroke, p: Point, radius: number): boolean {
  const reach = radius + s.width / 2;
  if (
    p.x < Math.min(s.x0, s.x1) - reach || p.x > Math.max(s.x0, s.x1) + reach ||
    p.y < Math.min(s.y0, s.y1) - reach || p.y > Math.max(s.y0, s.y1) + reach
  ) return false;
  return distance2(s, p.x, p.y) <= reach * reach;
}

/** Erase targets (group or stroke ids, each once, in stroke order) of the strokes within `radius` of `p`. */
export function hitTargets(strokes: Iterable<Stroke>, p: Point, radius: number): string[] {
  const out = new Set<string>();
  for (const s of strokes) if (touches(s, p, radius)) out.add(groupKeyOf(s));
  return [...out];
}

/** One grid per committed log; `resetCommitted` gives a new array, and so a new grid. */
const grids = new WeakMap<readonly Stroke[], StrokeGrid>();

function* shownPending(board: BoardState): Iterable<Stroke> {
  for (const p of board.pending.values()) {
    if (p.msg.type === "stroke" && isPendingVisible(board, p)) yield p.msg.stroke;
  }
}

/**
 * `hitTargets` over what `board` shows (visible committed strokes in log
 * order, then visible own pending ones), with the same result.
 */
export function boardHits(board: BoardState, p: Point, radius: number): string[] {
  const committed = board.committed;
  let grid = grids.get(committed);
  if (!grid) grids.set(committed, grid = new StrokeGrid());
  while (grid.size < committed.length) grid.add(committed[grid.size]);
  const out = new Set<string>();
  for (const i of grid.near(p, radius)) {
    const s = committed[i];
    if (touches(s, p, radius) && isCommittedVisible(board, i)) out.add(groupKeyOf(s));
  }
  for (const t of hitTargets(shownPending(board), p, radius)) out.add(t);
  return [...out];
}
