/**
 * How `deno task demo` drives the board page, in one place so a change of the page means a
 * change here only: it opens pages with the e2e tests' helpers (tests/testing/board_page.ts:
 * one browser context per user, the socket's stroke and ack frames watched from outside),
 * picks a colour and width by the toolbar's test ids when they exist, draws with mouse drags
 * on the page (tests/testing/page_drawer.ts, as the failover e2e test does), and reads state only through `window.__board` and the committed layer's digest.
 */
import type { Browser } from "playwright-core";
import { type BoardPage, layers, openBoard, probe } from "../tests/testing/board_page.ts";
import type { PathFn } from "../tests/testing/page_drawer.ts";

export type { BoardPage };
export { Drawer } from "../tests/testing/page_drawer.ts";

// The users' paths, in CSS pixels of a 900x600 page.

/** Wavy rows across the upper half. */
export const waves: PathFn = (i) => {
  const y = 150 + (i % 6) * 34;
  const phase = (i % 5) * 0.7;
  return Array.from({ length: 36 }, (_, k) => ({
    x: 70 + k * 22,
    y: y + Math.sin(phase + k / 2.2) * 14,
  }));
};

/** Circles in a grid over the lower half. */
export const circles: PathFn = (i) => {
  const cx = 120 + (i % 7) * 110;
  const cy = 400 + (Math.floor(i / 7) % 2) * 90;
  const r = 22 + (i % 3) * 8;
  return Array.from({ length: 25 }, (_, k) => ({
    x: cx + r * Math.cos((k / 24) * 2 * Math.PI),
    y: cy + r * Math.sin((k / 24) * 2 * Math.PI),
  }));
};

/** Tall zigzags crossing everything, so the order of commits shows in the pixels. */
export const zigzags: PathFn = (i) => {
  const x = 100 + (i % 13) * 58;
  return Array.from({ length: 22 }, (_, k) => ({ x: x + (k % 2 ? 16 : -16), y: 130 + k * 19 }));
};

/** Opens a board page as its own user and picks its colour and width (when the toolbar has them). */
export async function openUser(
  browser: Browser,
  url: string,
  color: string,
  width: number,
  note: (line: string) => void,
): Promise<BoardPage> {
  const board = await openBoard(browser, url);
  for (const id of [`color-${color.slice(1)}`, `width-${width}`]) {
    await board.page.getByTestId(id).click({ timeout: 3000 }).catch(() =>
      note(`(the page has no [data-testid=${id}] control; drawing with its default)`)
    );
  }
  return board;
}

/** What a page shows: `window.__board` and the committed layer's digest. */
export interface PageState {
  committedCount: number;
  pendingCount: number;
  lastIndex: number;
  connected: boolean;
  digest: string;
  ink: number;
  overlayInk: number;
}

/** Reads one page's state. */
export async function pageState(board: BoardPage): Promise<PageState> {
  const p = await probe(board.page);
  const l = await layers(board.page);
  return { ...p, digest: l.digest, ink: l.ink, overlayInk: l.overlayInk };
}

/** Waits until no page has pending strokes and all show the same last index. */
export async function settle(pages: BoardPage[], timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  let seen = "";
  for (;;) {
    const ps = await Promise.all(pages.map((p) => probe(p.page)));
    seen = JSON.stringify(ps);
    if (ps.every((p) => p.connected && p.pendingCount === 0 && p.lastIndex === ps[0].lastIndex)) {
      return;
    }
    if (Date.now() > end) throw new Error(`pages did not settle in ${timeoutMs} ms: ${seen}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
