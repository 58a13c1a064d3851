/**
 * Cursor latency between two users on one board: page A (Ada) moves the
 * mouse across the board, page B (Bob) records when it paints each of Ada's
 * positions (`__board.cursorPaints`). Both pages run in one browser, so
 * `performance.timeOrigin + now()` is one clock for both; a move's latency is
 * from its pointer event on A (`timeOrigin + event.timeStamp`) to B's paint
 * of that position. Used by ui/cursor_bench.ts (figures) and the e2e test
 * (a generous bound).
 */
import type { Page } from "playwright-core";
import { type BoardStack, newUser, openTab, waitIn } from "./board_page.ts";

/** What one run measured; times in ms. */
export interface CursorLatency {
  /** Moves made. */
  moves: number;
  /**
   * Pointer events page A got: Chromium aligns mouse moves to frames, so two moves within one
   * stalled frame of A's come as one event (rare at these gaps); a move without one counts as
   * not drawn.
   */
  events: number;
  /** Positions B painted; the rest were painted over by a newer one before a frame showed them. */
  drawn: number;
  /** The last position was painted (the cursor ends where the pointer stopped). */
  lastDrawn: boolean;
  /** Below zero would mean the clocks disagree: a sanity check. */
  min: number;
  p50: number;
  p95: number;
  max: number;
  /** Clock offset of page B against page A, as far as Date.now() (1 ms steps) can tell. */
  clockSkew: number;
}

/** Most moves one run makes: `pathPoint` keeps them distinct and on the board up to here. */
export const MAX_MOVES = 3000;

/**
 * The i-th pointer position: rows of 60 zigzagging points within a 900 × 600 page. Whole CSS
 * pixels at the home view make board positions exact, so paints match moves by value.
 */
function pathPoint(i: number): { x: number; y: number } {
  return { x: 120 + (i % 60) * 11, y: 120 + Math.floor(i / 60) * 7 + (i % 2) * 15 };
}

/** The `q` quantile (0..1) of `xs` by nearest rank; NaN when empty. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1))];
}

declare global {
  /** Ada's pointer moves, recorded by `recordMoves` in page A. */
  var __moves: { x: number; y: number; atMs: number }[];
}

/** Makes page A record each pointermove on the board: board position and event time. */
function recordMoves(): void {
  globalThis.__moves = [];
  const overlay = document.querySelector('[data-testid="board-overlay"]') as HTMLElement;
  overlay.addEventListener("pointermove", (e) => {
    const r = overlay.getBoundingClientRect();
    const cam = __board.camera; // as the canvas maps it (camera.ts screenToWorld)
    __moves.push({
      x: (e.clientX - r.left) / cam.zoom + cam.x,
      y: (e.clientY - r.top) / cam.zoom + cam.y,
      atMs: performance.timeOrigin + e.timeStamp,
    });
  });
}

/**
 * Moves Ada's pointer `moves` times, `gapMs` apart (above the 50 ms cursor throttle, so
 * every move is sent at once), and matches B's paints to A's moves.
 */
export async function measureCursorLatency(
  stack: BoardStack,
  moves = 50,
  gapMs = 70,
): Promise<CursorLatency> {
  const url = `${stack.uiUrl}/?board=cursors-${Date.now().toString(36)}`;
  const a = (await openTab(await newUser(stack.browser), `${url}&name=Ada`)).page;
  const b = (await openTab(await newUser(stack.browser), `${url}&name=Bob`)).page;
  try {
    // A peer shows once its cursor has: one move first, not timed.
    await a.mouse.move(100, 200);
    await waitIn(b, () => __board.peerNames.includes("Ada"), null);
    await a.evaluate(recordMoves);
    await b.evaluate(() => __boardActions.recordCursorPaints());
    const path = Array.from({ length: moves }, (_, i) => pathPoint(i));
    for (const p of path) {
      await a.mouse.move(p.x, p.y);
      await new Promise((r) => setTimeout(r, gapMs));
    }
    const last = path.at(-1)!;
    // A last position never painted is reported (lastDrawn), not thrown.
    await waitIn(
      b,
      (at) => __board.cursorPaints.some((c) => `${c.x},${c.y}` === at),
      `${last.x},${last.y}`,
    )
      .catch(() => {});
    const sent = await a.evaluate(() => __moves);
    const painted = (await b.evaluate(() => __board.cursorPaints)).filter((c) => c.name === "Ada");
    const latencies: number[] = [];
    for (const m of sent) {
      const p = painted.find((c) => c.x === m.x && c.y === m.y); // positions are all distinct
      if (p) latencies.push(p.atMs - m.atMs);
    }
    const lastM = sent.at(-1);
    return {
      moves: path.length,
      events: sent.length,
      drawn: latencies.length,
      lastDrawn: !!lastM && painted.some((c) => c.x === lastM.x && c.y === lastM.y),
      min: quantile(latencies, 0),
      p50: quantile(latencies, 0.5),
      p95: quantile(latencies, 0.95),
      max: latencies.length ? Math.max(...latencies) : NaN,
      clockSkew: await skew(a, b),
    };
  } finally {
    await a.context().close();
    await b.context().close();
  }
}

/** B's `timeOrigin + now()` minus A's, each against Date.now() (median of a few reads). */
async function skew(a: Page, b: Page): Promise<number> {
  const offset = (p: Page) =>
    p.evaluate(() => {
      const xs = Array.from({ length: 9 }, () =>
        performance.timeOrigin + performance.now() - Date.now());
      return xs.sort((x, y) =>
        x - y
      )[4];
    });
  return (await offset(b)) - (await offset(a));
}
