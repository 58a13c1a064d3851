/**
 * The board's chrome in real Chromium at phone, tablet and desktop sizes with
 * three people on the board: every control of the tool rail, the action bar,
 * the board menu's head and the people list is the element hit at its own
 * centre (nothing covers it, nothing clips it), the action bar never has to
 * scroll (a phone held sideways included), the panels' boxes do not
 * intersect and stay inside the window, the history panel too when it is open,
 * and where the people list is collapsed its button opens the full list (Escape
 * or a press elsewhere closes it). An open dropdown (the board menu's panel, the
 * collapsed people list) may cover the board but no control and no other panel.
 * Tab from the page's start visits the chrome in one order at every size (menu,
 * tools, widths, colours, people, actions, history), each control with its
 * focus ring.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { openBoard, startBoardStack, waitIn } from "../testing/board_page.ts";

/** The sizes the brief names, a few between them, and phones held sideways. */
const SIZES: [number, number][] = [
  [360, 640],
  [390, 844],
  [640, 360],
  [740, 360],
  [844, 390],
  [600, 900],
  [768, 1024],
  [900, 700],
  [1024, 768],
  [1100, 800],
  [1280, 800],
  [1440, 900],
  [1920, 1080],
];

/** The chrome's panels, by class (the same before and after the layout change). */
const PANELS = [".toolbar", ".action-bar", ".people", ".status-bar", ".menu-head"];

/**
 * What is wrong with the chrome at the page's current size, in words (empty if nothing).
 * Runs in the page: getBoundingClientRect and elementFromPoint see the layout as drawn.
 */
function chromeProblems(panels: string[]): string[] {
  const problems: string[] = [];
  const w = innerWidth, h = innerHeight;
  const boxes: { sel: string; r: DOMRect }[] = [];
  for (const sel of panels) {
    const el = document.querySelector(sel);
    const r = el?.getBoundingClientRect();
    if (!el || !r || r.width === 0 || r.height === 0) {
      problems.push(`${sel} is not shown`);
      continue;
    }
    if (r.left < 0 || r.top < 0 || r.right > w || r.bottom > h) {
      problems.push(`${sel} leaves the window: ${[r.left, r.top, r.right, r.bottom]}`);
    }
    boxes.push({ sel, r });
  }
  // Every action reachable without scrolling the bar (its overflow would scroll, not show).
  const bar = document.querySelector(".action-bar");
  if (bar && (bar.scrollHeight > bar.clientHeight || bar.scrollWidth > bar.clientWidth)) {
    const [sw, sh, cw, ch] = [bar.scrollWidth, bar.scrollHeight, bar.clientWidth, bar.clientHeight];
    problems.push(`.action-bar scrolls: ${sw}x${sh} in ${cw}x${ch}`);
  }
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i].r, b = boxes[j].r;
      const apart = a.right <= b.left || b.right <= a.left || a.bottom <= b.top ||
        b.bottom <= a.top;
      if (!apart) problems.push(`${boxes[i].sel} overlaps ${boxes[j].sel}`);
    }
  }
  const buttons = document.querySelectorAll<HTMLElement>(
    ".toolbar button, .action-bar button, .menu-head button, .people button",
  );
  for (const b of buttons) {
    // Not rendered on purpose (display: none), like the people button where the list fits.
    if (b.getClientRects().length === 0) continue;
    const name = b.getAttribute("aria-label") ?? b.getAttribute("data-testid") ?? b.textContent;
    const r = b.getBoundingClientRect();
    if (r.width < 40 || r.height < 40) problems.push(`"${name}" is ${r.width}x${r.height}`);
    const x = r.left + r.width / 2, y = r.top + r.height / 2;
    const hit = document.elementFromPoint(x, y);
    if (!hit || !b.contains(hit)) {
      const what = hit ? `${hit.tagName.toLowerCase()}.${hit.className}` : "nothing";
      problems.push(`"${name}" at (${Math.round(x)}, ${Math.round(y)}) is covered by ${what}`);
    }
  }
  return problems;
}

/** The focused control's panel (in the tool rail, with its group), name and focus ring; null at the end. */
function focused(): { place: string; name: string; ring: boolean } | null {
  const el = document.activeElement as HTMLElement | null;
  // Past the last control focus leaves the page, or wraps to the first.
  const seen = (globalThis as { tabbed?: WeakSet<Element> }).tabbed ??= new WeakSet();
  if (!el || el === document.body || seen.has(el)) return null;
  seen.add(el);
  const panel = el.closest(".menu, .toolbar, .people, .action-bar, .history-panel, .status-bar");
  const group = el.closest(".tool-group")?.classList[1];
  const place = panel ? [panel.classList[0], group].filter(Boolean).join(" ") : `outside: ${el}`;
  const style = getComputedStyle(el);
  return {
    place,
    name: el.getAttribute("aria-label") ?? el.dataset.testid ?? el.textContent ?? "",
    ring: el.matches(":focus-visible") && style.outlineStyle !== "none" &&
      parseFloat(style.outlineWidth) > 0,
  };
}

/** Presses Tab until focus leaves the page: the panels visited in order, and controls with no ring. */
async function tabThrough(page: Page): Promise<{ places: string[]; noRing: string[] }> {
  const places: string[] = [], noRing: string[] = [];
  for (let i = 0; i < 100; i++) {
    await page.keyboard.press("Tab");
    const f = await page.evaluate(focused);
    if (!f) break;
    if (!f.ring) noRing.push(f.name);
    if (places.at(-1) !== f.place) places.push(f.place);
  }
  return { places, noRing };
}

async function problemsAt(page: Page, size: [number, number], panels = PANELS) {
  await page.setViewportSize({ width: size[0], height: size[1] });
  return (await page.evaluate(chromeProblems, panels)).map((p) => `${size.join("x")}: ${p}`);
}

Deno.test({
  name: "layout e2e: the chrome never overlaps, from a 360 px phone to 1920 px",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const stack = await startBoardStack("layout_e2e_");
  try {
    const board = `layout-${Date.now().toString(36)}`;
    const open = (name: string) =>
      openBoard(stack.browser, `${stack.uiUrl}/?board=${board}&name=${name}`);
    const alice = (await open("Alice")).page;
    const others = [(await open("Bob")).page, (await open("Carol Christensen-Whitfield")).page];
    // Everyone moves a cursor, so every page knows the others (presence).
    for (const p of [alice, ...others]) await p.evaluate(() => __boardActions.cursor(50, 50));
    await waitIn(alice, () => __board.peers === 2, null);

    await t.step("every control is hit at its centre and no panels overlap", async () => {
      const problems: string[] = [];
      for (const size of SIZES) problems.push(...await problemsAt(alice, size));
      assert.deepEqual(problems, []);
    });

    await t.step("the same at every width from 360 to 1920 px (20 px steps)", async () => {
      const problems: string[] = [];
      for (let w = 360; w <= 1920; w += 20) {
        for (const h of [640, 900]) problems.push(...await problemsAt(alice, [w, h]));
        // Sideways: a phone's widths (no phone is narrower than 560 px held so).
        if (w >= 560 && w < 900) problems.push(...await problemsAt(alice, [w, 360]));
      }
      assert.deepEqual(problems, []);
    });

    await t.step("with the history panel open, it overlaps none of them", async () => {
      await alice.getByTestId("history-toggle").click();
      await alice.getByTestId("history-panel").waitFor();
      const problems: string[] = [];
      for (const size of SIZES) {
        problems.push(...await problemsAt(alice, size, [...PANELS, ".history-panel"]));
      }
      await alice.getByTestId("history-close").click();
      assert.deepEqual(problems, []);
    });

    await t.step("an open dropdown covers no control and no panel", async () => {
      const problems: string[] = [];
      for (const size of SIZES) {
        await alice.setViewportSize({ width: size[0], height: size[1] });
        await alice.getByTestId("menu").click();
        // Measured once the board list is in: it sets the panel's height.
        await alice.getByTestId("board-list").getByRole("link").first().waitFor();
        problems.push(...await problemsAt(alice, size, [...PANELS, "#board-menu"]));
        await alice.keyboard.press("Escape");
        await alice.locator("#board-menu").waitFor({ state: "hidden" });
        const toggle = alice.getByTestId("people-toggle");
        if (!await toggle.isVisible()) continue;
        await toggle.click();
        problems.push(...await problemsAt(alice, size, [...PANELS, "#people-list"]));
        await alice.keyboard.press("Escape");
        await alice.locator("#people-list").waitFor({ state: "hidden" });
      }
      assert.deepEqual(problems, []);
    });

    await t.step("the people list names everyone, collapsed or not", async () => {
      for (const size of SIZES) {
        await alice.setViewportSize({ width: size[0], height: size[1] });
        const toggle = alice.getByTestId("people-toggle");
        const collapsed = await toggle.isVisible();
        if (collapsed) {
          assert.match(await toggle.getAttribute("aria-label") ?? "", /3 people/, `${size}`);
          await toggle.click();
        }
        const list = alice.getByTestId("people-list");
        await list.waitFor({ state: "visible" });
        for (const name of ["Alice", "Bob", "Carol"]) {
          await list.getByText(name).first().waitFor({ state: "visible" });
        }
        if (collapsed) {
          await alice.keyboard.press("Escape");
          await list.waitFor({ state: "hidden" });
          // A press anywhere else closes it too.
          await toggle.click();
          await list.waitFor({ state: "visible" });
          await alice.getByTestId("zoom-fit").click();
          await list.waitFor({ state: "hidden" });
        }
      }
    });

    await t.step("Tab visits the chrome in reading order, with a focus ring on each", async () => {
      const rail = ["menu", "toolbar tools", "toolbar widths", "toolbar colors"];
      for (const size of [[1280, 800], [1024, 768], [390, 844], [640, 360]]) {
        await alice.setViewportSize({ width: size[0], height: size[1] });
        // From the page's start: a fresh load, nothing focused yet.
        await alice.reload();
        await waitIn(alice, () => __board?.connected, null);
        const collapsed = await alice.getByTestId("people-toggle").isVisible();
        const walk = await tabThrough(alice);
        assert.deepEqual(walk, {
          places: [...rail, ...(collapsed ? ["people"] : []), "action-bar"],
          noRing: [],
        }, `${size}`);
      }
      // The history panel, when open, comes after the action bar that opens it.
      await alice.getByTestId("history-toggle").focus();
      await alice.keyboard.press("Enter");
      await alice.getByTestId("history-panel").waitFor();
      assert.deepEqual(await tabThrough(alice), { places: ["history-panel"], noRing: [] });
      await alice.getByTestId("history-close").click();
    });
  } finally {
    await stack.stop();
  }
});
