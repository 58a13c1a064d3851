/**
 * Turns the raw points of one pointer path into few straight segments: a
 * segment ends only when the path bends away from the straight chord by more
 * than `toleranceWorld`, or the chord grows past `maxSegmentWorld` (so other
 * screens see a long line grow while it is drawn). Curves stay within the
 * tolerance of what the hand drew, straight runs cost one message.
 */

/** A point in world coordinates. */
export interface Point {
  x: number;
  y: number;
}

/** A finished segment, from `a` to `b`. */
export type Segment = readonly [a: Point, b: Point];

/** Tuning of the simplifier, in world units. */
export interface SegmenterOptions {
  toleranceWorld: number;
  maxSegmentWorld: number;
  /** Moves shorter than this are jitter and ignored. */
  minStepWorld: number;
}

/** Defaults: half a pixel of error keeps curves smooth at any zoom we use. */
export const DEFAULT_SEGMENTER: SegmenterOptions = {
  toleranceWorld: 0.5,
  maxSegmentWorld: 40,
  minStepWorld: 0.5,
};

/** State of one path being drawn. */
export interface PathState {
  /** Start of the segment being grown. */
  anchor: Point;
  /** Points after the anchor not yet part of a sent segment. */
  tail: Point[];
  emitted: number;
  options: SegmenterOptions;
}

/** Begins a path at the pointer-down point. */
export function startPath(p: Point, options: SegmenterOptions = DEFAULT_SEGMENTER): PathState {
  return { anchor: p, tail: [], emitted: 0, options };
}

/** Feeds one pointer position; returns the segments it completed (zero or one). */
export function addPoint(st: PathState, p: Point): Segment[] {
  const last = st.tail.length > 0 ? st.tail[st.tail.length - 1] : st.anchor;
  if (Math.hypot(p.x - last.x, p.y - last.y) < st.options.minStepWorld) return [];
  st.tail.push(p);
  if (st.tail.length < 2 || chordHolds(st, p)) return [];
  // The chord to `p` no longer fits: the path up to the previous point becomes a segment.
  const out: Segment = [st.anchor, last];
  st.anchor = last;
  st.tail = [p];
  st.emitted++;
  return [out];
}

/** Ends the path (pointer up); a tap that never moved becomes a dot. */
export function endPath(st: PathState): Segment[] {
  if (st.tail.length > 0) {
    const end = st.tail[st.tail.length - 1];
    st.tail = [];
    st.emitted++;
    return [[st.anchor, end]];
  }
  if (st.emitted === 0) {
    st.emitted++;
    return [[st.anchor, st.anchor]];
  }
  return [];
}

/** The not-yet-sent rest of the path, for drawing it live: anchor then tail. */
export function livePoints(st: PathState): Point[] {
  return [st.anchor, ...st.tail];
}

function chordHolds(st: PathState, p: Point): boolean {
  const a = st.anchor;
  const dx = p.x - a.x;
  const dy = p.y - a.y;
  const len = Math.hypot(dx, dy);
  if (len > st.options.maxSegmentWorld) return false;
  for (let i = 0; i < st.tail.length - 1; i++) {
    const q = st.tail[i];
    // Distance from q to the segment a-p (not the infinite line: a path may double back).
    const t = len === 0
      ? 0
      : Math.max(0, Math.min(1, ((q.x - a.x) * dx + (q.y - a.y) * dy) / len ** 2));
    const d = Math.hypot(q.x - (a.x + t * dx), q.y - (a.y + t * dy));
    if (d > st.options.toleranceWorld) return false;
  }
  return true;
}
