/**
 * The drawing page in real Chromium against a fake gateway: two pages draw
 * with the mouse, a third opens afterwards, and all three must show the same
 * committed pixels. Then the fake holds strokes back and restarts (a failover
 * as the page sees it): pending strokes are shown, resent once, and the
 * pictures still agree. Screenshots: /tmp/ui.png and /tmp/ui_pending.png.
 */
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { startFakeGateway } from "../testing/fake_gateway.ts";
import { buildUi, launchChromium, startUiServer } from "../testing/ui_processes.ts";
import type { BoardProbe } from "../../ui/src/test_hooks.ts";
import { drawPath, layers, type Pt } from "../testing/board_page.ts";
const RED = [0xe6, 0x39, 0x46];

/** A wavy line from (x, y) going right: a curve the segmenter must follow. */
function wave(x: number, y: number, length: number, amplitude: number): Pt[] {
  return Array.from({ length: 25 }, (_, i) => ({
    x: x + (i / 24) * length,
    y: y + amplitude * Math.sin((i / 24) * 2 * Math.PI),
  }));
}

/**
 * A page in its own browser context, like another user. (Tabs of one context
 * share a window, and a background tab gets input only at its throttled frame rate.)
 */
async function openBoard(browser: Browser, url: string): Promise<Page> {
  const ctx = await browser.newContext({
    viewport: { width: 900, height: 600 },
    deviceScaleFactor: 2,
    hasTouch: true,
  });
  const page = await ctx.newPage();
  await page.goto(url);
  // The hook may not exist yet: the page script waits for /config.json.
  await page.waitForFunction(() => globalThis.__board?.connected, undefined, { timeout: 10_000 });
  return page;
}

declare global {
  // The page's read-only test hook (ui/src/test_hooks.ts); these callbacks run in the page.
  var __board: BoardProbe;
}

const board = (page: Page) => page.evaluate(() => ({ ...__board }));

/** Waits until the page has exactly `n` committed strokes and nothing pending. */
async function settle(page: Page, n: number): Promise<void> {
  await page.waitForFunction(
    (n) => __board.committedCount === n && __board.pendingCount === 0 && __board.rendered,
    n,
    { timeout: 15_000 },
  );
}

/** RGBA of the committed layer under a CSS-pixel point. */
function pixelAt(page: Page, p: Pt) {
  return page.evaluate(({ x, y }) => {
    const c = document.querySelector('[data-testid="board-canvas"]') as HTMLCanvasElement;
    const d = devicePixelRatio;
    return [...c.getContext("2d")!.getImageData(Math.round(x * d), Math.round(y * d), 1, 1).data];
  }, p);
}

async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const statusText = (page: Page) => page.locator('[data-testid="status"]').innerText();

Deno.test({
  name: "ui smoke: pages agree on the committed picture, also across a failover",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  await buildUi();
  const gw = startFakeGateway();
  const ui = await startUiServer({ GATEWAY_URL: gw.url });
  const browser = await launchChromium();
  try {
    const a = await openBoard(browser, ui.url);
    const b = await openBoard(browser, ui.url);
    const redPath = wave(80, 150, 300, 40);

    await t.step("two pages draw and converge on one picture", async () => {
      await a.getByTestId("color-e63946").click();
      await b.getByTestId("color-457b9d").click();
      await b.getByTestId("width-16").click();
      await Promise.all([drawPath(a, redPath), drawPath(b, wave(420, 350, 350, 60))]);
      await a.mouse.click(600, 120); // a tap is a dot
      await a.waitForFunction(() => __board.pendingCount === 0, undefined, { timeout: 15_000 });
      const n = gw.log.length;
      assert.ok(n >= 8, `only ${n} segments committed`);
      assert.ok(gw.log.length < 150, `${n} segments: pointer moves were not coalesced`);
      await settle(a, n);
      await settle(b, n);
      const [la, lb] = [await layers(a), await layers(b)];
      assert.deepEqual(la.size, [1800, 1200, 900, 2], "backing store follows devicePixelRatio");
      assert.ok(la.ink > 5000, `committed layer nearly blank (${la.ink} inked pixels)`);
      assert.equal(la.overlayInk, 0, "pending overlay is empty once all is committed");
      assert.equal(la.digest, lb.digest, "both pages show the same committed pixels");
      for (const p of [redPath[0], redPath[6], redPath[24], { x: 600, y: 120 }]) {
        const px = await pixelAt(a, p);
        assert.deepEqual(px.slice(0, 3), RED, `no red ink at ${JSON.stringify(p)}: ${px}`);
      }
      const status = await statusText(a);
      assert.match(status, /connected/);
      assert.match(status, /leader replica1 · term 3/);
      assert.match(status, new RegExp(`${n} committed`));
      await a.screenshot({ path: "/tmp/ui.png" });
    });

    await t.step("a page opened afterwards replays the same picture", async () => {
      const c = await openBoard(browser, ui.url);
      await settle(c, gw.log.length);
      assert.equal((await layers(c)).digest, (await layers(a)).digest);
      await c.context().close();
    });

    await t.step("touch and pen draw too", async () => {
      const cdp = await a.context().newCDPSession(a);
      const line = (y: number, x0: number) =>
        Array.from({ length: 16 }, (_, i) => ({ x: x0 + i * 20, y }));
      const touchLine = line(540, 100);
      const touch = (type: "touchStart" | "touchMove" | "touchEnd", p?: Pt) =>
        cdp.send("Input.dispatchTouchEvent", { type, touchPoints: p ? [p] : [] });
      await touch("touchStart", touchLine[0]);
      for (const p of touchLine.slice(1)) await touch("touchMove", p);
      await touch("touchEnd");
      const penLine = line(570, 500);
      const pen = (type: "mousePressed" | "mouseMoved" | "mouseReleased", p: Pt) =>
        cdp.send("Input.dispatchMouseEvent", {
          type,
          ...p,
          button: "left",
          buttons: type === "mouseReleased" ? 0 : 1,
          clickCount: 1,
          pointerType: "pen",
        });
      await pen("mousePressed", penLine[0]);
      for (const p of penLine.slice(1)) await pen("mouseMoved", p);
      await pen("mouseReleased", penLine[15]);
      await a.waitForFunction(() => __board.pendingCount === 0, undefined, { timeout: 15_000 });
      await settle(b, gw.log.length);
      for (const p of [touchLine[0], touchLine[15], penLine[0], penLine[15]]) {
        assert.deepEqual(
          (await pixelAt(b, p)).slice(0, 3),
          RED,
          `no red ink at ${JSON.stringify(p)}`,
        );
      }
      await cdp.detach();
    });

    await t.step("during a failover strokes stay pending, then commit once", async () => {
      gw.holdStrokes = true;
      await drawPath(a, wave(100, 450, 250, 30));
      await a.waitForFunction(() => __board.pendingCount > 0);
      const pending = (await board(a)).pendingCount;
      assert.match(await statusText(a), new RegExp(`${pending} pending - waiting for the cluster`));
      assert.ok((await layers(a)).overlayInk > 0, "pending strokes are drawn at once");
      await a.screenshot({ path: "/tmp/ui_pending.png" });
      const before = gw.log.length;
      const connections = gw.connections.length;
      gw.dropAll();
      await until("both pages reconnect", () => gw.connections.length === connections + 2);
      await a.waitForFunction(() => __board.connected, undefined, { timeout: 10_000 });
      for (const query of gw.connections.slice(connections)) {
        assert.equal(query.get("since"), String(before), "resumes after lastIndex");
      }
      gw.holdStrokes = false;
      gw.release();
      const n = before + pending;
      await settle(a, n);
      await settle(b, n);
      assert.equal(gw.log.length, n, "resent strokes were not doubled");
      assert.equal(new Set(gw.log.map((e) => e.stroke.id)).size, n);
      const c = await openBoard(browser, ui.url);
      await settle(c, n);
      const digests = [await layers(a), await layers(b), await layers(c)].map((l) => l.digest);
      assert.equal(new Set(digests).size, 1, "all three pages agree after the failover");
    });
  } finally {
    await browser.close();
    await ui.stop();
    await gw.close();
  }
});
