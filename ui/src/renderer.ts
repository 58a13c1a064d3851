/**
 * Keeps two stacked canvases in step with the store: the committed layer gets
 * only the newly committed segments each frame (a full redraw only after a
 * resize or reset, spread over frames in chunks sized to keep frames short, so
 * a 100k-segment board never freezes the page), the overlay is repainted with
 * pending strokes and live paths, which are few.
 */
import { effect } from "@preact/signals";
import { drawOverlay, drawSegments, resetLayer } from "./draw.ts";
import * as store from "./store.ts";

/** Drawing time per frame for catching up on the committed layer. */
const FRAME_BUDGET_MS = 8;
/** Bounds of the segments drawn per frame while catching up. */
const MIN_CHUNK = 250;
const MAX_CHUNK = 50_000;

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
  /** Committed segments on the layer so far. */
  drawnUpTo: number;
  /** Milliseconds spent drawing in the last frame (both layers). */
  lastFrameDrawMs: number;
  frames: number;
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
  budgetMs = FRAME_BUDGET_MS,
): Renderer {
  return new LayerRenderer(committed, overlay, budgetMs);
}

class LayerRenderer implements Renderer {
  stats: RenderStats = { drawnUpTo: 0, lastFrameDrawMs: 0, frames: 0 };
  #cctx: CanvasRenderingContext2D;
  #octx: CanvasRenderingContext2D;
  #dpr = 1;
  #epoch = -1;
  #frameId = 0;
  #overlayDirty = true;
  #chunk = 1000;
  /** Time of the last frame if it left catching up to do, else -1. */
  #catchUpFrameAt = -1;
  #dprQuery: MediaQueryList | null = null;
  #stopEffects: (() => void)[];

  constructor(
    readonly committed: HTMLCanvasElement,
    readonly overlay: HTMLCanvasElement,
    readonly budgetMs: number,
  ) {
    this.#cctx = committed.getContext("2d")!;
    this.#octx = overlay.getContext("2d")!;
    this.#stopEffects = [
      effect(() => {
        store.committedCount.value;
        store.boardEpoch.value;
        this.#request();
      }),
      effect(() => {
        store.pendingStrokes.value;
        store.livePaths.value;
        this.#overlayDirty = true;
        this.#request();
      }),
    ];
    globalThis.addEventListener("resize", this.#fit);
    this.#watchDpr();
    this.#fit();
  }

  stop(): void {
    for (const stop of this.#stopEffects) stop();
    globalThis.removeEventListener("resize", this.#fit);
    this.#dprQuery?.removeEventListener("change", this.#onDprChange);
    if (this.#frameId !== 0) cancelAnimationFrame(this.#frameId);
  }

  /** Sizes the backing stores to CSS size times devicePixelRatio; this wipes both layers. */
  #fit = () => {
    this.#dpr = globalThis.devicePixelRatio || 1;
    for (const c of [this.committed, this.overlay]) {
      c.width = Math.max(1, Math.round(c.clientWidth * this.#dpr));
      c.height = Math.max(1, Math.round(c.clientHeight * this.#dpr));
    }
    this.stats.drawnUpTo = -1;
    this.#overlayDirty = true;
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

  #frame = (at: number) => {
    this.#frameId = 0;
    if (this.#catchUpFrameAt >= 0) this.#chunk = nextChunk(this.#chunk, at - this.#catchUpFrameAt);
    const start = performance.now();
    const stats = this.stats;
    if (stats.drawnUpTo < 0 || this.#epoch !== store.boardEpoch.peek()) {
      this.#epoch = store.boardEpoch.peek();
      resetLayer(this.#cctx, this.committed.width, this.committed.height, this.#dpr);
      stats.drawnUpTo = 0;
    }
    const log = store.board.committed;
    const outOfTime = () => performance.now() - start > this.budgetMs;
    stats.drawnUpTo = drawSegments(
      this.#cctx,
      log,
      stats.drawnUpTo,
      stats.drawnUpTo + this.#chunk,
      outOfTime,
    );
    if (this.#overlayDirty) {
      this.#overlayDirty = false;
      resetLayer(this.#octx, this.overlay.width, this.overlay.height, this.#dpr);
      drawOverlay(this.#octx, store.pendingStrokes.peek(), store.livePaths.peek());
    }
    stats.lastFrameDrawMs = performance.now() - start;
    stats.frames++;
    this.#catchUpFrameAt = stats.drawnUpTo < log.length ? at : -1;
    if (this.#catchUpFrameAt >= 0) this.#request();
  };
}
