/**
 * Keeps the two stacked canvases in step with the store and the camera.
 *
 * The committed layer shows a cached picture (`front`, rendered for one
 * camera) blitted through the current camera, so a pan or zoom costs one
 * drawImage per frame however big the board is. When the camera, the
 * visibility or the size changed, a fresh picture is rendered off screen
 * (`back`), culled to the view and spread over frames within a time budget,
 * then swapped in: the page never freezes and never shows a half-drawn board.
 *
 * A picture is drawn in tiles (scene.ts), each holding the groups (paths.ts)
 * that reach it in stacking order. A new group is drawn on top, tile by tile,
 * as it comes. A group that grows after it was drawn changes only in its
 * last two blocks: the tiles they reach are redrawn, which gives there
 * exactly the pixels a full render gives, from a copy of the tile below the
 * growing group (tile_bases.ts) so that a stroke drawn on a dense board costs
 * a few paths per frame. So every screen shows the same picture, however the
 * log reached it.
 * The overlay is repainted with own pending strokes and live paths, the
 * cursor layer with the other users' cursors; both are few.
 */
import { effect } from "@preact/signals";
import { type Bounds, type Camera, camera, viewport, worldToScreen } from "./camera.ts";
import type { Stroke } from "../../protocol/mod.ts";
import { drawOverlay, type LivePath } from "./draw.ts";
import { BLOCK, type Box, extend, GroupIndex, inkBounds, type StrokeSource } from "./paths.ts";
import { applyCamera, devicePixelsOf, type Tile, tilesOf } from "./scene.ts";
import * as store from "./store.ts";
import { TileBases } from "./tile_bases.ts";
import { type Peer, peers } from "./ui_state.ts";

/** Drawing time per frame for rendering the back picture. */
const FRAME_BUDGET_MS = 8;
/** How long after the start the page counts as loading, and a loading frame's drawing time. */
const LOADING_MS = 3000;
const LOADING_BUDGET_MS = 1000;
/** A fresh picture is rendered once the camera has been still this long. */
const SETTLE_MS = 100;
/** Bounds of the segments drawn per frame while catching up. */
const MIN_CHUNK = 250;
const MAX_CHUNK = 50_000;
/** A cursor that has not moved for this long is drawn faint. */
const IDLE_CURSOR_MS = 5000;

/**
 * Segments to draw in the next catch-up frame, from how long the last one
 * took. The clock inside a frame sees only the recording of draw calls; the
 * raster runs after it, so the frame interval is the honest cost measure.
 */
export function nextChunk(chunk: number, frameIntervalMs: number): number {
  if (frameIntervalMs > 34) return Math.max(MIN_CHUNK, Math.floor(chunk * 0.6));
  if (frameIntervalMs < 20) return Math.min(MAX_CHUNK, Math.ceil(chunk * 1.3));
  return chunk;
}

/** Timings of the last frames, for the perf harness and curious users. */
export interface RenderStats {
  /** Committed segments the shown picture covers (all of them once it is current). */
  drawnUpTo: number;
  /** Milliseconds spent drawing in the last frame (both layers). */
  lastFrameDrawMs: number;
  frames: number;
  /** Full renders of the picture finished (camera, visibility or size changes). */
  renders: number;
  /** The picture on screen is complete for the current camera and board. */
  current: boolean;
}

/** The page's running renderer, for the test hooks. */
let running: LayerRenderer | null = null;

/** Told of every peer cursor as it is painted, with the paint's `performance.now()` (tests). */
let cursorPainted: ((p: Peer, atMs: number) => void) | null = null;

/** Sets (or with null removes) the listener of cursor paints; the test hooks time cursors with it. */
export function onCursorPainted(f: ((p: Peer, atMs: number) => void) | null): void {
  cursorPainted = f;
}

/**
 * True when the screen shows everything the store holds: the whole committed log on the
 * committed layer and the pending strokes on the overlay (a frame may still be due after a
 * change; tests wait for this before reading pixels).
 */
export function screenIsCurrent(): boolean {
  return running !== null && running.isCurrent();
}

/** A running renderer. */
export interface Renderer {
  stats: RenderStats;
  /** Stops drawing and listening. */
  stop(): void;
}

/** Starts drawing the store onto the canvases; they must be stacked and equally sized by CSS. */
export function startRenderer(
  committed: HTMLCanvasElement,
  overlay: HTMLCanvasElement,
  cursors: HTMLCanvasElement | null = null,
  budgetMs = FRAME_BUDGET_MS,
): Renderer {
  return new LayerRenderer(committed, overlay, cursors, budgetMs);
}

/** What a picture was rendered for: it is current while all of these still hold. */
interface PictureKey {
  camera: Camera;
  visibility: number;
  epoch: number;
  width: number;
  height: number;
}

function sameKey(a: PictureKey | null, b: PictureKey): boolean {
  return a !== null && a.camera === b.camera && a.visibility === b.visibility &&
    a.epoch === b.epoch && a.width === b.width && a.height === b.height;
}

/** An off-screen picture of the board and how far its render got. */
interface Picture {
  canvas: HTMLCanvasElement;
  ctx: CanvasRenderingContext2D;
  key: PictureKey | null;
  /** Device pixels changed since the committed layer last copied it: the screen copies only these. */
  changed: Box | null;
  /** Groups below this place in the stacking order are in the picture (or its dirty tiles). */
  cursor: number;
  /**
   * Tiles to redraw, each with the lowest group that changed in it: all of them from group 0
   * at first, then where drawn groups grew.
   */
  dirty: Map<number, { tile: Tile; from: number }>;
  /** Its tiles below the groups that grew in them, to redraw from. */
  bases: TileBases;
  done: boolean;
}

function newContext(w: number, h: number): CanvasRenderingContext2D {
  const canvas = document.createElement("canvas");
  canvas.width = w;
  canvas.height = h;
  return canvas.getContext("2d")!;
}

function newPicture(): Picture {
  const ctx = newContext(1, 1);
  return {
    canvas: ctx.canvas,
    ctx,
    key: null,
    changed: null,
    cursor: 0,
    dirty: new Map(),
    bases: new TileBases(newContext),
    done: false,
  };
}

/** Notes that `tile` of `pic` was drawn. */
function changed(pic: Picture, tile: Tile): void {
  const b = { minX: tile.x, minY: tile.y, maxX: tile.x + tile.w, maxY: tile.y + tile.h };
  if (pic.changed) extend(pic.changed, b);
  else pic.changed = b;
}

class LayerRenderer implements Renderer {
  stats: RenderStats = { drawnUpTo: 0, lastFrameDrawMs: 0, frames: 0, renders: 0, current: false };
  #cctx: CanvasRenderingContext2D;
  #octx: CanvasRenderingContext2D;
  #kctx: CanvasRenderingContext2D | null;
  #dpr = 1;
  #front = newPicture();
  #back = newPicture();
  /** The committed log's groups, and how much of the log (of which board) they cover. */
  #index = new GroupIndex();
  #indexed = 0;
  #indexEpoch = -1;
  #frameId = 0;
  readonly #loadingUntil = performance.now() + LOADING_MS;
  #lastCamera: Camera | null = null;
  #cameraMovedAt = -Infinity;
  /** The picture the committed layer holds. */
  #shown: Picture | null = null;
  #shownTransform = "";
  #overlayDirty = true;
  /**
   * Device pixels of the overlay holding ink, or null: a repaint clears only these, since the
   * compositor redraws whatever a canvas touched (a full clear every frame was a whole-screen
   * composite per frame).
   */
  #overlayInk: Bounds | null = null;
  #cursorsDirty = true;
  #chunk = 1000;
  /** Time of the last frame if it left rendering to do, else -1. */
  #busyFrameAt = -1;
  #dprQuery: MediaQueryList | null = null;
  #stopEffects: (() => void)[];
  #cursorTimer: ReturnType<typeof setInterval>;

  constructor(
    readonly committed: HTMLCanvasElement,
    readonly overlay: HTMLCanvasElement,
    readonly cursors: HTMLCanvasElement | null,
    readonly budgetMs: number,
  ) {
    this.#cctx = committed.getContext("2d")!;
    this.#octx = overlay.getContext("2d")!;
    this.#kctx = cursors?.getContext("2d") ?? null;
    this.#stopEffects = [
      effect(() => {
        store.committedCount.value;
        store.boardEpoch.value;
        store.visibilityEpoch.value;
        if (camera.value !== this.#lastCamera) {
          this.#lastCamera = camera.peek();
          this.#cameraMovedAt = performance.now();
        }
        this.#overlayDirty = true; // pending strokes and cursors move with the camera
        this.#cursorsDirty = true;
        this.#request();
      }),
      effect(() => {
        store.pendingStrokes.value;
        store.livePaths.value;
        this.#overlayDirty = true;
        this.#request();
      }),
      effect(() => {
        peers.value;
        this.#cursorsDirty = true;
        this.#request();
      }),
    ];
    // Idle cursors fade without any message arriving.
    this.#cursorTimer = setInterval(() => {
      if (peers.peek().size > 0) {
        this.#cursorsDirty = true;
        this.#request();
      }
    }, 1000);
    globalThis.addEventListener("resize", this.#fit);
    this.#watchDpr();
    this.#fit();
    running = this;
  }

  isCurrent(): boolean {
    return this.#frameId === 0 && this.stats.current && !this.#overlayDirty &&
      this.stats.drawnUpTo === store.board.committed.length;
  }

  stop(): void {
    if (running === this) running = null;
    for (const stop of this.#stopEffects) stop();
    clearInterval(this.#cursorTimer);
    globalThis.removeEventListener("resize", this.#fit);
    this.#dprQuery?.removeEventListener("change", this.#onDprChange);
    if (this.#frameId !== 0) cancelAnimationFrame(this.#frameId);
  }

  /** Sizes the backing stores to CSS size times devicePixelRatio. */
  #fit = () => {
    this.#dpr = globalThis.devicePixelRatio || 1;
    const w = Math.max(1, this.committed.clientWidth);
    const h = Math.max(1, this.committed.clientHeight);
    const layers = [this.committed, this.overlay, this.#front.canvas, this.#back.canvas];
    for (const c of this.cursors ? [...layers, this.cursors] : layers) {
      c.width = Math.round(w * this.#dpr);
      c.height = Math.round(h * this.#dpr);
    }
    this.#front.key = null;
    this.#back.key = null;
    this.#overlayInk = null; // resizing cleared it
    viewport.value = { width: w, height: h };
    this.#overlayDirty = true;
    this.#cursorsDirty = true;
    this.#request();
  };

  // A new devicePixelRatio (zoom, another screen) needs sharper backing stores too.
  #watchDpr(): void {
    this.#dprQuery?.removeEventListener("change", this.#onDprChange);
    this.#dprQuery = matchMedia(`(resolution: ${globalThis.devicePixelRatio || 1}dppx)`);
    this.#dprQuery.addEventListener("change", this.#onDprChange);
  }

  #onDprChange = () => {
    this.#watchDpr();
    this.#fit();
  };

  #request(): void {
    if (this.#frameId === 0) this.#frameId = requestAnimationFrame(this.#frame);
  }

  #wanted(): PictureKey {
    return {
      camera: camera.peek(),
      visibility: store.visibilityEpoch.peek(),
      epoch: store.boardEpoch.peek(),
      width: this.committed.width,
      height: this.committed.height,
    };
  }

  /** Brings the group index up to the log; tiles where a drawn group grew go dirty. */
  #syncIndex(): void {
    const log = store.board.committed;
    if (store.boardEpoch.peek() !== this.#indexEpoch || log.length < this.#indexed) {
      this.#index = new GroupIndex();
      this.#indexed = 0;
      this.#indexEpoch = store.boardEpoch.peek();
    }
    for (let i = this.#indexed; i < log.length; i++) {
      const group = this.#index.add(log[i], i);
      const m = group.members.length;
      if (m === 1) continue; // a new group: it goes on top when its turn comes
      for (const pic of [this.#front, this.#back]) {
        if (pic.key === null || group.z >= pic.cursor) continue;
        // The new segment's block and the one before it (which ended with a line to its end).
        const changed = { ...group.blocks[Math.floor((m - 2) / BLOCK)] };
        extend(changed, group.blocks[group.blocks.length - 1]);
        this.#markDirty(pic, changed, group.z);
      }
    }
    this.#indexed = log.length;
  }

  /** Marks the tiles of `pic` that board rectangle `b` of group `z` reaches. */
  #markDirty(pic: Picture, b: Bounds, z: number): void {
    const reach = devicePixelsOf(b, pic.key!.camera, this.#dpr);
    for (const tile of tilesOf(pic.canvas.width, pic.canvas.height, reach)) {
      const from = Math.min(z, pic.dirty.get(tile.id)?.from ?? z);
      pic.dirty.set(tile.id, { tile, from });
    }
  }

  #source: StrokeSource = {
    strokeAt: (pos) => store.board.committed[pos],
    visible: (pos) => store.isCommittedVisible(pos),
  };

  /** Redraws dirty tiles, then adds the groups from `pic.cursor` on, until out of time. */
  #drawInto(pic: Picture, outOfTime: () => boolean, unchunked = false): void {
    const groups = this.#index.groups;
    const cam = pic.key!.camera;
    let budget = unchunked ? Infinity : this.#chunk;
    const wasDone = pic.done;
    let drew = false;
    for (const [id, { tile, from }] of pic.dirty) {
      if (budget <= 0 || (drew && outOfTime())) break;
      pic.dirty.delete(id);
      const { ctx, cursor } = pic;
      budget -= pic.bases.redraw(ctx, tile, from, groups, cursor, this.#source, cam, this.#dpr);
      changed(pic, tile);
      drew = true;
    }
    if (pic.dirty.size === 0 && pic.cursor < groups.length && budget > 0) {
      // New groups on top: as many as the budget allows, into every tile they reach.
      let to = pic.cursor;
      const reach = { ...groups[to] };
      for (; to < groups.length && budget > 0; to++) {
        extend(reach, groups[to]);
        budget -= groups[to].members.length;
      }
      const px = devicePixelsOf(reach, cam, this.#dpr);
      const { ctx, cursor } = pic;
      for (const tile of tilesOf(pic.canvas.width, pic.canvas.height, px)) {
        pic.bases.drawOnTop(ctx, tile, groups, cursor, to, this.#source, cam, this.#dpr, wasDone);
        changed(pic, tile);
      }
      pic.cursor = to;
    }
    pic.done = pic.dirty.size === 0 && pic.cursor >= groups.length;
  }

  #startRender(pic: Picture, key: PictureKey): void {
    pic.key = key;
    pic.changed = { minX: 0, minY: 0, maxX: pic.canvas.width, maxY: pic.canvas.height };
    pic.cursor = this.#index.groups.length;
    const tiles = tilesOf(pic.canvas.width, pic.canvas.height);
    pic.dirty = new Map(tiles.map((tile) => [tile.id, { tile, from: 0 }]));
    pic.bases.clear();
    pic.done = false;
    pic.ctx.setTransform(1, 0, 0, 1, 0, 0);
    pic.ctx.clearRect(0, 0, pic.canvas.width, pic.canvas.height);
  }

  /** The first log position a picture does not show yet. */
  #progress(pic: Picture): number {
    if (pic.dirty.size > 0) return 0;
    const groups = this.#index.groups;
    return pic.cursor < groups.length ? groups[pic.cursor].members[0] : this.#indexed;
  }

  #frame = (at: number) => {
    this.#frameId = 0;
    if (this.#busyFrameAt >= 0) this.#chunk = nextChunk(this.#chunk, at - this.#busyFrameAt);
    const start = performance.now();
    this.#syncIndex();
    const outOfTime = () => performance.now() - start > this.budgetMs;
    const wanted = this.#wanted();
    const front = this.#front;
    if (front.key === null) {
      // Nothing to show yet (first frame, resize): render the front picture directly.
      this.#startRender(front, wanted);
    }
    if (sameKey(front.key, wanted)) {
      // New commits, or the first render still going. While the page loads there is nothing
      // to keep smooth yet: the replay is drawn as it comes, in as few frames as it takes.
      const loading = at < this.#loadingUntil;
      const limit = loading ? () => performance.now() - start > LOADING_BUDGET_MS : outOfTime;
      this.#drawInto(front, limit, loading);
    } else if (at - this.#cameraMovedAt < SETTLE_MS) {
      // The camera is moving: the CSS transform follows it; rendering now would be thrown away.
    } else {
      if (!sameKey(this.#back.key, wanted)) this.#startRender(this.#back, wanted);
      this.#drawInto(this.#back, outOfTime);
      if (this.#back.done) {
        [this.#front, this.#back] = [this.#back, this.#front];
        this.#back.key = null;
        this.stats.renders++;
      }
    }
    this.#blit();
    if (this.#overlayDirty) {
      this.#overlayDirty = false;
      this.#paintOverlay();
    }
    if (this.#cursorsDirty && this.#kctx) {
      this.#cursorsDirty = false;
      this.#paintCursors(this.#kctx);
    }
    const current = sameKey(this.#front.key, wanted) && this.#front.done;
    this.stats.current = current;
    this.stats.drawnUpTo = current
      ? this.#indexed
      : Math.min(this.#progress(this.#front), this.#progress(this.#back));
    this.stats.lastFrameDrawMs = performance.now() - start;
    this.stats.frames++;
    this.#busyFrameAt = current ? -1 : at;
    if (!current) this.#request();
  };

  /**
   * The front picture through the current camera: copied to the committed layer where its
   * pixels changed (whole when it is another picture), and moved and scaled by a CSS
   * transform, which costs the compositor alone, while a pan or zoom waits for its fresh picture.
   */
  #blit(): void {
    const front = this.#front;
    const { width, height } = this.committed;
    const b = this.#shown !== front
      ? { minX: 0, minY: 0, maxX: width, maxY: height }
      : front.changed;
    if (b) {
      const [w, h] = [b.maxX - b.minX, b.maxY - b.minY];
      const ctx = this.#cctx;
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.clearRect(b.minX, b.minY, w, h);
      ctx.drawImage(front.canvas, b.minX, b.minY, w, h, b.minX, b.minY, w, h);
      this.#shown = front;
      front.changed = null;
    }
    const from = front.key!.camera;
    const to = camera.peek();
    const k = to.zoom / from.zoom;
    const origin = worldToScreen(to, { x: from.x, y: from.y });
    const transform = k === 1 && origin.x === 0 && origin.y === 0
      ? ""
      : `matrix(${k}, 0, 0, ${k}, ${origin.x}, ${origin.y})`;
    if (transform !== this.#shownTransform) {
      this.committed.style.transformOrigin = "0 0";
      this.committed.style.transform = transform;
      this.#shownTransform = transform;
    }
  }

  #paintOverlay(): void {
    const pending = store.pendingStrokes.peek();
    const live = store.livePaths.peek();
    const cam = camera.peek();
    const board = overlayInk(pending, live);
    const ink = board && devicePixelsOf(board, cam, this.#dpr);
    const stale = this.#overlayInk;
    if (!ink && !stale) return;
    const ctx = this.#octx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    if (stale) {
      const [x, y] = [Math.floor(stale.minX), Math.floor(stale.minY)];
      ctx.clearRect(x, y, Math.ceil(stale.maxX) - x, Math.ceil(stale.maxY) - y);
    }
    this.#overlayInk = ink;
    if (!ink) return;
    applyCamera(ctx, cam, this.#dpr);
    drawOverlay(ctx, pending, live);
  }

  /** Other users' cursors, on their own layer: they change often and are not ink. */
  #paintCursors(ctx: CanvasRenderingContext2D): void {
    // Alone on the board, the layer is cleared once and taken out: one full-screen layer less
    // to composite.
    const blank = peers.peek().size === 0;
    if (blank && ctx.canvas.hidden) return;
    ctx.canvas.hidden = blank;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
    ctx.setTransform(this.#dpr, 0, 0, this.#dpr, 0, 0);
    const now = performance.now();
    for (const p of peers.peek().values()) {
      drawCursor(ctx, p, camera.peek(), now);
      cursorPainted?.(p, now);
    }
  }
}

/** Board bounds of the overlay's ink (pending strokes and live paths), or null when none. */
function overlayInk(pending: readonly Stroke[], live: readonly LivePath[]): Box | null {
  let box: Box | null = null;
  const add = (b: Box) => box ? extend(box, b) : (box = b);
  for (const s of pending) add(inkBounds(s));
  // A smoothed path stays within the hull of its points.
  for (const { points, width } of live) {
    for (const { x, y } of points) {
      add({ minX: x - width / 2, minY: y - width / 2, maxX: x + width / 2, maxY: y + width / 2 });
    }
  }
  return box;
}

/** Another user's cursor: an arrow and a name tag in their colour, faint when idle. */
function drawCursor(ctx: CanvasRenderingContext2D, p: Peer, cam: Camera, now: number): void {
  const { x, y } = worldToScreen(cam, p);
  ctx.globalAlpha = now - p.atMs > IDLE_CURSOR_MS ? 0.35 : 1;
  ctx.fillStyle = p.color;
  ctx.beginPath();
  ctx.moveTo(x, y);
  ctx.lineTo(x, y + 16);
  ctx.lineTo(x + 4.5, y + 12);
  ctx.lineTo(x + 11, y + 12);
  ctx.closePath();
  ctx.fill();
  ctx.font = "12px system-ui, sans-serif";
  const w = ctx.measureText(p.name).width + 10;
  ctx.fillRect(x + 10, y + 14, w, 18);
  ctx.fillStyle = "#ffffff";
  ctx.fillText(p.name, x + 15, y + 27);
  ctx.globalAlpha = 1;
}
