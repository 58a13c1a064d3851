/**
 * The drawing page as an end-to-end test drives it: a page in its own browser
 * context, mouse paths, the committed layer's digest, and a record of the
 * stroke and ack frames on the page's WebSocket (watched from outside, so the
 * page under test is unchanged).
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import type { CommittedStroke as Entry, Stroke } from "../../protocol/mod.ts";
import type { BoardProbe, BoardTestActions } from "../../ui/src/test_hooks.ts";
import { freePorts, LocalCluster, startGateway, waitForHttp } from "./local_cluster.ts";
import type { Proc } from "./supervisor.ts";
import { buildUi, launchChromium, startUiServer } from "./ui_processes.ts";

declare global {
  // The page's test hooks (ui/src/test_hooks.ts); callbacks that read them run in the page.
  var __board: BoardProbe;
  var __boardActions: BoardTestActions;
}

/** A point in CSS pixels of the page. */
export type Pt = { x: number; y: number };

/** What one page sent and got acked, with the test process's clock (performance.now()). */
export interface StrokeTrace {
  /** First send of each stroke id. */
  sent: Map<string, { stroke: Stroke; atMs: number }>;
  /** Stroke frames sent, resends included. */
  sendCount: number;
  /** Erase, restore and clear frames sent, resends included. */
  opsSent: number;
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
    opsSent: 0,
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
      if (msg.type === "erase" || msg.type === "restore" || msg.type === "clear") trace.opsSent++;
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
  return await openTab(await newUser(browser), url);
}

/** A browser context of its own: another user (own localStorage, IndexedDB, undo history). */
export function newUser(browser: Browser): Promise<BrowserContext> {
  return browser.newContext({ viewport: { width: 900, height: 600 } });
}

/** Opens another tab of the user `ctx` and waits until it is connected. */
export async function openTab(ctx: BrowserContext, url: string): Promise<BoardPage> {
  const page = await ctx.newPage();
  const trace = recordFrames(page);
  await page.goto(url);
  // The hook may not exist yet: the page script waits for /config.json.
  await page.waitForFunction(() => globalThis.__board?.connected, undefined, { timeout: 20_000 });
  return { page, trace };
}

/** Waits until `cond(arg)`, run in the page, is true (generous timeout: the machine is loaded). */
export async function waitIn<A extends string | number | null>(
  page: Page,
  cond: (arg: A) => boolean,
  arg: A,
  timeoutMs = 30_000,
): Promise<void> {
  // (Playwright's own typing of the argument does not unify with a generic one.)
  const fn = cond as (arg: unknown) => boolean;
  await page.waitForFunction(fn, arg as unknown, { timeout: timeoutMs, polling: 50 });
}

/** Replicas, a gateway (restartable on its port), the UI server and Chromium. */
export interface BoardStack {
  cluster: LocalCluster;
  gatewayPort: number;
  uiUrl: string;
  browser: Browser;
  /** SIGKILLs the gateway: every page loses its socket. */
  killGateway(): Promise<void>;
  /** Starts the gateway again on the same port and waits until it answers. */
  startGateway(): Promise<void>;
  /** Ends everything and removes the data. */
  stop(): Promise<void>;
}

/** Builds the bundle and starts the real stack for a board test. */
export async function startBoardStack(prefix: string): Promise<BoardStack> {
  await buildUi();
  const dir = await Deno.makeTempDir({ prefix });
  const cluster = new LocalCluster({ dir });
  const undo: (() => Promise<unknown>)[] = [() => Deno.remove(dir, { recursive: true })];
  const stop = async () => {
    for (const f of undo.reverse()) await f().catch((e) => console.error("cleanup:", e));
  };
  try {
    undo.push(() => cluster.stop());
    await cluster.start();
    const [gatewayPort] = freePorts(1);
    let gateway: Proc | null = null;
    const start = async () => {
      gateway = startGateway(gatewayPort, cluster.urls());
      await waitForHttp(`http://127.0.0.1:${gatewayPort}/healthz`, 30_000);
    };
    const kill = async () => {
      await gateway?.kill();
      gateway = null;
    };
    undo.push(kill);
    await start();
    const ui = await startUiServer({ GATEWAY_URL: `ws://127.0.0.1:${gatewayPort}/ws` });
    undo.push(() => ui.stop());
    const browser = await launchChromium();
    undo.push(() => browser.close());
    return {
      cluster,
      gatewayPort,
      uiUrl: ui.url,
      browser,
      killGateway: kill,
      startGateway: start,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** A short zigzag of 7 segments starting at (x, y): one group, drawn with `drawPath`. */
export function zigzag(x: number, y: number): Pt[] {
  return Array.from({ length: 8 }, (_, k) => ({ x: x + k * 30, y: y + (k % 2 ? 12 : -12) }));
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
export async function layers(
  page: Page,
): Promise<{ digest: string; ink: number; overlayInk: number; size: number[] }> {
  // A change shows in the next frame: read the pixels once none is due.
  await page.waitForFunction(() => __board.rendered, undefined, { timeout: 30_000, polling: 20 });
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
