/**
 * The board as a picture, independent of any screen: draw strokes through a
 * camera onto a 2D context, measure their bounds, write them as SVG. Export,
 * history previews and the live renderer all use these, so every picture of
 * the board agrees.
 */
import type { Stroke } from "../../protocol/mod.ts";
import type { Bounds, Camera } from "./camera.ts";
import { type Ctx2D, drawGroup } from "./draw.ts";
import {
  type Box,
  extend,
  type Group,
  GroupIndex,
  groupsOf,
  inkBounds,
  overlaps,
  type StrokeSource,
  traceGroup,
  wantedSegments,
} from "./paths.ts";

/** Sets `ctx` to map board coordinates through `camera` at `dpr` device pixels per CSS pixel. */
export function applyCamera(ctx: Ctx2D, camera: Camera, dpr: number): void {
  const s = camera.zoom * dpr;
  ctx.setTransform(s, 0, 0, s, -camera.x * s, -camera.y * s);
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
}

/** Side of a tile in device pixels. */
export const TILE_PX = 256;
/** Device pixels of margin around a tile when asking what reaches it: antialiasing spills. */
const AA_MARGIN_PX = 2;

/** A tile: a rectangle of device pixels. */
export interface Tile {
  id: number;
  x: number;
  y: number;
  w: number;
  h: number;
}

/** The tiles of a `width` x `height` picture that the device-pixel rectangle reaches (all by default). */
export function tilesOf(
  width: number,
  height: number,
  reach: Bounds = { minX: 0, minY: 0, maxX: width, maxY: height },
): Tile[] {
  const cols = Math.ceil(width / TILE_PX);
  const out: Tile[] = [];
  const c0 = Math.max(0, Math.floor(reach.minX / TILE_PX));
  const c1 = Math.min(cols - 1, Math.floor(reach.maxX / TILE_PX));
  const r0 = Math.max(0, Math.floor(reach.minY / TILE_PX));
  const r1 = Math.min(Math.ceil(height / TILE_PX) - 1, Math.floor(reach.maxY / TILE_PX));
  for (let r = r0; r <= r1; r++) {
    for (let c = c0; c <= c1; c++) {
      const x = c * TILE_PX, y = r * TILE_PX;
      out.push({
        id: r * cols + c,
        x,
        y,
        w: Math.min(TILE_PX, width - x),
        h: Math.min(TILE_PX, height - y),
      });
    }
  }
  return out;
}

/** Device pixels of board rectangle `b` under `camera` at `dpr`, with the antialiasing margin. */
export function devicePixelsOf(b: Bounds, camera: Camera, dpr: number): Bounds {
  const k = camera.zoom * dpr;
  return {
    minX: (b.minX - camera.x) * k - AA_MARGIN_PX,
    minY: (b.minY - camera.y) * k - AA_MARGIN_PX,
    maxX: (b.maxX - camera.x) * k + AA_MARGIN_PX,
    maxY: (b.maxY - camera.y) * k + AA_MARGIN_PX,
  };
}

/**
 * Draws groups `from..to` (stacking order) clipped to `tile`, each only in its blocks that
 * reach the tile; `clear` empties the tile first. Every picture of the board (the screen,
 * exports, history previews) is drawn tile by tile through here: Chromium antialiases a
 * clipped path a shade differently, so a tile redrawn alone matches a full render only when
 * both clip the same. Returns the segments drawn.
 */
export function drawTile(
  ctx: Ctx2D,
  tile: Tile,
  groups: readonly Group[],
  from: number,
  to: number,
  source: StrokeSource,
  camera: Camera,
  dpr: number,
  clear: boolean,
): number {
  const k = camera.zoom * dpr;
  const m = AA_MARGIN_PX;
  const area = {
    minX: camera.x + (tile.x - m) / k,
    minY: camera.y + (tile.y - m) / k,
    maxX: camera.x + (tile.x + tile.w + m) / k,
    maxY: camera.y + (tile.y + tile.h + m) / k,
  };
  ctx.save();
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.beginPath();
  ctx.rect(tile.x, tile.y, tile.w, tile.h);
  ctx.clip();
  if (clear) ctx.clearRect(tile.x, tile.y, tile.w, tile.h);
  applyCamera(ctx, camera, dpr);
  let drawn = 0;
  for (let z = from; z < to; z++) {
    const g = groups[z];
    if (!overlaps(g, area)) continue;
    const wanted = (b: number) => overlaps(g.blocks[b], area);
    const { segments, blocks } = wantedSegments(g, source, wanted);
    if (segments.length === 0) continue;
    drawGroup(ctx, segments, (i) => blocks[i], wanted);
    drawn += segments.length;
  }
  ctx.restore();
  return drawn;
}

/**
 * Draws `strokes` (in log order) onto the whole of `ctx`'s canvas through `camera`, each group
 * as its smoothed paths where its first segment stacks (pixels are `dpr` per CSS pixel).
 */
export function drawStrokes(
  ctx: Ctx2D,
  strokes: readonly Stroke[],
  camera: Camera,
  dpr = 1,
): void {
  const index = new GroupIndex();
  strokes.forEach((s, i) => index.add(s, i));
  const source = { strokeAt: (i: number) => strokes[i], visible: () => true };
  const n = index.groups.length;
  for (const tile of tilesOf(ctx.canvas.width, ctx.canvas.height)) {
    drawTile(ctx, tile, index.groups, 0, n, source, camera, dpr, false);
  }
}

/** The board rectangle that covers every stroke including its width; null when there are none. */
export function boundsOf(strokes: Iterable<Stroke>): Bounds | null {
  let b: Box | null = null;
  for (const s of strokes) {
    if (b) extend(b, inkBounds(s));
    else b = inkBounds(s);
  }
  return b;
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
  const paths: string[] = [];
  for (const group of groupsOf(strokes)) {
    let d = "", color = "", width = 0;
    traceGroup(group, {
      begin(c, w) {
        color = SAFE_COLOR.test(c) ? c : "#000000";
        width = w;
        d = "";
      },
      moveTo: (x, y) => d += `M${x} ${y}`,
      lineTo: (x, y) => d += `L${x} ${y}`,
      quadraticCurveTo: (cx, cy, x, y) => d += `Q${cx} ${cy} ${x} ${y}`,
      end: () => paths.push(`<path d="${d}" stroke="${color}" stroke-width="${width}"/>`),
    });
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="${b.minX} ${b.minY} ${w} ${h}" width="${w}" height="${h}">`,
    `<g fill="none" stroke-linecap="round" stroke-linejoin="round">`,
    ...paths,
    `</g>`,
    `</svg>`,
  ].join("\n");
}
