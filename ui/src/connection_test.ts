import assert from "node:assert/strict";
import type { Stroke } from "../../protocol/mod.ts";
import { startFakeGateway } from "../../tests/testing/fake_gateway.ts";
import { backoffMs, connect, statusUrlOf } from "./connection.ts";
import * as store from "./store.ts";

async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let counter = 0;
const newStroke = (): Stroke => ({
  id: `test:${++counter}`,
  x0: counter,
  y0: 0,
  x1: counter + 5,
  y1: 5,
  color: "#e63946",
  width: 4,
});

Deno.test("backoff doubles from 250 ms to a 5 s cap, jittered by half", () => {
  assert.equal(backoffMs(0, 1), 250);
  assert.equal(backoffMs(0, 0), 125);
  assert.equal(backoffMs(3, 1), 2000);
  assert.equal(backoffMs(50, 1), 5000);
  assert.equal(backoffMs(50, 0), 2500);
});

Deno.test("status URL sits beside the socket", () => {
  assert.equal(statusUrlOf("ws://gw:8080/ws?x=1"), "http://gw:8080/status");
  assert.equal(statusUrlOf("wss://board.example/ws"), "https://board.example/status");
});

Deno.test("connection against a fake gateway", async (t) => {
  const gw = startFakeGateway();
  const conn = connect(gw.url, "default");
  const draw = () => {
    const s = newStroke();
    store.addOwnStroke(s);
    conn.send({ type: "stroke", stroke: s });
    return s;
  };
  try {
    await t.step("says hello, shows the leader, commits a stroke", async () => {
      await until("open", () => store.connection.value === "open");
      assert.equal(gw.connections[0].get("since"), "0");
      draw();
      await until("commit", () => store.committedCount.value === 1);
      assert.equal(store.pendingCount.value, 0);
      assert.equal(store.cluster.value?.leaderId, "replica1");
    });

    await t.step("strokes drawn during an outage are resent once, with their ids", async () => {
      gw.holdStrokes = true;
      const ids = [draw(), draw(), draw()].map((s) => s.id);
      await until("held strokes received", () => gw.received.length === 4);
      assert.equal(store.pendingCount.value, 3);
      gw.dropAll();
      await until("reconnecting", () => store.connection.value === "reconnecting");
      await until("reopened", () => store.connection.value === "open");
      assert.equal(gw.connections.at(-1)?.get("since"), "1", "resumes after the last index seen");
      await until("resent", () => gw.received.length === 7);
      assert.deepEqual(gw.received.slice(4).map((s) => s.id), ids);
      gw.holdStrokes = false;
      gw.release();
      await until("all committed", () => store.committedCount.value === 4);
      assert.equal(store.pendingCount.value, 0);
      assert.deepEqual(gw.log.map((e) => e.stroke.id).slice(1), ids, "no duplicates in the log");
      assert.deepEqual(store.board.committed.map((s) => s.id), gw.log.map((e) => e.stroke.id));
    });

    await t.step("a wiped cluster makes the page start over from index 0", async () => {
      const epoch = store.boardEpoch.value;
      gw.wipe();
      gw.dropAll();
      await until("reset", () => store.boardEpoch.value === epoch + 1);
      await until("reopened", () => store.connection.value === "open");
      assert.equal(gw.connections.at(-1)?.get("since"), "0");
      assert.equal(store.committedCount.value, 0);
      draw();
      await until("commit after reset", () => store.committedCount.value === 1);
      assert.equal(store.lastIndex.value, 1);
    });

    await t.step("a refused stroke is dropped and reported", async () => {
      const before = store.committedCount.value;
      const bad = { ...newStroke(), color: "red" };
      store.addOwnStroke(bad);
      conn.send({ type: "stroke", stroke: bad });
      await until("refusal", () => store.lastError.value !== null);
      assert.match(store.lastError.value ?? "", /^bad_stroke/);
      assert.equal(store.pendingCount.value, 0, "a stroke that can never commit is dropped");
      assert.equal(store.committedCount.value, before);
    });
  } finally {
    conn.close();
    await gw.close();
  }
});
