/** Making protocol strokes out of drawn segments. */
import type { Stroke } from "../../protocol/mod.ts";
import type { Segment } from "./segmenter.ts";

/**
 * A random id for this page load. Not `crypto.randomUUID`: that exists only in
 * secure contexts, and the board is often opened over plain http on a LAN host.
 */
export function newClientId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Hundredths of a world unit are finer than any screen shows and keep messages short. */
function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

/** The protocol stroke for one segment; `id` must be unique (client id and a counter). */
export function segmentToStroke(seg: Segment, id: string, color: string, width: number): Stroke {
  const [a, b] = seg;
  return {
    id,
    x0: round2(a.x),
    y0: round2(a.y),
    x1: round2(b.x),
    y1: round2(b.y),
    color,
    width,
  };
}
