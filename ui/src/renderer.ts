/**
 * Keeps the two stacked canvases in step with the store and the camera.
 *
 * The committed layer shows a cached picture (`front`, rendered for one
 * camera) blitted through the current camera, so a pan or zoom costs one
 * drawImage per frame however big the board is. When the camera, the
 * visibility or the size changed, a fresh picture is rendered off screen
 * (`back`), culled to the view and spread over frames within a time budget,
 * then swapped in: the page never freezes and never shows a half-drawn board.
 * New commits are drawn straight onto the front picture when it is current.
 * The overlay is repainted with own pending strokes and live paths, the
 * cursor layer with the other users' cursors; both are few.
 */
import { effect } from "@preact/signals";
import type { Stroke } from "../../protocol/mod.ts";
import { type Camera, camera, viewport, visibleBounds, worldToScreen } from "./camera.ts";
import { drawOverlay, strokeSegment } from "./draw.ts";
import { applyCamera } from "./scene.ts";
import * as store from "./store.ts";
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

/** True when stroke `s` (with its width) may show inside `b`: the cull test. */
export function touches(
  s: Stroke,
  b: { minX: number; minY: number; maxX: number; maxY: number },
): boolean {
  const r = s.width / 2;
  return Math.max(s.x0, s.x1) + r >= b.minX && Math.min(s.x0, s.x1) - r <= b.maxX &&
    Math.max(s.y0, s.y1) + r >= b.minY && Math.min(s.y0, s.y1) - r <= b.maxY;
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
  /** Bumped whenever its pixels change, so the screen copies it only then. */
  version: number;
  /** Next committed position to draw; the render is done when it reaches the log's length. */
  next: number;
  done: boolean;
}

function newPicture(): Picture {
  const canvas = document.createElement("canvas");
  return { canvas, ctx: canvas.getContext("2d")!, key: null, version: 0, next: 0, done: false };
}

class LayerRenderer implements Renderer {
  stats: RenderStats = { drawnUpTo: 0, lastFrameDrawMs: 0, frames: 0, renders: 0, current: false };
  #cctx: CanvasRenderingContext2D;
  #octx: CanvasRenderingContext2D;
  #kctx: CanvasRenderingContext2D | null;
  #dpr = 1;
  #front = newPicture();
  #back = newPicture();
  #frameId = 0;
  readonly #loadingUntil = performance.now() + LOADING_MS;
  #lastCamera: Camera | null = null;
  #cameraMovedAt = -Infinity;
  /** Which picture, in which version, the committed layer holds. */
  #shown: { pic: Picture | null; version: number } = { pic: null, version: -1 };
  #shownTransform = "";
  #overlayDirty = true;
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

  /** Draws committed strokes `pic.next..` that are visible and in view, until out of time. */
  #drawInto(pic: Picture, outOfTime: () => boolean, unchunked = false): void {
    const log = store.board.committed;
    const from = pic.next;
    const view = visibleBounds(pic.key!.camera, viewport.peek());
    const end = unchunked ? log.length : Math.min(log.length, pic.next + this.#chunk);
    let i = pic.next;
    while (i < end) {
      const stop = Math.min(end, i + 128);
      for (; i < stop; i++) {
        const s = log[i];
        if (store.isCommittedVisible(i) && touches(s, view)) strokeSegment(pic.ctx, s);
      }
      if (outOfTime()) break;
    }
    pic.next = i;
    pic.done = i >= log.length;
    if (i > from) pic.version++;
  }

  #startRender(pic: Picture, key: PictureKey): void {
    pic.key = key;
    pic.version++;
    pic.next = 0;
    pic.done = false;
    pic.ctx.setTransform(1, 0, 0, 1, 0, 0);
    pic.ctx.clearRect(0, 0, pic.canvas.width, pic.canvas.height);
    applyCamera(pic.ctx, key.camera, this.#dpr);
  }

  #frame = (at: number) => {
    this.#frameId = 0;
    if (this.#busyFrameAt >= 0) this.#chunk = nextChunk(this.#chunk, at - this.#busyFrameAt);
    const start = performance.now();
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
    this.stats.drawnUpTo = current ? this.#front.next : Math.min(this.#front.next, this.#back.next);
    this.stats.lastFrameDrawMs = performance.now() - start;
    this.stats.frames++;
    this.#busyFrameAt = current ? -1 : at;
    if (!current) this.#request();
  };

  /**
   * The front picture through the current camera: copied to the committed layer only when its
   * pixels changed, and moved and scaled by a CSS transform, which costs the compositor alone,
   * while a pan or zoom waits for its fresh picture.
   */
  #blit(): void {
    const front = this.#front;
    if (this.#shown.pic !== front || this.#shown.version !== front.version) {
      const ctx = this.#cctx;
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.clearRect(0, 0, this.committed.width, this.committed.height);
      ctx.drawImage(front.canvas, 0, 0);
      this.#shown = { pic: front, version: front.version };
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
    const ctx = this.#octx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.overlay.width, this.overlay.height);
    const cam = camera.peek();
    applyCamera(ctx, cam, this.#dpr);
    drawOverlay(ctx, store.pendingStrokes.peek(), store.livePaths.peek());
  }

  /** Other users' cursors, on their own layer: they change often and are not ink. */
  #paintCursors(ctx: CanvasRenderingContext2D): void {
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
