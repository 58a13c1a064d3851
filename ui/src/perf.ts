/**
 * Perf harness page (/perf.html?n=100000): feeds synthetic committed segments
 * through the real store and renderer, then reports timings on the page and
 * in `window.__perf`. Figures are printed, never asserted: machines differ.
 */
import type { CommittedStroke } from "../../protocol/mod.ts";
import { camera, HOME, panBy, zoomAt } from "./camera.ts";
import { startRenderer } from "./renderer.ts";
import { drawStrokes } from "./scene.ts";
import * as store from "./store.ts";

/** Deterministic PRNG (mulberry32) so every run draws the same board. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random-walk paths of 20-80 segments each, like hands drawing. */
function synthesize(n: number, w: number, h: number, first = 1): CommittedStroke[] {
  const rnd = prng(n + first);
  const out: CommittedStroke[] = [];
  let x = 0, y = 0, heading = 0, left = 0, color = "", width = 0, group = "";
  for (let i = 0; i < n; i++) {
    if (left-- <= 0) {
      [x, y, heading, left] = [rnd() * w, rnd() * h, rnd() * 6.3, 20 + rnd() * 60];
      color = store.PALETTE[Math.floor(rnd() * 7)];
      width = store.WIDTHS[Math.floor(rnd() * store.WIDTHS.length)];
      group = `perf:g${first + i}`;
    }
    heading += (rnd() - 0.5) * 0.6;
    const nx = Math.min(w, Math.max(0, x + Math.cos(heading) * 6));
    const ny = Math.min(h, Math.max(0, y + Math.sin(heading) * 6));
    const stroke = { id: `perf:${first + i}`, x0: x, y0: y, x1: nx, y1: ny, color, width, group };
    out.push({ index: first + i, stroke });
    [x, y] = [nx, ny];
  }
  return out;
}

const nextFrame = () => new Promise<number>((r) => requestAnimationFrame(r));

/** A frame interval this long missed at least one 60 Hz vsync. */
const LATE_MS = 25;

function summary(
  xs: number[],
): { median: number; p95: number; max: number; n: number; late: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => +(s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0).toFixed(2);
  const late = xs.filter((x) => x > LATE_MS).length;
  return { median: at(0.5), p95: at(0.95), max: at(1), n: s.length, late };
}

async function run(n: number) {
  const committed = document.getElementById("committed") as HTMLCanvasElement;
  const overlay = document.getElementById("overlay") as HTMLCanvasElement;
  const cursors = document.getElementById("cursors") as HTMLCanvasElement;
  const renderer = startRenderer(committed, overlay, cursors);
  const board = synthesize(n, committed.clientWidth, committed.clientHeight);

  // 1. Replay as the gateway sends it: batches of 1000, drawn over frames within the budget.
  let t = performance.now();
  for (let i = 0; i < n; i += 1000) store.receiveCommitted(board.slice(i, i + 1000));
  const ingestMs = performance.now() - t;
  const catchUp: number[] = [];
  const catchUpDraw: number[] = [];
  const replayStart = performance.now();
  // Intervals between frame timestamps; the first frame has no predecessor on that clock.
  let lastFrame = -1;
  while (renderer.stats.drawnUpTo < n) {
    const now = await nextFrame();
    if (lastFrame >= 0) catchUp.push(now - lastFrame);
    catchUpDraw.push(renderer.stats.lastFrameDrawMs);
    lastFrame = now;
  }
  const replayMs = performance.now() - replayStart;

  // 2. A full redraw in one go (what a resize costs without the frame budget), raster included;
  // the first paint must equal it pixel for pixel.
  const fullMs: number[] = [];
  const ctx = committed.getContext("2d")!;
  const firstPaint = ctx.getImageData(0, 0, committed.width, committed.height).data;
  for (let k = 0; k < 3; k++) {
    t = performance.now();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, committed.width, committed.height);
    drawStrokes(ctx, store.board.committed, camera.peek(), globalThis.devicePixelRatio || 1);
    ctx.getImageData(0, 0, 1, 1); // forces the deferred raster to happen now
    fullMs.push(performance.now() - t);
  }
  const full = new Uint32Array(
    ctx.getImageData(0, 0, committed.width, committed.height).data.buffer,
  );
  const painted = new Uint32Array(firstPaint.buffer);
  let firstPaintPixelsOff = 0;
  for (let i = 0; i < full.length; i++) if (full[i] !== painted[i]) firstPaintPixelsOff++;

  // 3. Drawing on the full board: 5 new commits per frame plus a live path, for 240 frames.
  const live = synthesize(240 * 5, committed.clientWidth, committed.clientHeight, n + 1);
  const liveFrames: number[] = [];
  const liveDraw: number[] = [];
  t = await nextFrame();
  for (let f = 0; f < 240; f++) {
    store.receiveCommitted(live.slice(f * 5, f * 5 + 5));
    const pts = live.slice(f * 5, f * 5 + 5).map((e) => ({ x: e.stroke.x1, y: e.stroke.y1 }));
    store.livePaths.value = [{ points: pts, color: "#e63946", width: 4 }];
    const now = await nextFrame();
    liveFrames.push(now - t);
    liveDraw.push(renderer.stats.lastFrameDrawMs);
    t = now;
  }
  // 4. Panning, then zooming, one camera step per frame for 120 frames each (what a drag or a
  // wheel does), and how long after each gesture the fresh picture is in.
  const gesture = async (step: () => void) => {
    const frames: number[] = [];
    t = await nextFrame();
    for (let f = 0; f < 120; f++) {
      step();
      const now = await nextFrame();
      frames.push(now - t);
      t = now;
    }
    const settleStart = performance.now();
    while (!renderer.stats.current) await nextFrame();
    return {
      frameIntervalMs: summary(frames),
      settledMs: +(performance.now() - settleStart).toFixed(1),
    };
  };
  store.livePaths.value = []; // the pen is up before a pan starts
  const pan = await gesture(() => (camera.value = panBy(camera.peek(), { x: -4, y: -2 })));
  const centre = { x: committed.clientWidth / 2, y: committed.clientHeight / 2 };
  const zoom = await gesture(() => (camera.value = zoomAt(camera.peek(), centre, 1.01)));
  camera.value = HOME;
  renderer.stop();
  return {
    boardSegments: n,
    canvasPx: `${committed.width}x${committed.height}`,
    ingestMs: +ingestMs.toFixed(1),
    // From the first batch received to the frame that shows the whole board.
    firstPaintMs: +(ingestMs + replayMs).toFixed(1),
    firstPaintPixelsOff,
    replay: {
      totalMs: +replayMs.toFixed(1),
      frameIntervalMs: summary(catchUp),
      drawMs: summary(catchUpDraw),
    },
    fullRedrawMs: summary(fullMs),
    liveOnFullBoard: { frameIntervalMs: summary(liveFrames), drawMs: summary(liveDraw) },
    pan,
    zoom,
  };
}

const n = Number(new URL(location.href).searchParams.get("n") ?? 100_000);
const result = await run(n);
(globalThis as unknown as { __perf: unknown }).__perf = result;
document.getElementById("out")!.textContent = JSON.stringify(result, null, 2);
