/**
 * The infinite canvas in real Chromium on the real stack: panning and zooming
 * move the camera (the point under the wheel stays put), a stroke drawn after
 * panning is stored in board coordinates, and the eraser takes a whole group
 * off both pages (committed pixels included); a whole eraser drag is one undo.
 */
import assert from "node:assert/strict";
import { isStrokeEntry } from "../../protocol/mod.ts";
import {
  drawPath,
  layers,
  newUser,
  openTab,
  probe,
  startBoardStack,
  waitIn,
  zigzag,
} from "../testing/board_page.ts";

Deno.test({
  name: "canvas e2e: pan and zoom, strokes in board coordinates, eraser on both pages",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const stack = await startBoardStack("board_canvas_e2e_");
  try {
    const url = `${stack.uiUrl}/?board=canvas-${Date.now().toString(36)}`;
    const a = (await openTab(await newUser(stack.browser), url)).page;
    const b = (await openTab(await newUser(stack.browser), url)).page;
    const groupsOn = (page: typeof a, n: number) =>
      waitIn(page, (n) => __board.visibleGroups.length === n && __board.pendingCount === 0, n);

    await t.step("a stroke at the home view", async () => {
      await drawPath(a, zigzag(200, 200));
      await groupsOn(a, 1);
      await groupsOn(b, 1);
    });

    await t.step("the pan tool moves the camera by the drag", async () => {
      await a.keyboard.press("h");
      await a.mouse.move(500, 300);
      await a.mouse.down();
      await a.mouse.move(450, 275, { steps: 3 });
      await a.mouse.move(400, 250, { steps: 3 });
      await a.mouse.up();
      const cam = (await probe(a)).camera;
      assert.deepEqual(cam, { x: 100, y: 50, zoom: 1 });
    });

    await t.step("a stroke drawn after panning lands in board coordinates", async () => {
      await a.keyboard.press("p");
      await drawPath(a, zigzag(200, 400));
      await groupsOn(a, 2);
      await groupsOn(b, 2);
      const log = (await stack.cluster.entries("replica1")).filter(isStrokeEntry);
      const second = log.filter((e) => e.stroke.group === log.at(-1)!.stroke.group);
      const xs = second.flatMap((e) => [e.stroke.x0, e.stroke.x1]);
      const ys = second.flatMap((e) => [e.stroke.y0, e.stroke.y1]);
      assert.ok(Math.min(...xs) >= 299 && Math.max(...xs) <= 511, `x ${Math.min(...xs)}..`);
      assert.ok(Math.min(...ys) >= 437 && Math.max(...ys) <= 463, `y ${Math.min(...ys)}..`);
    });

    await t.step("the wheel zooms about the pointer", async () => {
      await a.mouse.move(300, 200);
      await a.mouse.wheel(0, -200);
      await waitIn(a, () => __board.camera.zoom > 1.05, null);
      const cam = (await probe(a)).camera;
      // The board point under the pointer, (400, 250), stays under it.
      assert.ok(Math.abs((300 / cam.zoom + cam.x) - 400) < 0.01, JSON.stringify(cam));
      assert.ok(Math.abs((200 / cam.zoom + cam.y) - 250) < 0.01, JSON.stringify(cam));
    });

    await t.step("the eraser takes the first group off both pages", async () => {
      const before = (await layers(b)).ink;
      await b.keyboard.press("e");
      // B never moved its camera: the first zigzag is where it was drawn.
      await drawPath(b, [{ x: 260, y: 170 }, { x: 260, y: 230 }, { x: 320, y: 230 }]);
      await groupsOn(a, 1);
      await groupsOn(b, 1);
      await waitIn(b, (n) => {
        const c = document.querySelector("[data-testid=board-canvas]") as HTMLCanvasElement;
        const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
        let ink = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) ink++;
        return ink > 0 && ink < n;
      }, before);
      const groups = (await probe(a)).visibleGroups;
      assert.equal(groups.length, 1);
    });

    await t.step("one eraser drag over two groups is one undo step", async () => {
      await b.keyboard.press("p");
      await drawPath(b, zigzag(420, 120));
      await drawPath(b, zigzag(420, 320));
      await groupsOn(b, 3);
      await b.keyboard.press("e");
      await b.mouse.move(480, 80);
      await b.mouse.down();
      await b.mouse.move(480, 200, { steps: 4 });
      await groupsOn(b, 2); // the first group went in its own pointer events, mid-drag
      await b.mouse.move(480, 360, { steps: 4 });
      await b.mouse.up();
      await groupsOn(b, 1);
      await b.keyboard.press("Control+z");
      await groupsOn(b, 3);
      await groupsOn(a, 3);
      await b.keyboard.press("Control+Shift+z");
      await groupsOn(b, 1);
      await groupsOn(a, 1);
    });
  } finally {
    await stack.stop();
  }
});
