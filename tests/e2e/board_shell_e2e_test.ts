/**
 * The app shell in real Chromium against the real stack (three replicas, the
 * gateway, the UI server): tools and undo from the keyboard, export files
 * that are valid (the PNG decodes, the SVG parses, the JSON imports back as
 * new strokes), the board list, a new board, the share link, a view-only link
 * that hides every edit control, and the dark mode toggle kept over a reload.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { BrowserContext, Download, Page } from "playwright-core";
import { drawPath, probe, startBoardStack, zigzag } from "../testing/board_page.ts";

const WAIT = { timeout: 30_000, polling: 50 } as const;

async function openPage(ctx: BrowserContext, url: string): Promise<Page> {
  const page = await ctx.newPage();
  await page.goto(url);
  await page.waitForFunction(() => globalThis.__board?.connected, undefined, WAIT);
  return page;
}

function pressed(page: Page, testId: string): Promise<string | null> {
  return page.getByTestId(testId).getAttribute("aria-pressed");
}

async function waitPressed(page: Page, testId: string): Promise<void> {
  await page.waitForFunction(
    (id) =>
      document.querySelector(`[data-testid="${id}"]`)?.getAttribute("aria-pressed") === "true",
    testId,
    WAIT,
  );
}

async function saved(page: Page, n: number): Promise<void> {
  await page.waitForFunction(
    (n) => __board.visibleCount === n && __board.pendingCount === 0,
    n,
    WAIT,
  );
}

async function openMenu(page: Page): Promise<void> {
  if (await page.getByTestId("menu").getAttribute("aria-expanded") !== "true") {
    await page.getByTestId("menu").click();
  }
}

async function closeMenu(page: Page): Promise<void> {
  if (await page.getByTestId("menu").getAttribute("aria-expanded") === "true") {
    await page.getByTestId("menu").click();
  }
}

async function downloadOf(page: Page, testId: string): Promise<{ d: Download; bytes: Uint8Array }> {
  const [d] = await Promise.all([page.waitForEvent("download"), page.getByTestId(testId).click()]);
  const path = await d.path();
  return { d, bytes: await Deno.readFile(path) };
}

Deno.test({
  name: "board shell e2e: keyboard tools, export/import, rooms, view-only link, dark mode",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const stack = await startBoardStack("board_shell_e2e_");
  const { browser, uiUrl } = stack;
  try {
    const ctx = await browser.newContext({
      viewport: { width: 1000, height: 700 },
      acceptDownloads: true,
    });
    const board = `shell-${Date.now().toString(36)}`;
    const page = await openPage(ctx, `${uiUrl}/?board=${board}`);

    await t.step("tools from the keyboard; Ctrl+Z undoes, Ctrl+Shift+Z redoes", async () => {
      assert.equal(await pressed(page, "tool-pen"), "true");
      await page.keyboard.press("e");
      await waitPressed(page, "tool-eraser");
      await page.keyboard.press("h");
      await waitPressed(page, "tool-pan");
      await page.keyboard.press("p");
      await waitPressed(page, "tool-pen");
      await drawPath(page, zigzag(200, 200));
      await page.waitForFunction(() => __board.visibleCount > 0, undefined, WAIT);
      const n = (await probe(page)).visibleCount;
      await page.waitForFunction(() => __board.canUndo, undefined, WAIT);
      assert.equal(await page.getByTestId("undo").isDisabled(), false);
      await page.keyboard.press("Control+z");
      await saved(page, 0);
      await page.keyboard.press("Control+Shift+Z");
      await saved(page, n);
      // Typing into a text field is not a shortcut.
      await openMenu(page);
      await page.getByTestId("share-link").click();
      await page.getByTestId("share-text").press("e");
      assert.equal(await pressed(page, "tool-pen"), "true");
      // Escape closes the menu and hands focus back to its button.
      await page.keyboard.press("Escape");
      assert.equal(await page.getByTestId("menu").getAttribute("aria-expanded"), "false");
      assert.equal(
        await page.evaluate(() => document.activeElement?.getAttribute("data-testid")),
        "menu",
      );
    });

    await t.step("exports are valid and the JSON imports back as new strokes", async () => {
      await closeMenu(page);
      await drawPath(page, zigzag(200, 320));
      await page.waitForFunction(() => __board.visibleGroups.length === 2, undefined, WAIT);
      await page.waitForFunction(() => __board.savedText === "saved", undefined, WAIT);
      assert.equal(await page.getByTestId("saved-status").innerText(), "saved");
      const n = (await probe(page)).visibleCount;
      await openMenu(page);

      const png = await downloadOf(page, "export-png");
      assert.match(png.d.suggestedFilename(), /\.png$/);
      const size = await page.evaluate(async (bytes) => {
        const bmp = await createImageBitmap(
          new Blob([new Uint8Array(bytes)], { type: "image/png" }),
        );
        return [bmp.width, bmp.height];
      }, [...png.bytes]);
      assert.ok(size[0] > 100 && size[1] > 50, `PNG decodes to ${size}`);

      const svg = await downloadOf(page, "export-svg");
      const svgCheck = await page.evaluate((text) => {
        const doc = new DOMParser().parseFromString(text, "image/svg+xml");
        return {
          error: doc.querySelector("parsererror") !== null,
          root: doc.documentElement.nodeName,
          shapes: doc.querySelectorAll("line, path").length,
        };
      }, new TextDecoder().decode(svg.bytes));
      assert.deepEqual([svgCheck.error, svgCheck.root], [false, "svg"]);
      assert.ok(svgCheck.shapes > 0, "the SVG draws something");

      const json = await downloadOf(page, "export-json");
      const file = JSON.parse(new TextDecoder().decode(json.bytes));
      assert.equal(file.strokes.length, n);

      await page.getByTestId("import-json").setInputFiles({
        name: "board.json",
        mimeType: "application/json",
        buffer: Buffer.from(json.bytes),
      });
      await saved(page, 2 * n);
      assert.equal((await probe(page)).visibleGroups.length, 4, "imported groups are new groups");
      // One undo step takes the whole import back.
      await page.getByTestId("undo").click();
      await saved(page, n);

      await page.getByTestId("import-json").setInputFiles({
        name: "bad.json",
        mimeType: "application/json",
        buffer: Buffer.from('{"strokes":[{"id":"x"}]}'),
      });
      await page.getByTestId("menu-message").filter({ hasText: "Import failed: stroke 1" })
        .waitFor(WAIT);
    });

    await t.step("board list, share link, new board", async () => {
      await page.reload();
      await page.waitForFunction(() => globalThis.__board?.connected, undefined, WAIT);
      await openMenu(page);
      await page.getByTestId("board-list").getByRole("link", { name: board }).waitFor(WAIT);
      await page.getByTestId("share-link").click();
      assert.equal(
        await page.getByTestId("share-text").inputValue(),
        `${uiUrl}/?board=${board}`,
      );
      const other = await ctx.newPage();
      await other.goto(`${uiUrl}/?board=${board}`);
      await other.waitForFunction(() => globalThis.__board?.connected, undefined, WAIT);
      await openMenu(other);
      await Promise.all([
        other.waitForURL(/board=board-[a-z0-9]{6}$/),
        other.getByTestId("new-board").click(),
      ]);
      await other.waitForFunction(
        () => __board.connected && __board.visibleCount === 0,
        undefined,
        WAIT,
      );
      assert.notEqual(await other.getByTestId("board-name").innerText(), board);
      await other.close();
    });

    await t.step("a view-only link hides every edit control", async () => {
      await openMenu(page);
      await page.getByTestId("view-link").click();
      await page.waitForFunction(
        () =>
          (document.querySelector('[data-testid="share-text"]') as HTMLInputElement)?.value
            .includes("view="),
        undefined,
        WAIT,
      );
      const link = await page.getByTestId("share-text").inputValue();
      assert.doesNotMatch(link, new RegExp(`board=${board}&view=${board}`));
      const viewer = await openPage(await browser.newContext(), link);
      await viewer.waitForFunction(
        () => __board.readOnly && __board.visibleCount > 0,
        undefined,
        WAIT,
      );
      for (const id of ["toolbar", "undo", "redo", "clear", "import-json"]) {
        assert.equal(await viewer.getByTestId(id).count(), 0, `${id} is hidden`);
      }
      assert.equal(await viewer.getByTestId("zoom-fit").count(), 1);
      await viewer.context().close();
    });

    await t.step(
      "dark mode follows the system, toggles, and the choice survives a reload",
      async () => {
        const dark = await browser.newContext({ colorScheme: "dark" });
        const p = await openPage(dark, `${uiUrl}/?board=${board}`);
        const themeOf = () => p.evaluate(() => document.documentElement.dataset.theme);
        assert.equal(await themeOf(), "dark");
        await p.getByTestId("theme-toggle").click();
        assert.equal(await themeOf(), "light");
        const bg = await p.evaluate(() => getComputedStyle(document.body).backgroundColor);
        assert.equal(bg, "rgb(255, 255, 255)");
        await p.reload();
        await p.waitForFunction(() => globalThis.__board?.connected, undefined, WAIT);
        assert.equal(await themeOf(), "light");
        await dark.close();
      },
    );
  } finally {
    await stack.stop();
  }
});
