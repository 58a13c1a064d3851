/**
 * History replay in real Chromium on the real stack: Ada draws two groups and
 * clears the board, Bo watches. Ada scrubs back to before the clear, sees who
 * did what, and restores that state: both groups come back on both pages
 * through ordinary log entries, and one undo takes the restore back.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { drawPath, probe, startBoardStack, waitIn, zigzag } from "../testing/board_page.ts";

const WAIT = { timeout: 30_000, polling: 50 } as const;

/** Waits until the history label contains `text`. */
function labelSays(page: Page, text: string): Promise<void> {
  return waitIn(page, (text) => {
    const label = document.querySelector("[data-testid=history-label]");
    return label?.textContent?.includes(text) ?? false;
  }, text);
}

function groupsShown(page: Page, n: number): Promise<unknown> {
  return page.waitForFunction(
    (n) => __board.visibleGroups.length === n && __board.pendingCount === 0,
    n,
    WAIT,
  );
}

Deno.test({
  name: "history e2e: scrub back, see who did what, restore a past state on every page",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const stack = await startBoardStack("history_e2e_");
  try {
    const board = `history-${Date.now().toString(36)}`;
    const open = async (name: string) => {
      const ctx = await stack.browser.newContext({ viewport: { width: 1000, height: 700 } });
      const page = await ctx.newPage();
      await page.goto(`${stack.uiUrl}/?board=${board}&name=${name}`);
      await page.waitForFunction(() => globalThis.__board?.connected, undefined, WAIT);
      return page;
    };
    const ada = await open("Ada");
    const bo = await open("Bo");

    let beforeClear = 0;
    await t.step("Ada draws two groups and clears the board", async () => {
      await drawPath(ada, zigzag(200, 200));
      await drawPath(ada, zigzag(200, 320));
      await groupsShown(ada, 2);
      await groupsShown(bo, 2);
      beforeClear = (await probe(ada)).committedCount;
      await ada.getByTestId("clear").click();
      await groupsShown(ada, 0);
      await groupsShown(bo, 0);
    });

    await t.step("the slider goes back to before the clear and says who drew", async () => {
      await ada.getByTestId("history-toggle").click();
      const slider = ada.getByTestId("history-slider");
      // The panel re-renders after each input: wait for what it shows, never read it at once.
      await waitIn(ada, (max) => {
        const el = document.querySelector("[data-testid=history-slider]");
        return el?.getAttribute("max") === max;
      }, String(beforeClear + 1)); // the strokes and the clear
      await labelSays(ada, "Ada cleared");
      await slider.fill(String(beforeClear));
      await labelSays(ada, "Ada drew");
      // The preview shows the past picture; the live board is unchanged.
      await waitIn(ada, () => {
        const c = document.querySelector("[data-testid=history-canvas]") as HTMLCanvasElement;
        return c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data.some((v) => v !== 0);
      }, null);
      assert.equal((await probe(ada)).visibleGroups.length, 0);
      await slider.fill("0");
      await labelSays(ada, "start of the board");
      await waitIn(ada, () => {
        const c = document.querySelector("[data-testid=history-canvas]") as HTMLCanvasElement;
        return c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data.every((v) => v === 0);
      }, null);
      await slider.fill(String(beforeClear));
      await labelSays(ada, "Ada drew");
    });

    await t.step("restore brings both groups back on both pages; undo takes it back", async () => {
      await ada.getByTestId("history-restore").click();
      await groupsShown(ada, 2);
      await groupsShown(bo, 2);
      assert.equal(await ada.getByTestId("history-panel").count(), 0, "the panel closes");
      await ada.keyboard.press("Control+z");
      await groupsShown(ada, 0);
      await groupsShown(bo, 0);
    });
  } finally {
    await stack.stop();
  }
});
