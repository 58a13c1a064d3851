import assert from "node:assert/strict";
import type { CommittedStroke, Stroke } from "../../protocol/mod.ts";
import {
  addPending,
  applyAck,
  applyCommitted,
  applyRefusal,
  createBoardState,
  needsReset,
  resendList,
  resetCommitted,
} from "./board_state.ts";

const stroke = (id: string, x = 0): Stroke => ({
  id,
  x0: x,
  y0: 0,
  x1: x + 10,
  y1: 10,
  color: "#e63946",
  width: 4,
});
const entry = (index: number, id: string): CommittedStroke => ({
  index,
  stroke: stroke(id, index),
});

Deno.test("board state", async (t) => {
  await t.step("committed entries append in index order and move lastIndex", () => {
    const s = createBoardState();
    assert.equal(applyCommitted(s, [entry(1, "a"), entry(2, "b")]), 2);
    assert.equal(applyCommitted(s, [entry(5, "c")]), 1, "gaps are other boards or no-ops");
    assert.deepEqual(s.committed.map((x) => x.id), ["a", "b", "c"]);
    assert.equal(s.lastIndex, 5);
  });

  await t.step("a repeated or older entry is ignored", () => {
    const s = createBoardState();
    applyCommitted(s, [entry(1, "a"), entry(2, "b")]);
    assert.equal(applyCommitted(s, [entry(2, "b"), entry(1, "a"), entry(3, "c")]), 1);
    assert.deepEqual(s.committed.map((x) => x.id), ["a", "b", "c"]);
    assert.equal(s.lastIndex, 3);
  });

  await t.step("own stroke is pending until its committed copy arrives", () => {
    const s = createBoardState();
    assert.equal(addPending(s, stroke("me:1")), true);
    assert.equal(addPending(s, stroke("me:1")), false, "same id twice is one stroke");
    addPending(s, stroke("me:2"));
    applyCommitted(s, [entry(1, "other:1"), entry(2, "me:1")]);
    assert.deepEqual([...s.pending.keys()], ["me:2"]);
  });

  await t.step("an ack keeps the stroke drawn but out of the resend list", () => {
    const s = createBoardState();
    addPending(s, stroke("me:1"));
    addPending(s, stroke("me:2"));
    addPending(s, stroke("me:3"));
    applyAck(s, "me:2", 7);
    assert.equal(s.pending.size, 3);
    assert.deepEqual(resendList(s).map((x) => x.id), ["me:1", "me:3"], "oldest first");
    applyCommitted(s, [entry(7, "me:2")]);
    assert.deepEqual([...s.pending.keys()], ["me:1", "me:3"]);
  });

  await t.step("an ack at or below lastIndex retires the stroke", () => {
    const s = createBoardState();
    applyCommitted(s, [entry(1, "x"), entry(2, "y")]);
    addPending(s, stroke("me:1"));
    applyAck(s, "me:1", 2);
    assert.equal(s.pending.size, 0);
    applyAck(s, "unknown", 9);
    assert.equal(s.pending.size, 0);
  });

  await t.step("refusals: retryable kept, the others dropped", () => {
    const s = createBoardState();
    addPending(s, stroke("me:1"));
    addPending(s, stroke("me:2"));
    assert.equal(applyRefusal(s, "me:1", "unavailable"), "retry");
    assert.equal(applyRefusal(s, "me:1", "rate_limited"), "retry");
    assert.equal(applyRefusal(s, "me:2", "bad_stroke"), "dropped");
    assert.equal(applyRefusal(s, "nope", "bad_stroke"), "unknown");
    assert.deepEqual(resendList(s).map((x) => x.id), ["me:1"]);
  });

  await t.step("a cluster with a shorter history resets the log, pending is resent", () => {
    const s = createBoardState();
    applyCommitted(s, [entry(1, "a"), entry(2, "b")]);
    addPending(s, stroke("me:1"));
    applyAck(s, "me:1", 3);
    assert.equal(needsReset(s, 2), false);
    assert.equal(needsReset(s, 1), true);
    const before = s.committed;
    resetCommitted(s);
    assert.equal(s.committed.length, 0);
    assert.equal(before.length, 2, "the old array is left alone");
    assert.equal(s.lastIndex, 0);
    assert.deepEqual(resendList(s).map((x) => x.id), ["me:1"]);
  });
});
