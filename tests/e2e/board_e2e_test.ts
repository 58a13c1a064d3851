/**
 * The board's data layer in real Chromium against the real stack (three
 * replicas, the gateway, the UI server): per-user undo and redo across two
 * users and two tabs of one user, the eraser and clear with their undo, the
 * history surviving a reload, strokes drawn while the gateway is down kept
 * in IndexedDB through a reload and committed exactly once, presence between
 * pages (never in the log), and a view-only page that cannot edit.
 *
 * What is visible is read from `window.__board` (the store's visibility), so
 * this test does not depend on how the canvas paints it.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { isStrokeEntry, type LogEntry } from "../../protocol/mod.ts";
import { eventually } from "../testing/local_cluster.ts";
import {
  type BoardPage,
  type BoardStack,
  drawPath,
  newUser,
  openTab,
  probe,
  type Pt,
  startBoardStack,
  waitIn,
  zigzag,
} from "../testing/board_page.ts";

/** A short zigzag at row `i`: a few segments, one group. */
function row(i: number, x0 = 80): Pt[] {
  return zigzag(x0, 100 + (i % 8) * 55);
}

const groups = async (p: Page) => (await probe(p)).visibleGroups;

/** Draws a path and returns the id of the group it made, once it is committed. */
async function drawGroup(bp: BoardPage, path: Pt[]): Promise<string> {
  const before = new Set(await groups(bp.page));
  await drawPath(bp.page, path);
  await waitIn(bp.page, (n) => __board.visibleGroups.length > n, before.size);
  const added = (await groups(bp.page)).filter((g) => !before.has(g));
  assert.equal(added.length, 1, `one new group, got ${added}`);
  await settled(bp.page);
  return added[0];
}

/** Waits until nothing of this page is pending. */
function settled(page: Page): Promise<void> {
  return waitIn(page, () => __board.pendingCount === 0 && __board.connected, null);
}

/** Waits until the page shows exactly `want` as its visible groups. */
async function showsGroups(page: Page, want: string[], what: string): Promise<void> {
  const sorted = [...want].sort();
  try {
    await waitIn(page, (w) => JSON.stringify(__board.visibleGroups) === w, JSON.stringify(sorted));
  } catch (e) {
    throw new Error(`${what}: shows ${JSON.stringify(await groups(page))}, want ${sorted}`, {
      cause: e,
    });
  }
}

/** The stroke ids of `board` in the leader's committed log, each as often as it occurs. */
async function strokeIdsInLog(stack: BoardStack, board: string): Promise<string[]> {
  const leader = await stack.cluster.waitForLeader(20_000);
  const entries: LogEntry[] = await stack.cluster.entries(leader.id);
  return entries.filter(isStrokeEntry).filter((e) => e.stroke.board === board).map((e) =>
    e.stroke.id
  );
}

Deno.test({
  name:
    "board e2e: undo/redo per user, eraser, clear, outbox through a reload, presence, view-only",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const stack = await startBoardStack("board_e2e_");
  const url = (q: string) => `${stack.uiUrl}/?${q}`;
  try {
    const aliceCtx = await newUser(stack.browser);
    const bobCtx = await newUser(stack.browser);
    const a = await openTab(aliceCtx, url("board=undo&name=Alice"));
    const b = await openTab(bobCtx, url("board=undo&name=Bob"));

    await t.step(
      "undo on A hides only A's last group on both pages; redo brings it back",
      async () => {
        const a1 = await drawGroup(a, row(0));
        const a2 = await drawGroup(a, row(1));
        const b1 = await drawGroup(b, row(2, 400));
        const all = [a1, a2, b1];
        for (const p of [a, b]) await showsGroups(p.page, all, "after drawing");
        assert.equal((await probe(a.page)).canUndo, true);
        await a.page.evaluate(() => __boardActions.undo());
        await showsGroups(a.page, [a1, b1], "A right after its undo");
        await showsGroups(b.page, [a1, b1], "B after A's undo");
        await a.page.evaluate(() => __boardActions.redo());
        for (const p of [a, b]) await showsGroups(p.page, all, "after A's redo");
        await b.page.evaluate(() => __boardActions.undo());
        for (const p of [a, b]) await showsGroups(p.page, [a1, a2], "B's undo takes back B's only");
        await b.page.evaluate(() => __boardActions.redo());
        for (const p of [a, b]) await showsGroups(p.page, all, "after B's redo");
        await settled(a.page);
        await settled(b.page);
      },
    );

    await t.step("undo n times then redo n times gives back the same picture", async () => {
      const before = await groups(a.page);
      await a.page.evaluate(() => {
        __boardActions.undo();
        __boardActions.undo();
      });
      const undone = await groups(a.page); // own ops show at once
      assert.equal(undone.length, before.length - 2, `${undone} after two undos of ${before}`);
      await showsGroups(b.page, undone, "B after A's two undos");
      await a.page.evaluate(() => {
        __boardActions.redo();
        __boardActions.redo();
      });
      for (const p of [a, b]) await showsGroups(p.page, before, "after 2 undos and 2 redos");
    });

    await t.step(
      "an eraser stroke on B removes A's group on both; B's undo restores it",
      async () => {
        const target = (await groups(a.page))[0];
        const all = await groups(a.page);
        await b.page.evaluate((g) => __boardActions.erase([g]), target);
        const rest = all.filter((g) => g !== target);
        for (const p of [a, b]) await showsGroups(p.page, rest, "after B's erase");
        await b.page.evaluate(() => __boardActions.undo());
        for (const p of [a, b]) await showsGroups(p.page, all, "after B undid its erase");
      },
    );

    await t.step("clear then undo", async () => {
      const all = await groups(a.page);
      await b.page.evaluate(() => __boardActions.clear());
      for (const p of [a, b]) await showsGroups(p.page, [], "after B's clear");
      const after = await drawGroup(a, row(5));
      for (const p of [a, b]) await showsGroups(p.page, [after], "drawn after the clear");
      await b.page.evaluate(() => __boardActions.undo());
      for (const p of [a, b]) await showsGroups(p.page, [...all, after], "after the undone clear");
      await b.page.evaluate(() => __boardActions.redo());
      for (const p of [a, b]) await showsGroups(p.page, [after], "after the redone clear");
      await b.page.evaluate(() => __boardActions.undo());
      for (const p of [a, b]) await showsGroups(p.page, [...all, after], "undone again");
    });

    await t.step("the history survives a reload and is shared by the user's tabs", async () => {
      const all = await groups(a.page);
      const last = await drawGroup(a, row(6));
      await a.page.reload();
      await waitIn(a.page, () => globalThis.__board?.connected && __board.canUndo, null);
      await showsGroups(a.page, [...all, last], "after the reload");
      const tab2 = await openTab(aliceCtx, url("board=undo&name=Alice"));
      await showsGroups(tab2.page, [...all, last], "Alice's second tab");
      await tab2.page.evaluate(() => __boardActions.undo());
      for (const p of [a, b, tab2]) {
        await showsGroups(p.page, all, "Alice's other tab undid her last group");
      }
      await waitIn(a.page, () => __board.canRedo, null);
      await a.page.evaluate(() => __boardActions.redo());
      for (const p of [a, b, tab2]) await showsGroups(p.page, [...all, last], "redone in tab 1");
      await tab2.page.close();
    });

    await t.step(
      "presence: B sees A's cursor and name, nothing of it reaches the log",
      async () => {
        const lastIndex = (await probe(b.page)).lastIndex;
        for (let i = 1; i <= 5; i++) {
          const x = 100 + i * 10;
          await a.page.evaluate(([x, y]) => __boardActions.cursor(x, y), [x, 200]);
          await waitIn(b.page, (x) => __board.peerCursors.some((p) => p.x === x), x);
        }
        const seen = (await probe(b.page)).peerCursors.find((p) => p.name === "Alice");
        assert.ok(seen, "B knows Alice by name");
        assert.match(seen.color, /^#[0-9a-f]{6}$/i);
        assert.equal((await probe(a.page)).selfName, "Alice");
        assert.equal((await probe(b.page)).lastIndex, lastIndex, "cursors are not log entries");
        // The cursor layer is taken out while a page is alone: here it must show, and be inked.
        await waitIn(b.page, () => {
          const layer = document.querySelector(
            '[data-testid="board-cursors"]',
          ) as HTMLCanvasElement;
          const px = layer.getContext("2d")!.getImageData(0, 0, layer.width, layer.height).data;
          return !layer.hidden && px.some((v, i) => i % 4 === 3 && v !== 0);
        }, null);
        const c = await openTab(await newUser(stack.browser), url("board=undo&name=Carol"));
        await waitIn(c.page, () => __board.peerNames.includes("Alice"), null);
        await c.page.evaluate(() => __boardActions.cursor(5, 5));
        await waitIn(b.page, () => __board.peerNames.includes("Carol"), null);
        await c.page.context().close();
        await waitIn(b.page, () => !__board.peerNames.includes("Carol"), null);
      },
    );

    await t.step("a page reloaded with pending strokes commits them exactly once", async () => {
      const p = await openTab(await newUser(stack.browser), url("board=outbox"));
      await drawGroup(p, row(0));
      const committedBefore = (await probe(p.page)).committedCount;
      await stack.killGateway();
      await waitIn(p.page, () => !__board.connected, null);
      await drawPath(p.page, row(1));
      await drawPath(p.page, row(2));
      // The canvas may hand over a path's last segments in the next frames.
      await p.page.evaluate(() =>
        new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))
      );
      const { pendingCount } = await probe(p.page);
      assert.ok(pendingCount >= 4, `${pendingCount} pending`);
      assert.equal((await probe(p.page)).savedText, `${pendingCount} pending`);
      // Safe to reload once IndexedDB holds every pending item.
      await waitIn(p.page, (n) => __board.outboxCount === n, pendingCount);
      await p.page.reload();
      await waitIn(p.page, (n) => globalThis.__board?.pendingCount === n, pendingCount);
      await stack.startGateway();
      await waitIn(
        p.page,
        (n) => __board.connected && __board.pendingCount === 0 && __board.committedCount === n,
        committedBefore + pendingCount,
      );
      assert.equal((await probe(p.page)).savedText, "saved");
      const ids = await strokeIdsInLog(stack, "outbox");
      assert.equal(ids.length, committedBefore + pendingCount, "each stroke once in the log");
      assert.equal(new Set(ids).size, ids.length, "no id twice");

      // Reloading while strokes are in flight: whatever was committed and not yet acked is
      // resent after the reload, and the replicas keep one copy.
      await drawPath(p.page, row(3));
      await drawPath(p.page, row(4));
      await p.page.reload();
      await waitIn(p.page, () => globalThis.__board?.connected, null);
      await waitIn(p.page, () => __board.pendingCount === 0, null);
      // The page's replay and the log agree once both have everything (in-flight frames of the
      // old page may still commit meanwhile).
      const again = await eventually(
        async () => {
          const ids = await strokeIdsInLog(stack, "outbox");
          return (await probe(p.page)).committedCount === ids.length && ids;
        },
        30_000,
        "the reloaded page shows every committed stroke",
      );
      assert.equal(new Set(again).size, again.length, "no id twice after the in-flight reload");
      const unknown = again.filter((id) => !p.trace.sent.has(id));
      assert.deepEqual(unknown, [], "every stroke in the log is one this page sent");
      await p.page.context().close();
    });

    await t.step("a view-only page cannot edit; presence still flows", async () => {
      await settled(a.page);
      const res = await fetch(`http://127.0.0.1:${stack.gatewayPort}/boards/undo/view-link`);
      const { view } = await res.json();
      assert.equal(typeof view, "string");
      const v = await openTab(
        await newUser(stack.browser),
        url(`view=${encodeURIComponent(view)}`),
      );
      const shown = await groups(a.page);
      await showsGroups(v.page, shown, "the view page shows the board");
      const before = await probe(v.page);
      assert.equal(before.readOnly, true);
      assert.equal(before.canUndo, false);
      await drawPath(v.page, row(7, 300));
      await v.page.evaluate(() => {
        __boardActions.undo();
        __boardActions.clear();
        __boardActions.erase(__board.visibleGroups);
      });
      const after = await probe(v.page);
      assert.equal(after.pendingCount, 0, "nothing was made");
      assert.equal(v.trace.sendCount + v.trace.opsSent, 0, "no stroke or op frame left the page");
      await v.page.evaluate(() => __boardActions.cursor(42, 43));
      await waitIn(a.page, () => __board.peerCursors.some((p) => p.x === 42 && p.y === 43), null);
      const extra = await drawGroup(a, row(7));
      await showsGroups(v.page, [...shown, extra], "the view page follows edits");
      await v.page.context().close();
    });
  } finally {
    await stack.stop();
  }
});
