/**
 * The PNG export in real Chromium on the real stack shows what the canvas
 * shows: strokes of several colours and widths, straight and curved, are
 * exported for the visible area at the canvas's own scale and compared pixel
 * by pixel with the committed layer over the board background, at the home
 * view and zoomed in about a point (a fractional camera).
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { drawPath, type Pt, startBoardStack, waitIn, zigzag } from "../testing/board_page.ts";

/** A circle-ish curve of `n` points around (cx, cy). */
function curve(cx: number, cy: number, r: number, n = 24): Pt[] {
  return Array.from({ length: n }, (_, k) => {
    const a = (k / (n - 1)) * 1.8 * Math.PI;
    return { x: cx + r * Math.cos(a), y: cy + r * Math.sin(a) * 0.7 };
  });
}

async function drawWith(page: Page, color: string, width: number, pts: Pt[]): Promise<void> {
  await page.getByTestId(`color-${color}`).click();
  await page.getByTestId(`width-${width}`).click();
  await drawPath(page, pts);
}

/** How the export and the committed layer differ, compared in the page. */
interface Diff {
  exportSize: number[];
  canvasSize: number[];
  /** Pixels that differ from the background in the canvas (the test draws something). */
  ink: number;
  /** Pixels whose channels differ by more than `tolerance`, and by anything at all. */
  differing: number;
  touched: number;
  maxDelta: number;
}

function compare(page: Page, tolerance: number): Promise<Diff> {
  return page.evaluate(async (tolerance) => {
    const url = await __boardActions.visiblePng();
    // Decoded by hand: the page's content security policy keeps fetch off data: URLs.
    const bytes = Uint8Array.from(atob(url.slice(url.indexOf(",") + 1)), (ch) => ch.charCodeAt(0));
    const bmp = await createImageBitmap(new Blob([bytes], { type: "image/png" }));
    const c = new OffscreenCanvas(bmp.width, bmp.height);
    const ctx = c.getContext("2d")!;
    ctx.drawImage(bmp, 0, 0);
    const exp = ctx.getImageData(0, 0, bmp.width, bmp.height);
    const live = __boardActions.committedPixels();
    const bg = live.data.slice(0, 4); // the test keeps the top-left corner empty
    let ink = 0, differing = 0, touched = 0, maxDelta = 0;
    // Over the canvas's area: the export may be one pixel wider if w * scale rounds up.
    for (let y = 0; y < live.height; y++) {
      for (let x = 0; x < live.width; x++) {
        const i = (y * live.width + x) * 4, j = (y * exp.width + x) * 4;
        let inked = false, delta = 0;
        for (let k = 0; k < 4; k++) {
          if (live.data[i + k] !== bg[k]) inked = true;
          delta = Math.max(delta, Math.abs(live.data[i + k] - exp.data[j + k]));
        }
        if (inked) ink++;
        if (delta > tolerance) differing++;
        if (delta > 0) touched++;
        maxDelta = Math.max(maxDelta, delta);
      }
    }
    return {
      exportSize: [exp.width, exp.height],
      canvasSize: [live.width, live.height],
      ink,
      differing,
      touched,
      maxDelta,
    };
  }, tolerance);
}

/**
 * Channel levels an antialiased edge may be off by: the canvas blends strokes onto a
 * transparent layer that is composited over the background afterwards, the export blends
 * them onto the opaque background directly; the two round differently in 8 bits.
 */
const TOLERANCE = 2;

async function assertSamePixels(page: Page, what: string): Promise<void> {
  await waitIn(page, () => __board.pendingCount === 0 && __board.rendered, null);
  const d = await compare(page, TOLERANCE);
  const [ew, eh] = d.exportSize, [cw, ch] = d.canvasSize;
  assert.ok(ew - cw <= 1 && ew >= cw && eh - ch <= 1 && eh >= ch, `${what}: sizes ${ew}x${eh}`);
  assert.ok(d.ink > 5000, `${what}: the canvas shows the strokes (${d.ink} pixels)`);
  assert.equal(d.differing, 0, `${what}: ${d.differing} pixels differ (max ${d.maxDelta})`);
  console.log(
    `${what}: ${d.ink} inked pixels, ${d.touched} off by 1..${d.maxDelta} channel levels`,
  );
}

Deno.test({
  name: "export e2e: the visible-area PNG equals the canvas pixel for pixel",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const stack = await startBoardStack("export_e2e_");
  try {
    // Two device pixels per CSS pixel: the export's scale is zoom × dpr, not zoom.
    const ctx = await stack.browser.newContext({
      viewport: { width: 1200, height: 700 },
      deviceScaleFactor: 2,
    });
    const page = await ctx.newPage();
    await page.goto(`${stack.uiUrl}/?board=export-${Date.now().toString(36)}`);
    await waitIn(page, () => globalThis.__board?.connected, null);

    await t.step("at the home view", async () => {
      await drawWith(page, "1d1d1f", 2, zigzag(150, 200));
      await drawWith(page, "e63946", 16, curve(300, 330, 90));
      await drawWith(page, "2a9d8f", 8, curve(620, 300, 140, 40));
      await drawWith(page, "8338ec", 4, zigzag(420, 480));
      await waitIn(page, () => __board.visibleGroups.length === 4, null);
      await assertSamePixels(page, "home view");
    });

    await t.step("zoomed in about a point (camera at fractional board coordinates)", async () => {
      await page.mouse.move(437, 311);
      await page.mouse.wheel(0, -240);
      await waitIn(page, () => __board.camera.zoom > 1, null);
      await assertSamePixels(page, "zoomed");
    });
  } finally {
    await stack.stop();
  }
});
