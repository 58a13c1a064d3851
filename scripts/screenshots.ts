/**
 * README screenshots of the board page: starts the real stack (three
 * replicas, a gateway, the UI server), two users draw, and Chromium saves
 * docs/img/board-light.png, board-dark.png, board-menu.png and
 * board-view-only.png; then a board of 20,000 segments (proposed straight to
 * the leader) fitted, zoomed in and zoomed out: board-many-*.png.
 * Run: deno run -A scripts/screenshots.ts
 */
import type { Page } from "playwright-core";
import { MAX_PROPOSE_STROKES, type Stroke } from "../protocol/mod.ts";
import { drawPath, type Pt, startBoardStack } from "../tests/testing/board_page.ts";

const OUT = new URL("../docs/img/", import.meta.url);
const WAIT = { timeout: 30_000, polling: 100 } as const;
const VIEW = { width: 1200, height: 720 };
const MANY = 20_000;
const PALETTE = ["#e63946", "#457b9d", "#2a9d8f", "#8338ec", "#f4a261", "#1d1d1f"];

/** Random-walk groups of 40-120 segments over a 4000x2500 area, like many hands drawing. */
function manyStrokes(n: number, board: string): Stroke[] {
  let seed = 7;
  const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const out: Stroke[] = [];
  let x = 0, y = 0, heading = 0, left = 0, color = "", width = 0, group = "";
  for (let i = 0; i < n; i++) {
    if (left-- <= 0) {
      [x, y, heading, left] = [rnd() * 4000, rnd() * 2500, rnd() * 6.3, 40 + rnd() * 80];
      color = PALETTE[Math.floor(rnd() * PALETTE.length)];
      width = [2, 4, 8][Math.floor(rnd() * 3)];
      group = `many-g${i}`;
    }
    heading += (rnd() - 0.5) * 0.5;
    const nx = x + Math.cos(heading) * 8, ny = y + Math.sin(heading) * 8;
    const r = (v: number) => Math.round(v * 100) / 100;
    out.push({
      id: `many-${i}`,
      x0: r(x),
      y0: r(y),
      x1: r(nx),
      y1: r(ny),
      color,
      width,
      group,
      board,
    });
    [x, y] = [nx, ny];
  }
  return out;
}

/** A loop of `n` points around (cx, cy): a hand-drawn looking shape. */
function loop(cx: number, cy: number, rx: number, ry: number, n = 40): Pt[] {
  return Array.from({ length: n + 1 }, (_, i) => {
    const a = (i / n) * 2 * Math.PI;
    return { x: cx + rx * Math.cos(a) * (1 + 0.05 * Math.sin(5 * a)), y: cy + ry * Math.sin(a) };
  });
}

function wave(x: number, y: number, length: number): Pt[] {
  return Array.from({ length: 30 }, (_, i) => ({
    x: x + (i / 29) * length,
    y: y + 30 * Math.sin((i / 29) * 3 * Math.PI),
  }));
}

async function settled(page: Page): Promise<void> {
  await page.waitForFunction(
    () => __board.connected && __board.pendingCount === 0,
    undefined,
    WAIT,
  );
}

async function sketch(page: Page, colors: string[], shapes: Pt[][]): Promise<void> {
  for (let i = 0; i < shapes.length; i++) {
    await page.getByTestId(`color-${colors[i % colors.length]}`).click();
    await drawPath(page, shapes[i]);
  }
  await settled(page);
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: new URL(name, OUT).pathname });
  console.log(`docs/img/${name}`);
}

const stack = await startBoardStack("screenshots_");
const { browser, cluster } = stack;
try {
  const url = `${stack.uiUrl}/?board=demo-${Date.now().toString(36)}`;

  const open = async (colorScheme: "light" | "dark", name: string) => {
    const ctx = await browser.newContext({ viewport: VIEW, colorScheme });
    const page = await ctx.newPage();
    await page.goto(`${url}&name=${name}`);
    await page.waitForFunction(() => globalThis.__board?.connected, undefined, WAIT);
    return page;
  };
  const ada = await open("light", "Ada");
  const bob = await open("dark", "Bob");
  await sketch(ada, ["e63946", "457b9d"], [loop(380, 360, 160, 110), wave(260, 560, 300)]);
  await sketch(bob, ["2a9d8f", "8338ec", "f4a261"], [
    loop(800, 330, 120, 120),
    wave(640, 540, 360),
    loop(800, 330, 50, 50, 24),
  ]);
  // Cursors in the middle of the board, so each page shows the other's label.
  await ada.mouse.move(520, 260);
  await bob.mouse.move(700, 460);
  // Cursors need the canvas to send them; without, the pictures just lack the labels.
  for (const p of [ada, bob]) {
    await p.waitForFunction(() => __board.peers > 0, undefined, { timeout: 5_000 }).catch(() =>
      console.warn("no peer cursor shown")
    );
  }
  await shot(ada, "board-light.png");
  await shot(bob, "board-dark.png");

  await ada.getByTestId("menu").click();
  await ada.getByTestId("board-list").getByRole("link").first().waitFor(WAIT);
  await ada.getByTestId("view-link").click();
  await ada.getByTestId("share-text").waitFor(WAIT);
  await shot(ada, "board-menu.png");

  const link = await ada.getByTestId("share-text").inputValue();
  const viewer = await (await browser.newContext({ viewport: VIEW })).newPage();
  await viewer.goto(link);
  await viewer.waitForFunction(
    () => __board?.readOnly && __board.visibleCount > 0,
    undefined,
    WAIT,
  );
  await shot(viewer, "board-view-only.png");

  const many = `many-${Date.now().toString(36)}`;
  const strokes = manyStrokes(MANY, many);
  const leader = await cluster.waitForLeader();
  for (let i = 0; i < strokes.length; i += MAX_PROPOSE_STROKES) {
    const res = await fetch(`${leader.url}/propose`, {
      method: "POST",
      headers: cluster.headers(),
      body: JSON.stringify({ strokes: strokes.slice(i, i + MAX_PROPOSE_STROKES) }),
    });
    if (!res.ok) throw new Error(`propose: ${res.status} ${await res.text()}`);
  }
  const big = await (await browser.newContext({ viewport: VIEW })).newPage();
  await big.goto(`${stack.uiUrl}/?board=${many}&name=Ada`);
  await big.waitForFunction((n) => __board?.visibleCount === n, MANY, WAIT);
  // A fresh picture follows a camera that has been still for 100 ms: give it a moment.
  const still = () => big.waitForTimeout(1500);
  await big.keyboard.press("0");
  await still();
  await shot(big, "board-many-fit.png");
  await big.mouse.move(600, 360);
  for (let i = 0; i < 6; i++) await big.mouse.wheel(0, -240);
  await still();
  await shot(big, "board-many-zoomed-in.png");
  for (let i = 0; i < 14; i++) await big.mouse.wheel(0, 240);
  await still();
  await shot(big, "board-many-zoomed-out.png");
} finally {
  await stack.stop();
}
