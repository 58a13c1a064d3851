import assert from "node:assert/strict";
import { historyKey, MAX_STEPS, memoryStore, UndoHistory } from "./undo_stack.ts";

/** A toy board: the set of hidden targets, changed by compensations. */
function board() {
  const hidden = new Set<string>();
  return {
    hidden,
    isHidden: (t: string) => hidden.has(t),
    apply(op: { type: "erase" | "restore"; targets: string[] } | null) {
      for (const t of op?.targets ?? []) op!.type === "erase" ? hidden.add(t) : hidden.delete(t);
    },
  };
}

Deno.test("undo history", async (t) => {
  await t.step("undo erases own groups last first, redo restores them", () => {
    const b = board();
    const h = new UndoHistory(memoryStore(), "k");
    h.push({ targets: ["g1"], hidden: false });
    h.push({ targets: ["g2"], hidden: false });
    const op = h.undo(b.isHidden);
    assert.deepEqual(op, { type: "erase", targets: ["g2"] });
    b.apply(op);
    b.apply(h.undo(b.isHidden));
    assert.deepEqual([...b.hidden].sort(), ["g1", "g2"]);
    assert.equal(h.undo(b.isHidden), null, "nothing left to undo");
    b.apply(h.redo(b.isHidden));
    assert.deepEqual([...b.hidden], ["g2"], "redo brings back the first undone last");
    assert.equal(h.undoDepth, 1);
    assert.equal(h.redoDepth, 1);
  });

  await t.step("undo of an erase or a clear restores, redo hides again", () => {
    const b = board();
    const h = new UndoHistory(memoryStore(), "k");
    b.hidden.add("theirs");
    h.push({ targets: ["theirs"], hidden: true });
    b.hidden.add("clear:1");
    h.push({ targets: ["clear:1"], hidden: true });
    b.apply(h.undo(b.isHidden));
    assert.equal(b.isHidden("clear:1"), false);
    b.apply(h.undo(b.isHidden));
    assert.equal(b.hidden.size, 0);
    b.apply(h.redo(b.isHidden));
    b.apply(h.redo(b.isHidden));
    assert.deepEqual([...b.hidden].sort(), ["clear:1", "theirs"]);
  });

  await t.step("a new action drops what could be redone", () => {
    const b = board();
    const h = new UndoHistory(memoryStore(), "k");
    h.push({ targets: ["g1"], hidden: false });
    b.apply(h.undo(b.isHidden));
    h.push({ targets: ["g2"], hidden: false });
    assert.equal(h.redoDepth, 0);
    assert.equal(h.redo(b.isHidden), null);
  });

  await t.step("what someone else changed since is left alone, and redo matches", () => {
    const b = board();
    const h = new UndoHistory(memoryStore(), "k");
    h.push({ targets: ["g1", "g2"], hidden: false });
    b.hidden.add("g1"); // another user erased g1
    const op = h.undo(b.isHidden);
    assert.deepEqual(op, { type: "erase", targets: ["g2"] });
    b.apply(op);
    assert.deepEqual(h.redo(b.isHidden), { type: "restore", targets: ["g2"] }, "g1 stays erased");
    h.push({ targets: ["g3"], hidden: false });
    b.hidden.add("g3");
    assert.equal(h.undo(b.isHidden), null, "nothing of the step left: used up");
    assert.equal(h.redoDepth, 1, "an empty step keeps undo and redo counts in step");
    assert.equal(h.redo(b.isHidden), null);
  });

  await t.step("undo n then redo n gives the same picture (random runs)", () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    for (let run = 0; run < 200; run++) {
      const b = board();
      const h = new UndoHistory(memoryStore(), "k");
      for (let i = 0; i < 12; i++) {
        const r = rnd();
        if (r < 0.5) h.push({ targets: [`g${i}`], hidden: false });
        else if (r < 0.8) {
          const victim = `g${Math.floor(rnd() * i)}`;
          if (!b.isHidden(victim)) {
            b.hidden.add(victim);
            h.push({ targets: [victim], hidden: true });
          }
        } else b.apply(h.undo(b.isHidden));
      }
      const before = [...b.hidden].sort().join();
      const n = Math.floor(rnd() * (h.undoDepth + 1));
      for (let i = 0; i < n; i++) b.apply(h.undo(b.isHidden));
      for (let i = 0; i < n; i++) b.apply(h.redo(b.isHidden));
      assert.equal([...b.hidden].sort().join(), before, `run ${run}, n ${n}`);
    }
  });

  await t.step("pushes of one gesture are one step; a push or undo in between ends it", () => {
    const b = board();
    const h = new UndoHistory(memoryStore(), "k");
    for (const g of ["g1", "g2", "g3"]) {
      b.hidden.add(g);
      h.push({ targets: [g], hidden: true, gesture: "drag1" });
    }
    assert.equal(h.undoDepth, 1);
    const op = h.undo(b.isHidden);
    assert.deepEqual(op, { type: "restore", targets: ["g1", "g2", "g3"] });
    b.apply(op);
    b.apply(h.redo(b.isHidden));
    assert.deepEqual([...b.hidden].sort(), ["g1", "g2", "g3"]);
    h.push({ targets: ["g4"], hidden: true, gesture: "drag2" });
    h.push({ targets: ["g5"], hidden: false }); // another tab drew mid-drag
    h.push({ targets: ["g6"], hidden: true, gesture: "drag2" });
    assert.equal(h.undoDepth, 4, "never joins a step that is not the gesture's own");
    h.undo(b.isHidden);
    h.push({ targets: ["g7"], hidden: true, gesture: "drag2" });
    assert.equal(h.undoDepth, 4, "after an undo mid-drag, the rest is a step of its own");
    assert.equal(h.redoDepth, 0);
    assert.equal(new UndoHistory(h.store, "k").undoDepth, 4, "the gesture key survives storage");
  });

  await t.step("kept in storage: a reload and another tab see the same stacks", () => {
    const store = memoryStore();
    const key = historyKey("user1", "board-a");
    const tab1 = new UndoHistory(store, key);
    const tab2 = new UndoHistory(store, key);
    tab1.push({ targets: ["g1"], hidden: false });
    tab2.push({ targets: ["g2"], hidden: false });
    assert.deepEqual(tab1.undo(() => false), { type: "erase", targets: ["g2"] });
    const reloaded = new UndoHistory(store, key);
    assert.equal(reloaded.undoDepth, 1);
    assert.equal(reloaded.redoDepth, 1);
    assert.equal(new UndoHistory(store, historyKey("user2", "board-a")).undoDepth, 0);
    assert.equal(new UndoHistory(store, historyKey("user1", "board-b")).undoDepth, 0);
  });

  await t.step("bounded, and garbage in storage is an empty history", () => {
    const store = memoryStore();
    const h = new UndoHistory(store, "k");
    for (let i = 0; i < MAX_STEPS + 10; i++) h.push({ targets: [`g${i}`], hidden: false });
    assert.equal(h.undoDepth, MAX_STEPS);
    store.setItem("bad", "{not json");
    assert.equal(new UndoHistory(store, "bad").undoDepth, 0);
    store.setItem(
      "odd",
      JSON.stringify({ undo: [{ targets: [1] }, { targets: ["a"], hidden: 1 }] }),
    );
    assert.equal(new UndoHistory(store, "odd").undoDepth, 0);
  });
});
