import assert from "node:assert/strict";
import type { CommittedStroke, Stroke } from "../../protocol/mod.ts";
import {
  addPending,
  applyAck,
  applyCommitted,
  applyRefusal,
  type BoardState,
  createBoardState,
  idOf,
  isCommittedVisible,
  isPendingVisible,
  needsReset,
  type OutMessage,
  resendList,
  resetCommitted,
  unsavedCount,
} from "./board_state.ts";

const stroke = (id: string, x = 0, group?: string): Stroke => ({
  id,
  x0: x,
  y0: 0,
  x1: x + 10,
  y1: 10,
  color: "#e63946",
  width: 4,
  ...(group ? { group } : {}),
});
const entry = (index: number, id: string, group?: string): CommittedStroke => ({
  index,
  stroke: stroke(id, index, group),
});
const own = (id: string, group?: string): OutMessage => ({
  type: "stroke",
  stroke: stroke(id, 0, group),
});
const ids = (msgs: OutMessage[]) => msgs.map(idOf);
/** Ids of the visible strokes, committed then pending. */
function visible(s: BoardState): string[] {
  const out = s.committed.filter((_, i) => isCommittedVisible(s, i)).map((x) => x.id);
  for (const p of s.pending.values()) {
    if (p.msg.type === "stroke" && isPendingVisible(s, p)) out.push(p.msg.stroke.id);
  }
  return out;
}

Deno.test("board state", async (t) => {
  await t.step("committed entries append in index order and move lastIndex", () => {
    const s = createBoardState();
    assert.equal(applyCommitted(s, [entry(1, "a"), entry(2, "b")]).added, 2);
    assert.equal(applyCommitted(s, [entry(5, "c")]).added, 1, "gaps are other boards or no-ops");
    assert.deepEqual(s.committed.map((x) => x.id), ["a", "b", "c"]);
    assert.deepEqual(s.committedIndex, [1, 2, 5]);
    assert.equal(s.lastIndex, 5);
  });

  await t.step("a repeated or older entry is ignored", () => {
    const s = createBoardState();
    applyCommitted(s, [entry(1, "a"), entry(2, "b")]);
    assert.equal(applyCommitted(s, [entry(2, "b"), entry(1, "a"), entry(3, "c")]).added, 1);
    assert.deepEqual(s.committed.map((x) => x.id), ["a", "b", "c"]);
    assert.equal(s.lastIndex, 3);
  });

  await t.step("own stroke is pending until its committed copy arrives", () => {
    const s = createBoardState();
    assert.equal(addPending(s, own("me:1")), true);
    assert.equal(addPending(s, own("me:1")), false, "same id twice is one stroke");
    addPending(s, own("me:2"));
    const r = applyCommitted(s, [entry(1, "other:1"), entry(2, "me:1")]);
    assert.deepEqual(r.retired, ["me:1"]);
    assert.deepEqual([...s.pending.keys()], ["me:2"]);
  });

  await t.step("an ack keeps the stroke shown but out of the resend list", () => {
    const s = createBoardState();
    addPending(s, own("me:1"));
    addPending(s, own("me:2"));
    addPending(s, own("me:3"));
    applyAck(s, "me:2", 7);
    assert.equal(s.pending.size, 3);
    assert.equal(unsavedCount(s), 2);
    assert.deepEqual(ids(resendList(s)), ["me:1", "me:3"], "oldest first");
    applyCommitted(s, [entry(7, "me:2")]);
    assert.deepEqual([...s.pending.keys()], ["me:1", "me:3"]);
  });

  await t.step("an ack at or below lastIndex retires the stroke", () => {
    const s = createBoardState();
    applyCommitted(s, [entry(1, "x"), entry(2, "y")]);
    addPending(s, own("me:1"));
    assert.equal(applyAck(s, "me:1", 2), true);
    assert.equal(s.pending.size, 0);
    assert.equal(applyAck(s, "unknown", 9), false);
  });

  await t.step("refusals: retryable kept, the others dropped", () => {
    const s = createBoardState();
    addPending(s, own("me:1"));
    addPending(s, own("me:2"));
    assert.equal(applyRefusal(s, "me:1", "unavailable"), "retry");
    assert.equal(applyRefusal(s, "me:1", "rate_limited"), "retry");
    assert.equal(applyRefusal(s, "me:2", "bad_stroke"), "dropped");
    assert.equal(applyRefusal(s, "nope", "bad_stroke"), "unknown");
    assert.deepEqual(ids(resendList(s)), ["me:1"]);
  });

  await t.step("a cluster with a shorter history resets the log, pending is resent", () => {
    const s = createBoardState();
    applyCommitted(s, [entry(1, "a"), entry(2, "b"), { index: 3, clear: { id: "c" } }]);
    addPending(s, own("me:1"));
    applyAck(s, "me:1", 4);
    assert.equal(needsReset(s, 3), false);
    assert.equal(needsReset(s, 1), true);
    const before = s.committed;
    resetCommitted(s);
    assert.equal(s.committed.length, 0);
    assert.equal(before.length, 2, "the old array is left alone");
    assert.equal(s.lastIndex, 0);
    assert.equal(s.shownVis.isHidden("c"), false, "the old clear is forgotten");
    assert.deepEqual(ids(resendList(s)), ["me:1"]);
  });

  await t.step("committed erase, restore and clear decide what is visible", () => {
    const s = createBoardState();
    applyCommitted(s, [entry(1, "a", "g1"), entry(2, "b", "g1"), entry(3, "c")]);
    const r = applyCommitted(s, [{ index: 4, erase: { id: "e", targets: ["g1"] } }]);
    assert.equal(r.ops, true);
    assert.deepEqual(visible(s), ["c"]);
    applyCommitted(s, [{ index: 5, restore: { id: "r", targets: ["g1"] } }, entry(6, "d")]);
    assert.deepEqual(visible(s), ["a", "b", "c", "d"]);
    applyCommitted(s, [{ index: 7, clear: { id: "clr" } }, entry(8, "after")]);
    assert.deepEqual(visible(s), ["after"], "a clear hides what came before it only");
    applyCommitted(s, [{ index: 9, restore: { id: "r2", targets: ["clr"] } }]);
    assert.deepEqual(visible(s), ["a", "b", "c", "d", "after"]);
  });

  await t.step("own ops show at once, in the order they were made", () => {
    const s = createBoardState();
    applyCommitted(s, [entry(1, "a", "g1"), entry(2, "b", "g2")]);
    addPending(s, { type: "erase", id: "op1", targets: ["g1"] });
    assert.deepEqual(visible(s), ["b"], "the erase hides at once");
    addPending(s, own("me:1", "g3"));
    addPending(s, { type: "clear", id: "clr" });
    addPending(s, own("me:2", "g4"));
    assert.deepEqual(visible(s), ["me:2"], "a pending clear hides what was drawn before it");
    applyCommitted(s, [
      { index: 3, erase: { id: "op1", targets: ["g1"] } },
      entry(4, "me:1", "g3"),
    ]);
    assert.deepEqual(visible(s), ["me:2"]);
    assert.equal(applyRefusal(s, "clr", "read_only"), "dropped");
    assert.deepEqual(visible(s), ["b", "me:1", "me:2"], "a refused op no longer hides");
  });

  await t.step("items read back from the outbox sort before newer ones", () => {
    const s = createBoardState(100);
    addPending(s, own("new"));
    addPending(s, own("old:1"), 5);
    addPending(s, { type: "erase", id: "old:2", targets: ["x"] }, 6);
    assert.deepEqual(ids(resendList(s)), ["old:1", "old:2", "new"]);
    addPending(s, own("newer"));
    assert.equal(s.pending.get("newer")?.seq, 101);
  });
});
