/**
 * Export and import of the board: PNG and SVG drawn by scene.ts (the same
 * drawing as the board's), JSON of the visible strokes, and reading such a
 * JSON file back as new strokes (every stroke checked as the gateway would).
 */
import type { Stroke } from "../../protocol/mod.ts";
import { checkStroke } from "../../protocol/stroke.ts";
import type { Bounds } from "./camera.ts";
import { boundsOf, drawStrokes, svgOf } from "./scene.ts";

/** What a JSON export holds; `format` tells our files from anything else. */
export interface BoardFile {
  format: "whiteboard-strokes";
  version: 1;
  board: string;
  strokes: Stroke[];
}

/** Most strokes one import takes (a bigger file is refused, not truncated). */
export const MAX_IMPORT = 50_000;

/** Pixels of margin around the strokes in a whole-board export. */
const MARGIN = 16;

/** `b` grown by `m` on every side. */
export function padded(b: Bounds, m: number): Bounds {
  return { minX: b.minX - m, minY: b.minY - m, maxX: b.maxX + m, maxY: b.maxY + m };
}

/** The frame of an export: the visible area, or all strokes with a margin; null when empty. */
export function exportFrame(strokes: readonly Stroke[], visible: Bounds | null): Bounds | null {
  if (visible) return visible;
  const b = boundsOf(strokes);
  return b && padded(b, MARGIN);
}

/** The JSON file's text for `strokes` (board names dropped: an import goes to the open board). */
export function jsonOf(board: string, strokes: readonly Stroke[]): string {
  const file: BoardFile = {
    format: "whiteboard-strokes",
    version: 1,
    board,
    strokes: strokes.map(({ board: _b, ...s }) => s),
  };
  return JSON.stringify(file);
}

/** Reads an exported JSON file: the strokes, or an error a person can act on. */
export function parseBoardFile(
  text: string,
): { ok: true; strokes: Stroke[] } | { ok: false; error: string } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { ok: false, error: "not a JSON file" };
  }
  const list = Array.isArray(body) ? body : (body as { strokes?: unknown } | null)?.strokes;
  if (!Array.isArray(list)) return { ok: false, error: 'no "strokes" list in the file' };
  if (list.length === 0) return { ok: false, error: "the file holds no strokes" };
  if (list.length > MAX_IMPORT) {
    return { ok: false, error: `too many strokes (${list.length}, at most ${MAX_IMPORT})` };
  }
  const strokes: Stroke[] = [];
  for (let i = 0; i < list.length; i++) {
    const r = checkStroke(list[i]);
    if (!r.ok) return { ok: false, error: `stroke ${i + 1}: ${r.error}` };
    strokes.push(r.value);
  }
  return { ok: true, strokes };
}

/** The SVG text of `strokes` framed by `frame`. */
export function svgExport(strokes: readonly Stroke[], frame: Bounds | null): string {
  return svgOf(strokes, frame);
}

/** The board's background colour now (light or dark theme): what a PNG export is filled with. */
export function boardBackground(): string {
  return getComputedStyle(document.body).getPropertyValue("--board-bg").trim() || "#ffffff";
}

/** A PNG of `strokes` in `frame` at `scale` pixels per board unit, on `background`. */
export function pngExport(
  strokes: readonly Stroke[],
  frame: Bounds,
  background: string,
  scale = 2,
): Promise<Blob> {
  // Browsers refuse canvases much beyond 16k pixels a side; shrink the scale to fit.
  const w = frame.maxX - frame.minX, h = frame.maxY - frame.minY;
  const s = Math.min(scale, 8192 / Math.max(1, w), 8192 / Math.max(1, h));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.ceil(w * s));
  canvas.height = Math.max(1, Math.ceil(h * s));
  const ctx = canvas.getContext("2d")!;
  ctx.fillStyle = background;
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  drawStrokes(ctx, strokes, { x: frame.minX, y: frame.minY, zoom: s }, 1);
  return new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("PNG encoding failed"))), "image/png")
  );
}

/** Offers `data` as a download named `name`. */
export function download(name: string, data: Blob | string, type: string): void {
  const blob = typeof data === "string" ? new Blob([data], { type }) : data;
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
