/**
 * Strokes as smoothed paths. The segments of one group (pen-down..pen-up)
 * are drawn together as quadratic curves through the midpoints of their
 * segments, with the segment ends as control points. A group sits in the
 * picture's stacking order where its first segment sits in the log, so any
 * screen that draws the same strokes draws the same picture, however the
 * strokes arrived.
 *
 * A path holds at most BLOCK segments. Chromium's rasteriser picks its
 * antialiasing method from a whole path's complexity (and from the clip), so
 * the same curve can come out a shade different inside a longer path. A
 * block, once the next one has begun, never changes again: a growing stroke
 * changes only its last two blocks, which is what lets the renderer redraw
 * just the tiles they cross (scene.ts).
 *
 * Geometry, for a chain of touching segments p0→p1, p1→p2, …, pn-1→pn
 * (mk is the midpoint of segment k): a line p0→m1, a curve mk→mk+1 about pk
 * for every joint, and a line mn→pn. A run of equal colour and width is one
 * path; a change of width (pen pressure) or a gap in the chain starts another.
 */
import type { Stroke } from "../../protocol/mod.ts";
import type { Bounds } from "./camera.ts";

/** What a traced path is written to: a 2D context, or an SVG path's `d`. */
export interface PathSink {
  /** A run of equal style begins; the moves and curves up to `end` are one path. */
  begin(color: string, width: number): void;
  moveTo(x: number, y: number): void;
  lineTo(x: number, y: number): void;
  quadraticCurveTo(cx: number, cy: number, x: number, y: number): void;
  end(): void;
}

/** Traces nowhere: the runs of blocks a caller does not want. */
const NO_SINK: PathSink = {
  begin() {},
  moveTo() {},
  lineTo() {},
  quadraticCurveTo() {},
  end() {},
};

/** Most segments in one path. */
export const BLOCK = 16;

/** Length given to a zero-length segment (a tap), far below a pixel. */
const DOT_NUDGE = 0.01;

/** What the drawing, the eraser and undo treat as one: the group, or a stroke without one. */
export function groupKeyOf(s: Stroke): string {
  return s.group ?? s.id;
}

function touching(a: Stroke, b: Stroke): boolean {
  return a.x1 === b.x0 && a.y1 === b.y0;
}

function sameStyle(a: Stroke, b: Stroke): boolean {
  return a.color === b.color && a.width === b.width;
}

/**
 * Traces one group's segments (in log order) as smoothed runs into `sink`; `blockOf(k)` says
 * which block segment `k` belongs to (by default its place in `segments`).
 */
export function traceGroup(
  segments: readonly Stroke[],
  sink: PathSink,
  blockOf: (k: number) => number = (k) => Math.floor(k / BLOCK),
  wanted: (block: number) => boolean = () => true,
): void {
  const n = segments.length;
  const all = sink;
  let i = 0;
  while (i < n) {
    const first = segments[i];
    sink = wanted(blockOf(i)) ? all : NO_SINK;
    sink.begin(first.color, first.width);
    const chainStart = i === 0 || !touching(segments[i - 1], first);
    const chainEnd = (k: number) => k === n - 1 || !touching(segments[k], segments[k + 1]);
    if (chainStart && chainEnd(i)) {
      // A lone segment: a straight line (taps nudged, since canvas prunes zero-length lines).
      sink.moveTo(first.x0, first.y0);
      const dot = first.x0 === first.x1 && first.y0 === first.y1;
      sink.lineTo(dot ? first.x1 + DOT_NUDGE : first.x1, first.y1);
      sink.end();
      i++;
      continue;
    }
    if (chainStart) sink.moveTo(first.x0, first.y0);
    else {
      const prev = segments[i - 1];
      sink.moveTo((prev.x0 + prev.x1) / 2, (prev.y0 + prev.y1) / 2);
    }
    for (let k = i;; k++) {
      const s = segments[k];
      const mx = (s.x0 + s.x1) / 2, my = (s.y0 + s.y1) / 2;
      if (k === i && chainStart) sink.lineTo(mx, my);
      else sink.quadraticCurveTo(s.x0, s.y0, mx, my);
      if (chainEnd(k)) {
        sink.lineTo(s.x1, s.y1);
        i = k + 1;
        break;
      }
      if (!sameStyle(s, segments[k + 1]) || blockOf(k) !== blockOf(k + 1)) {
        i = k + 1;
        break;
      }
    }
    sink.end();
  }
}

/** One group of the picture: where it stacks, its segments' log positions, its inked bounds. */
export interface Group extends Box {
  key: string;
  /** Its place in the stacking order (index in `GroupIndex.groups`). */
  z: number;
  /** Log positions of its segments, increasing. */
  members: number[];
  /** Inked bounds of each block of BLOCK members (by their place among all members). */
  blocks: Box[];
}

/** The bounds of `s` with its width. */
export function inkBounds(s: Stroke): Box {
  const r = s.width / 2;
  return {
    minX: Math.min(s.x0, s.x1) - r,
    minY: Math.min(s.y0, s.y1) - r,
    maxX: Math.max(s.x0, s.x1) + r,
    maxY: Math.max(s.y0, s.y1) + r,
  };
}

/** True when two rectangles overlap (touching counts). */
export function overlaps(a: Bounds, b: Bounds): boolean {
  return a.maxX >= b.minX && a.minX <= b.maxX && a.maxY >= b.minY && a.minY <= b.maxY;
}

/** A rectangle that can grow. */
export type Box = { -readonly [K in keyof Bounds]: Bounds[K] };

/** `a` grown to cover `b`. */
export function extend(a: Box, b: Bounds): void {
  a.minX = Math.min(a.minX, b.minX);
  a.minY = Math.min(a.minY, b.minY);
  a.maxX = Math.max(a.maxX, b.maxX);
  a.maxY = Math.max(a.maxY, b.maxY);
}

/** The groups of a stroke sequence in stacking order, fed one stroke at a time. */
export class GroupIndex {
  readonly groups: Group[] = [];
  readonly #byKey = new Map<string, Group>();

  /** Adds the stroke at position `pos` (positions must increase); returns its group. */
  add(s: Stroke, pos: number): Group {
    const key = groupKeyOf(s);
    const g = this.#byKey.get(key);
    if (g) {
      const ink = inkBounds(s);
      if (g.members.length % BLOCK === 0) g.blocks.push({ ...ink });
      else extend(g.blocks[g.blocks.length - 1], ink);
      g.members.push(pos);
      extend(g, ink);
      return g;
    }
    const fresh: Group = {
      key,
      z: this.groups.length,
      members: [pos],
      blocks: [inkBounds(s)],
      ...inkBounds(s),
    };
    this.groups.push(fresh);
    this.#byKey.set(key, fresh);
    return fresh;
  }
}

/** Where a picture's groups get their segments. */
export interface StrokeSource {
  strokeAt(pos: number): Stroke;
  visible(pos: number): boolean;
}

/**
 * The visible segments of `g` in its wanted blocks, each run of them with the visible segment
 * before and after it, and the block of each: traced with the same `wanted`, they give the
 * wanted blocks' paths exactly as the whole group does (a segment's path depends on its
 * neighbours only), for the cost of the blocks a tile draws rather than the whole group.
 */
export function wantedSegments(
  g: Group,
  source: StrokeSource,
  wanted: (block: number) => boolean,
): { segments: Stroke[]; blocks: number[] } {
  const segments: Stroke[] = [];
  const blocks: number[] = [];
  const n = g.members.length;
  const visible = (j: number) => source.visible(g.members[j]);
  const add = (j: number) => {
    segments.push(source.strokeAt(g.members[j]));
    blocks.push(Math.floor(j / BLOCK));
  };
  let next = 0; // members before this one are taken or passed over
  for (let b = 0; b < g.blocks.length; b++) {
    if (!wanted(b)) continue;
    const start = b * BLOCK, end = Math.min(n, start + BLOCK);
    for (let j = start - 1; j >= next; j--) {
      if (visible(j)) {
        add(j);
        break;
      }
    }
    for (let j = Math.max(start, next); j < end; j++) if (visible(j)) add(j);
    let after = Math.max(end, next);
    while (after < n && !visible(after)) after++;
    if (after < n) add(after);
    next = after + 1;
  }
  return { segments, blocks };
}

/** The groups of `strokes` in stacking order, each with its segments (for one-off pictures). */
export function groupsOf(strokes: readonly Stroke[]): Stroke[][] {
  const index = new GroupIndex();
  strokes.forEach((s, i) => index.add(s, i));
  return index.groups.map((g) => g.members.map((i) => strokes[i]));
}
