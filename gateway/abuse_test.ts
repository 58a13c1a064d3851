/** Bad, oversize, flooding and never-reading clients: each is handled alone, others unaffected. */
import assert from "node:assert/strict";
import { setup } from "../tests/testing/gateway_harness.ts";
import { RawWsClient } from "../tests/testing/raw_ws.ts";
import { makeStroke } from "./client.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("bad messages get errors and the socket stays open", async () => {
  const h = setup();
  try {
    const a = await h.connect();
    const bystander = await h.connect();
    const badColor = makeStroke("bad", { color: "red" });
    a.send("not json");
    a.send("[1,2,3]");
    a.send({ type: "launch" });
    a.send({ stroke: makeStroke() });
    a.ws.send(new Uint8Array([1, 2, 3]));
    a.sendStroke(badColor);
    a.sendStroke(makeStroke("bad", { x0: 1e12 }));
    a.send({ type: "stroke", stroke: { x0: 1 } });
    a.send({ type: "stroke", stroke: { ...makeStroke(), id: "has space" } });
    a.send({ type: "ping" });
    const good = makeStroke("good", { board: "someone-elses" });
    a.sendStroke(good);
    const acks = await a.waitForAcks([good.id]);
    const errors = a.errors();
    assert.deepEqual(errors.map((e) => e.code), [
      "bad_message",
      "bad_message",
      "bad_message",
      "bad_message",
      "bad_message",
      "bad_stroke",
      "bad_stroke",
      "bad_stroke",
      "bad_stroke",
    ]);
    assert.equal(errors[5].id, badColor.id);
    assert.match(errors[5].message, /color/);
    assert.ok(errors.every((e) => typeof e.message === "string" && e.message.length > 0));
    assert.equal(a.ws.readyState, WebSocket.OPEN);
    // The socket decides the board, not the stroke.
    const seen = await bystander.waitForStrokes([good.id]);
    const { by: _by, at: _at, ...committed } = seen[0].stroke;
    assert.deepEqual([{ index: seen[0].index, stroke: committed }], [{
      index: acks.get(good.id),
      stroke: { ...good, board: "default" },
    }]);
    assert.equal(bystander.errors().length, 0);
    const ids = h.fake.committedStrokes().map((e) => e.stroke.id);
    assert.deepEqual(ids, [good.id], "nothing invalid reached the log");
  } finally {
    await h.close();
  }
});

Deno.test("an oversize message closes that socket with 1009 only", async () => {
  const h = setup();
  try {
    const a = await h.connect();
    const b = await h.connect();
    a.send({ type: "stroke", stroke: { ...makeStroke(), pad: "x".repeat(70 * 1024) } });
    assert.equal((await a.closed).code, 1009);
    const s = makeStroke("after");
    b.sendStroke(s);
    await b.waitForAcks([s.id]);
  } finally {
    await h.close();
  }
});

Deno.test("a fast sender gets rate_limited for the refused strokes and stays connected", async () => {
  const h = setup({
    gateway: { limits: { messagesPerSec: 50, messageBurst: 100, refusalBurst: 100_000 } },
  });
  try {
    const a = await h.connect();
    const strokes = Array.from({ length: 400 }, () => makeStroke("fast"));
    strokes.forEach((s) => a.sendStroke(s));
    await a.waitFor("an answer per stroke", () => {
      const answered = a.acks().size + a.errors().length;
      return answered === strokes.length ? true : undefined;
    });
    const limited = a.errors();
    assert.ok(limited.every((e) => e.code === "rate_limited"));
    assert.ok(limited.length >= 200, `${limited.length} refused`);
    assert.ok(a.acks().size >= 100, `${a.acks().size} accepted`);
    const refusedIds = new Set(limited.map((e) => e.id));
    assert.ok(strokes.every((s) => refusedIds.has(s.id) !== a.acks().has(s.id)));
    assert.equal(h.fake.committedStrokes().length, a.acks().size, "refused strokes not stored");
    assert.equal(a.ws.readyState, WebSocket.OPEN);
    console.log(`400 strokes at once: ${a.acks().size} accepted, ${limited.length} rate_limited`);
  } finally {
    await h.close();
  }
});

Deno.test("a client flooding far beyond the rate is closed with 1008; others carry on", async () => {
  const h = setup({
    gateway: { limits: { messagesPerSec: 50, messageBurst: 100, refusalBurst: 200 } },
  });
  try {
    const flooder = await h.connect();
    const other = await h.connect();
    const hello = await flooder.waitFor("hello", () => flooder.messages[0]);
    for (let i = 0; i < 2000; i++) flooder.sendStroke(makeStroke("flood"));
    await flooder.closed;
    // The close frame (1008) can be lost to a TCP reset while the flooder is still writing, so
    // the server's own record is what is checked.
    assert.ok(hello.type === "hello");
    const dropped = h.logLines.find((l) => l.includes(`client=${hello.clientId} `));
    assert.match(dropped ?? "", /event=client_dropped .*code=1008 reason="rate limit exceeded"/);
    assert.equal(h.gateway.hub.clientCount, 1);
    const s = makeStroke("calm");
    other.sendStroke(s);
    await other.waitForAcks([s.id]);
  } finally {
    await h.close();
  }
});

Deno.test("strokes beyond the pending bound are refused as unavailable, not queued", async () => {
  const h = setup({ gateway: { proposer: { maxPending: 5 } } });
  try {
    const a = await h.connect();
    h.fake.pauseCommits();
    const strokes = Array.from({ length: 8 }, () => makeStroke("bound"));
    strokes.forEach((s) => a.sendStroke(s));
    await a.waitFor("3 refusals", () => a.errors().length === 3 ? true : undefined);
    assert.ok(a.errors().every((e) => e.code === "unavailable"));
    assert.deepEqual(a.errors().map((e) => e.id), strokes.slice(5).map((s) => s.id));
    h.fake.resumeCommits();
    await a.waitForAcks(strokes.slice(0, 5).map((s) => s.id));
  } finally {
    await h.close();
  }
});

Deno.test("a client that never reads is dropped (1013) while another keeps receiving", async () => {
  const h = setup({
    gateway: { limits: { sendHighWaterBytes: 256 * 1024, slowClientTimeoutMs: 500 } },
  });
  const stuck = await RawWsClient.connect(h.gateway.port, "/ws?board=big");
  try {
    const reader = await h.connect("big");
    await reader.waitFor("hello", () => reader.messages.length > 0 ? true : undefined);
    let appended = 0;
    // The kernel buffers several MB of a loopback socket before the server sees any backlog.
    for (let round = 0; round < 60 && h.gateway.hub.clientCount > 1; round++) {
      const batch = Array.from(
        { length: 5000 },
        () => makeStroke(`big-${"x".repeat(100)}`, { board: "big" }),
      );
      h.fake.appendCommitted(batch);
      appended += batch.length;
      await reader.waitForStrokes([batch[batch.length - 1].id], 20_000);
    }
    for (let i = 0; i < 200 && h.gateway.hub.clientCount > 1; i++) await sleep(20);
    assert.equal(h.gateway.hub.clientCount, 1, "the stuck client should have been dropped");
    const got = reader.strokes();
    assert.equal(got.length, appended);
    assert.deepEqual(got.map((e) => e.index), h.fake.committedStrokes().map((e) => e.index));

    const { code, dataBytes } = await stuck.readUntilClose();
    assert.equal(code, 1013);
    console.log(`stuck client dropped after ${appended} strokes, ${dataBytes} bytes queued for it`);
  } finally {
    stuck.close();
    await h.close();
  }
});
