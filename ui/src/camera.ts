/**
 * The view onto the infinite board: strokes live in board coordinates, the
 * camera maps them to the screen as `screen = (board - {x, y}) * zoom`, so
 * `{x, y}` is the board point at the canvas's top-left corner.
 */
import { signal } from "@preact/signals";

/** Where the view is: top-left board point and screen pixels (CSS) per board unit. */
export interface Camera {
  readonly x: number;
  readonly y: number;
  readonly zoom: number;
}

/** A point, in board or screen coordinates as the name says. */
export interface Vec {
  readonly x: number;
  readonly y: number;
}

/** An axis-aligned rectangle in board coordinates. */
export interface Bounds {
  readonly minX: number;
  readonly minY: number;
  readonly maxX: number;
  readonly maxY: number;
}

/** Zoom limits: far enough out to see a huge board, in far enough for detail. */
export const MIN_ZOOM = 0.02;
export const MAX_ZOOM = 32;
/** One zoom-button step. */
const ZOOM_STEP = 1.25;

/** The identity view: board origin at the top-left, one board unit per CSS pixel. */
export const HOME: Camera = { x: 0, y: 0, zoom: 1 };

/** The page's camera; replaced, never mutated. */
export const camera = signal<Camera>(HOME);
/** Size of the canvas in CSS pixels, kept up to date by the canvas component. */
export const viewport = signal<{ width: number; height: number }>({ width: 1, height: 1 });

function clampZoom(z: number): number {
  return Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, z));
}

/** The board point under screen point `p`. */
export function screenToWorld(c: Camera, p: Vec): Vec {
  return { x: p.x / c.zoom + c.x, y: p.y / c.zoom + c.y };
}

/** The screen point of board point `p`. */
export function worldToScreen(c: Camera, p: Vec): Vec {
  return { x: (p.x - c.x) * c.zoom, y: (p.y - c.y) * c.zoom };
}

/** The camera scaled by `factor` so that the board point under screen point `at` stays put. */
export function zoomAt(c: Camera, at: Vec, factor: number): Camera {
  const zoom = clampZoom(c.zoom * factor);
  const w = screenToWorld(c, at);
  return { x: w.x - at.x / zoom, y: w.y - at.y / zoom, zoom };
}

/** The camera moved by a screen-space drag of `d` pixels. */
export function panBy(c: Camera, d: Vec): Camera {
  return { x: c.x - d.x / c.zoom, y: c.y - d.y / c.zoom, zoom: c.zoom };
}

/** The board rectangle the camera shows on a viewport of `size`. */
export function visibleBounds(c: Camera, size: { width: number; height: number }): Bounds {
  return {
    minX: c.x,
    minY: c.y,
    maxX: c.x + size.width / c.zoom,
    maxY: c.y + size.height / c.zoom,
  };
}

/** A camera showing all of `b` centred on a viewport of `size`, with a margin; HOME for no bounds. */
export function fitBounds(
  b: Bounds | null,
  size: { width: number; height: number },
  marginPx = 40,
): Camera {
  if (b === null) return HOME;
  const w = Math.max(1, b.maxX - b.minX);
  const h = Math.max(1, b.maxY - b.minY);
  const zoom = clampZoom(
    Math.min(
      Math.max(1, size.width - 2 * marginPx) / w,
      Math.max(1, size.height - 2 * marginPx) / h,
    ),
  );
  const cx = (b.minX + b.maxX) / 2;
  const cy = (b.minY + b.maxY) / 2;
  return { x: cx - size.width / 2 / zoom, y: cy - size.height / 2 / zoom, zoom };
}

function centre(): Vec {
  return { x: viewport.peek().width / 2, y: viewport.peek().height / 2 };
}

/** Zooms in one step about the centre of the view. */
export function zoomIn(): void {
  camera.value = zoomAt(camera.peek(), centre(), ZOOM_STEP);
}

/** Zooms out one step about the centre of the view. */
export function zoomOut(): void {
  camera.value = zoomAt(camera.peek(), centre(), 1 / ZOOM_STEP);
}

/** Shows all of `b` (the board's content bounds), or the home view when the board is empty. */
export function zoomToFit(b: Bounds | null): void {
  camera.value = fitBounds(b, viewport.peek());
}

/** Back to the home view. */
export function resetView(): void {
  camera.value = HOME;
}
