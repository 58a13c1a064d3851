import assert from "node:assert/strict";
import type { BoardEntry, ClientMessage, Stroke } from "../../protocol/mod.ts";
import * as actions from "./board_actions.ts";
import * as store from "./store.ts";
import { readOnly } from "./ui_state.ts";
import { memoryStore } from "./undo_stack.ts";

const sent: ClientMessage[] = [];
actions.setSender((m) => sent.push(m));
actions.useHistory(memoryStore(), "test-history");
let index = 1_000_000; // above anything another test module left in the shared store

/** Commits everything sent so far (as the gateway would, in order). */
function commitAll(): void {
  const entries = sent.splice(0).flatMap((m): BoardEntry[] => {
    const i = ++index;
    switch (m.type) {
      case "stroke":
        return [{ index: i, stroke: m.stroke }];
      case "erase":
        return [{ index: i, erase: { id: m.id, targets: m.targets } }];
      case "restore":
        return [{ index: i, restore: { id: m.id, targets: m.targets } }];
      case "clear":
        return [{ index: i, clear: { id: m.id } }];
      default:
        return [];
    }
  });
  store.receiveCommitted(entries);
}

function drawGroup(): string {
  const g = actions.startGroup()!;
  actions.addSegment(g, [{ x: 1, y: 1 }, { x: 5, y: 5 }], 4);
  actions.addSegment(g, [{ x: 5, y: 5 }, { x: 9, y: 2 }], 4);
  actions.endGroup(g);
  return g;
}

const visibleGroups = () => new Set(store.visibleStrokes().map((s) => s.group ?? s.id));

Deno.test("board actions", async (t) => {
  await t.step("a drawn group is one undo step; undo hides it at once, redo shows it", () => {
    const g1 = drawGroup();
    const g2 = drawGroup();
    assert.equal(sent.filter((m) => m.type === "stroke").length, 4);
    assert.equal(actions.canUndo.value, true);
    const epoch = store.visibilityEpoch.value;
    actions.undo();
    assert.ok(store.visibilityEpoch.value > epoch, "an optimistic op bumps the epoch");
    assert.equal(visibleGroups().has(g2), false, "hidden before any commit");
    assert.equal(visibleGroups().has(g1), true);
    const erase = sent.at(-1)!;
    assert.equal(erase.type, "erase");
    assert.deepEqual(erase.type === "erase" && erase.targets, [g2]);
    commitAll();
    assert.equal(visibleGroups().has(g2), false, "still hidden once committed");
    assert.equal(actions.canRedo.value, true);
    actions.redo();
    assert.equal(sent.at(-1)?.type, "restore");
    commitAll();
    assert.equal(visibleGroups().has(g2), true);
    assert.equal(store.pendingCount.value, 0);
    assert.equal(store.savedText.value, "saved");
  });

  await t.step("eraser and clear are steps too; undo restores what they hid", () => {
    const g = drawGroup();
    commitAll();
    actions.eraseTargets([g, g]);
    assert.equal(visibleGroups().has(g), false);
    assert.equal(store.savedText.value, "1 pending");
    actions.eraseTargets([g]);
    assert.equal(sent.length, 1, "erasing what is already hidden sends nothing");
    commitAll();
    actions.clearBoard();
    assert.equal(store.visibleStrokes().length, 0, "a clear hides everything at once");
    commitAll();
    actions.clearBoard();
    assert.equal(sent.length, 0, "clearing an empty board is no step");
    actions.undo(); // the clear
    commitAll();
    assert.ok(store.visibleStrokes().length > 0);
    assert.equal(visibleGroups().has(g), false, "the erase still holds");
    actions.undo(); // the erase
    commitAll();
    assert.equal(visibleGroups().has(g), true);
  });

  await t.step("an eraser drag is one undo step, however many events erased", () => {
    const [g1, g2, g3, g4, g5] = [drawGroup(), drawGroup(), drawGroup(), drawGroup(), drawGroup()];
    commitAll();
    const shown = (...gs: string[]) => gs.every((g) => visibleGroups().has(g));
    const gone = (...gs: string[]) => gs.every((g) => !visibleGroups().has(g));
    const drag = actions.startErase();
    for (const g of [g1, g2, g3]) {
      actions.eraseTargets([g], drag);
      assert.ok(gone(g), "each event erases at once");
    }
    assert.equal(sent.filter((m) => m.type === "erase").length, 3, "one op per event, as before");
    commitAll();
    actions.undo();
    commitAll();
    assert.ok(shown(g1, g2, g3), "one undo restores the whole drag");
    actions.redo();
    commitAll();
    assert.ok(gone(g1, g2, g3), "one redo erases it all again");

    actions.eraseTargets([g4], actions.startErase()); // a tap: a drag of one event
    commitAll();
    actions.undo();
    commitAll();
    assert.ok(shown(g4) && gone(g1, g2, g3), "a tap is one step of its own");
    actions.redo();
    commitAll();

    actions.eraseTargets([g5], actions.startErase());
    commitAll();
    actions.undo();
    commitAll();
    assert.ok(shown(g5) && gone(g4), "a second drag is a separate step");
    actions.undo();
    actions.undo();
    commitAll();
    assert.ok(shown(g1, g2, g3, g4, g5));
  });

  await t.step("import: new ids, groups kept apart, one undo step", () => {
    const file: Stroke[] = [
      { id: "x1", x0: 0, y0: 0, x1: 1, y1: 1, color: "#e63946", width: 2, group: "a" },
      { id: "x2", x0: 1, y0: 1, x1: 2, y1: 2, color: "#e63946", width: 2, group: "a" },
      { id: "x3", x0: 2, y0: 2, x1: 3, y1: 3, color: "#457b9d", width: 2 },
    ];
    assert.equal(actions.importStrokes(file), 3);
    const strokes = sent.flatMap((m) => m.type === "stroke" ? [m.stroke] : []);
    assert.equal(new Set(strokes.map((s) => s.id)).size, 3);
    assert.ok(strokes.every((s) => !file.some((f) => f.id === s.id)), "fresh ids");
    assert.equal(strokes[0].group, strokes[1].group);
    assert.notEqual(strokes[0].group, strokes[2].group);
    commitAll();
    const groups = new Set(strokes.map((s) => s.group!));
    actions.undo();
    commitAll();
    assert.ok([...groups].every((g) => !visibleGroups().has(g)), "one undo takes the file back");
  });

  await t.step("a view-only session changes nothing", () => {
    readOnly.value = true;
    try {
      assert.equal(actions.startGroup(), null);
      actions.undo();
      actions.clearBoard();
      actions.eraseTargets(["anything"]);
      assert.equal(actions.importStrokes([{ ...strokeLike(), id: "z" }]), 0);
      assert.equal(actions.canUndo.value, false);
      assert.equal(sent.length, 0);
    } finally {
      readOnly.value = false;
    }
  });
});

function strokeLike(): Stroke {
  return { id: "s", x0: 0, y0: 0, x1: 1, y1: 1, color: "#e63946", width: 2 };
}

Deno.test("cursor throttle: at most one call per interval, the last position always goes", () => {
  let now = 0;
  const timers: { at: number; f: () => void }[] = [];
  const clock = {
    now: () => now,
    setTimeout: (f: () => void, ms: number) => timers.push({ at: now + ms, f }),
  };
  const calls: [number, number, number][] = [];
  const send = actions.throttle(50, (x: number, y: number) => calls.push([now, x, y]), clock);
  const advance = (to: number) => {
    while (true) {
      timers.sort((a, b) => a.at - b.at);
      if (!timers.length || timers[0].at > to) break;
      const t = timers.shift()!;
      now = t.at;
      t.f();
    }
    now = to;
  };
  // A pointer moving at 250 events a second for one second.
  for (let ms = 0; ms <= 1000; ms += 4) {
    advance(ms);
    send(ms, -ms);
  }
  advance(2000);
  assert.ok(calls.length <= 21 + 1, `${calls.length} calls in a second`);
  assert.ok(calls.length >= 15, `only ${calls.length} calls`);
  for (let i = 1; i < calls.length; i++) {
    assert.ok(calls[i][0] - calls[i - 1][0] >= 50, "never two within 50 ms");
  }
  assert.deepEqual(calls.at(-1)?.slice(1), [1000, -1000], "the last position is sent");
  assert.deepEqual(calls[0], [0, 0, -0], "the first goes at once");
});

Deno.test("sendCursor sends board coordinates, rounded and in range", () => {
  sent.length = 0;
  actions.sendCursor(NaN, 1);
  actions.sendCursor(12.345, 2e9); // the first one goes at once
  const cursors = sent.filter((m) => m.type === "cursor");
  assert.deepEqual(cursors, [{ type: "cursor", x: 12.3, y: 1_000_000 }]);
});
