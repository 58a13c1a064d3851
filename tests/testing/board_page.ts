/**
 * The drawing page as an end-to-end test drives it: a page in its own browser
 * context, mouse paths, the committed layer's digest, and a record of the
 * stroke and ack frames on the page's WebSocket (watched from outside, so the
 * page under test is unchanged).
 */
import type { Browser, Page } from "playwright-core";
import type { CommittedStroke as Entry, Stroke } from "../../protocol/mod.ts";
import type { BoardProbe } from "../../ui/src/test_hooks.ts";

declare global {
  // The page's read-only test hook (ui/src/test_hooks.ts); callbacks that read it run in the page.
  var __board: BoardProbe;
}

/** A point in CSS pixels of the page. */
export type Pt = { x: number; y: number };

/** What one page sent and got acked, with the test process's clock (performance.now()). */
export interface StrokeTrace {
  /** First send of each stroke id. */
  sent: Map<string, { stroke: Stroke; atMs: number }>;
  /** Stroke frames sent, resends included. */
  sendCount: number;
  /** First ack of each id. */
  acks: Map<string, { index: number; atMs: number }>;
  /** Indexes of the committed entries the gateway streamed to the page, in arrival order. */
  streamed: number[];
  /** Acks that named another index than an earlier ack of the same id. */
  conflictingAcks: string[];
  /** WebSocket connections the page opened. */
  sockets: number;
  /** Called once at the next stroke frame sent (see `nextSend`). */
  onSend: (() => void)[];
}

/** A board page and the trace of its socket. */
export interface BoardPage {
  page: Page;
  trace: StrokeTrace;
}

function recordFrames(page: Page): StrokeTrace {
  const trace: StrokeTrace = {
    sent: new Map(),
    sendCount: 0,
    acks: new Map(),
    streamed: [],
    conflictingAcks: [],
    sockets: 0,
    onSend: [],
  };
  page.on("websocket", (ws) => {
    trace.sockets++;
    ws.on("framesent", ({ payload }) => {
      const msg = JSON.parse(String(payload));
      if (msg.type !== "stroke") return;
      trace.sendCount++;
      const id = msg.stroke.id;
      if (!trace.sent.has(id)) trace.sent.set(id, { stroke: msg.stroke, atMs: performance.now() });
      for (const f of trace.onSend.splice(0)) f();
    });
    ws.on("framereceived", ({ payload }) => {
      const msg = JSON.parse(String(payload));
      if (msg.type === "strokes") trace.streamed.push(...msg.entries.map((e: Entry) => e.index));
      if (msg.type !== "ack") return;
      const first = trace.acks.get(msg.id);
      if (!first) trace.acks.set(msg.id, { index: msg.index, atMs: performance.now() });
      else if (first.index !== msg.index) trace.conflictingAcks.push(msg.id);
    });
  });
  return trace;
}

/** Resolves as soon as the page sends its next stroke frame. */
export function nextSend(trace: StrokeTrace): Promise<void> {
  return new Promise((resolve) => trace.onSend.push(resolve));
}

/**
 * Opens the page in its own browser context, like another user, and waits until it is connected.
 * (Tabs of one context share a window, and a background tab gets input only at its throttled
 * frame rate.)
 */
export async function openBoard(browser: Browser, url: string): Promise<BoardPage> {
  const ctx = await browser.newContext({ viewport: { width: 900, height: 600 } });
  const page = await ctx.newPage();
  const trace = recordFrames(page);
  await page.goto(url);
  // The hook may not exist yet: the page script waits for /config.json.
  await page.waitForFunction(() => globalThis.__board?.connected, undefined, { timeout: 10_000 });
  return { page, trace };
}

/** Presses the mouse at the first point, moves through the rest, releases. */
export async function drawPath(page: Page, pts: Pt[]): Promise<void> {
  await page.mouse.move(pts[0].x, pts[0].y);
  await page.mouse.down();
  for (const p of pts.slice(1)) await page.mouse.move(p.x, p.y, { steps: 2 });
  await page.mouse.up();
}

/** A snapshot of `window.__board`. */
export function probe(page: Page): Promise<BoardProbe> {
  return page.evaluate(() => ({ ...__board }));
}

/** SHA-256 and inked pixels of the committed layer, inked pixels of the pending overlay, backing-store size. */
export function layers(
  page: Page,
): Promise<{ digest: string; ink: number; overlayInk: number; size: number[] }> {
  return page.evaluate(async () => {
    const read = (id: string) => {
      const c = document.querySelector(`[data-testid="${id}"]`) as HTMLCanvasElement;
      const data = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
      let ink = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) ink++;
      return { c, data, ink };
    };
    const committed = read("board-canvas");
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", committed.data));
    return {
      digest: Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join(""),
      ink: committed.ink,
      size: [committed.c.width, committed.c.height, committed.c.clientWidth, devicePixelRatio],
      overlayInk: read("board-overlay").ink,
    };
  });
}
