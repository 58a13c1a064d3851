/**
 * A picture's tiles as they were below some group in the stacking order.
 *
 * A stroke that grows changes only its own group's pixels, but its tile must
 * be redrawn whole to match a full render (scene.ts), and on a dense board a
 * tile holds well over a thousand segments. With a copy of the tile's pixels
 * below the growing group kept aside, the redraw is that copy plus the groups
 * from the growing one up: the same draw calls on top of the same pixels, so
 * the same picture, for the price of a few paths.
 */
import type { Camera } from "./camera.ts";
import type { Ctx2D } from "./draw.ts";
import type { Group, StrokeSource } from "./paths.ts";
import { drawTile, type Tile } from "./scene.ts";

/** A 2D context that can also copy pixels from another canvas. */
export type CopyCtx = Ctx2D & Pick<CanvasRenderingContext2D, "drawImage" | "getImageData">;

/**
 * Segments drawn on top of a kept copy beyond which a fresh copy is kept: by then the groups
 * between the copy and the growing group cost more than copying the tile again.
 */
const REBASE_SEGMENTS = 64;

/** One tile's kept pixels: the groups below `level` exactly as a full render draws them. */
interface Base {
  ctx: CopyCtx;
  level: number;
}

/** What is known of one tile: no group from `top` up is in it; its kept copy, if any. */
interface TileState {
  top: number;
  base: Base | null;
}

/** Kept copies of the tiles of one picture, by tile id. */
export class TileBases {
  readonly #tiles = new Map<number, TileState>();

  /** `newCtx(w, h)` makes a context on a fresh canvas of w x h pixels. */
  constructor(readonly newCtx: (w: number, h: number) => CopyCtx) {}

  /** Forgets every tile (the picture is started afresh). */
  clear(): void {
    this.#tiles.clear();
  }

  /**
   * Draws groups `from..to` on top of `tile`, which shows groups below `from`; with `keep`,
   * first keeps a copy of the tile as it is (new groups on a finished picture are the ones a
   * user is drawing: they grow next).
   */
  drawOnTop(
    ctx: CopyCtx,
    tile: Tile,
    groups: readonly Group[],
    from: number,
    to: number,
    source: StrokeSource,
    camera: Camera,
    dpr: number,
    keep: boolean,
  ): number {
    const state = this.#state(tile.id);
    if (keep && from > 0) this.#keep(ctx, tile, from, state);
    const drawn = drawTile(ctx, tile, groups, from, to, source, camera, dpr, false);
    if (drawn > 0) state.top = to;
    return drawn;
  }

  /**
   * Redraws `tile` of the picture on `ctx`, whose groups below `to` are drawn and in which
   * the groups from `from` on changed: on top when none of those is in the tile yet, else from
   * a copy kept below a group at or under `from`, else whole; a copy below `from` is kept for
   * the next time. A copy stays valid while only groups at or above its level change: any
   * lower change comes with a lower `from`, which replaces it. Returns the segments drawn.
   */
  redraw(
    ctx: CopyCtx,
    tile: Tile,
    from: number,
    groups: readonly Group[],
    to: number,
    source: StrokeSource,
    camera: Camera,
    dpr: number,
  ): number {
    const state = this.#state(tile.id);
    const base = state.base;
    let drawn = 0, keep = from > 0;
    if (state.top <= from) {
      // As it is, the tile shows exactly the groups below `from`.
    } else if (base && base.level <= from) {
      copy(base.ctx, { ...tile, x: 0, y: 0 }, ctx, tile);
      drawn = drawTile(ctx, tile, groups, base.level, from, source, camera, dpr, false);
      keep = drawn > REBASE_SEGMENTS;
    } else {
      drawn = drawTile(ctx, tile, groups, 0, from, source, camera, dpr, true);
    }
    if (keep) this.#keep(ctx, tile, from, state);
    drawn += drawTile(ctx, tile, groups, from, to, source, camera, dpr, false);
    state.top = to;
    return drawn;
  }

  #state(id: number): TileState {
    let state = this.#tiles.get(id);
    if (!state) this.#tiles.set(id, state = { top: Infinity, base: null });
    return state;
  }

  /** Keeps the tile as it is now, showing the groups below `level`. */
  #keep(ctx: CopyCtx, tile: Tile, level: number, state: TileState): void {
    state.base ??= { ctx: this.newCtx(tile.w, tile.h), level };
    state.base.level = level;
    copy(ctx, tile, state.base.ctx, { ...tile, x: 0, y: 0 });
    // The copy holds a snapshot of the whole picture until it is rasterised; drawing into the
    // picture meanwhile makes the browser copy all of it first (≈15 ms at 2560x1600). Reading
    // a pixel rasterises the copy now.
    state.base.ctx.getImageData(0, 0, 1, 1);
  }
}

/** Replaces the pixels of rectangle `to` of `dst` with those of rectangle `from` of `src`. */
function copy(src: CopyCtx, from: Tile, dst: CopyCtx, to: Tile): void {
  dst.save();
  dst.setTransform(1, 0, 0, 1, 0, 0);
  dst.clearRect(to.x, to.y, to.w, to.h);
  dst.drawImage(src.canvas, from.x, from.y, from.w, from.h, to.x, to.y, to.w, to.h);
  dst.restore();
}
