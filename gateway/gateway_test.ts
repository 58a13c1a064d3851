/** The WebSocket protocol against a fake cluster, over real sockets. */
import assert from "node:assert/strict";
import type { ServerMessage } from "../protocol/mod.ts";
import { setup } from "../tests/testing/gateway_harness.ts";
import { GatewayClient, makeStroke } from "./client.ts";

/** Waits until the gateway has taken in the fake cluster's whole committed log. */
async function caughtUp(h: ReturnType<typeof setup>): Promise<void> {
  for (let i = 0; i < 500 && h.gateway.stream.lastIndex < h.fake.commitIndex; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(h.gateway.stream.lastIndex, h.fake.commitIndex, "gateway never caught up");
}

function indexesOf(entries: { index: number }[]): number[] {
  return entries.map((e) => e.index);
}

Deno.test("hello first, then the board's replay in index order, then live strokes", async () => {
  const h = setup();
  try {
    const mine = Array.from({ length: 5 }, () => makeStroke("r", { board: "room" }));
    const other = Array.from({ length: 3 }, () => makeStroke("o", { board: "elsewhere" }));
    h.fake.appendCommitted([mine[0], other[0], mine[1], mine[2], other[1], mine[3]]);
    h.fake.appendCommitted([other[2], mine[4]]);
    await caughtUp(h);

    const a = await h.connect("room");
    const replay = await a.waitForStrokes(mine.map((s) => s.id));
    const hello = a.messages[0] as Extract<ServerMessage, { type: "hello" }>;
    assert.equal(hello.type, "hello");
    assert.equal(hello.board, "room");
    assert.equal(hello.commitIndex, h.fake.commitIndex);
    assert.deepEqual(replay.map((e) => e.stroke.id), mine.map((s) => s.id));
    const fakeIndexes = h.fake.committedStrokes().filter((e) => e.stroke.board === "room");
    assert.deepEqual(indexesOf(replay), indexesOf(fakeIndexes));

    const live = [makeStroke("live"), makeStroke("live")];
    live.forEach((s) => a.sendStroke(s));
    const all = await a.waitForStrokes(live.map((s) => s.id));
    assert.equal(all.length, 7, "no stroke of another board, none twice");
    const idx = indexesOf(all);
    assert.deepEqual(idx, [...idx].sort((x, y) => x - y));
    assert.equal(new Set(idx).size, idx.length);
    assert.ok(all.every((e) => e.stroke.board === "room"));
  } finally {
    await h.close();
  }
});

Deno.test("since resumes after an index without repeats", async () => {
  const h = setup();
  try {
    const strokes = Array.from({ length: 6 }, () => makeStroke("since"));
    const indexes = h.fake.appendCommitted(strokes);
    await caughtUp(h);
    const resumed = await h.connect("default", indexes[2]);
    const got = await resumed.waitForStrokes(strokes.slice(3).map((s) => s.id));
    assert.deepEqual(got.map((e) => e.stroke.id), strokes.slice(3).map((s) => s.id));

    const next = makeStroke("since");
    resumed.sendStroke(next);
    const after = await resumed.waitForStrokes([next.id]);
    assert.deepEqual(after.map((e) => e.stroke.id), [...strokes.slice(3), next].map((s) => s.id));

    // A `since` ahead of the gateway (it restarted and is still catching up) still never repeats.
    const ahead = await h.connect("default", h.fake.commitIndex + 2);
    const later = [makeStroke("since"), makeStroke("since"), makeStroke("since")];
    h.fake.appendCommitted(later);
    await caughtUp(h);
    const final = await ahead.waitForStrokes([later[2].id]);
    assert.deepEqual(final.map((e) => e.stroke.id), [later[2].id]);
  } finally {
    await h.close();
  }
});

Deno.test("ack only after commit, with the committed index", async () => {
  const h = setup();
  try {
    const a = await h.connect();
    const b = await h.connect();
    h.fake.pauseCommits();
    const stroke = makeStroke("held");
    a.sendStroke(stroke);
    await waitUntil(() => h.fake.log.some((e) => "stroke" in e && e.stroke.id === stroke.id));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(a.acks().size, 0, "acked before commit");
    assert.equal(b.strokes().length, 0, "streamed before commit");

    h.fake.resumeCommits();
    const acks = await a.waitForAcks([stroke.id]);
    const entry = h.fake.committedStrokes().find((e) => e.stroke.id === stroke.id);
    assert.equal(acks.get(stroke.id), entry?.index);
    const seen = await b.waitForStrokes([stroke.id]);
    const { by, at, ...committed } = seen[0].stroke;
    assert.deepEqual([{ index: seen[0].index, stroke: committed }], [{
      index: entry?.index,
      stroke: { ...stroke, board: "default" },
    }]);
    assert.match(by ?? "", /^Guest /, "the gateway names the author");
    assert.ok(at !== undefined && Math.abs(at - Date.now()) < 60_000, "stamped with the time");
  } finally {
    await h.close();
  }
});

Deno.test("authorship: stamped by the gateway on a group's first stroke and on ops, never taken from the browser", async () => {
  const h = setup();
  try {
    const a = await h.connect();
    const forged = { by: "Someone Else", at: 1 };
    const first = { ...makeStroke("g", { group: "grp" }), ...forged };
    const second = { ...makeStroke("g", { group: "grp" }), ...forged };
    a.send({ type: "stroke", stroke: first });
    a.send({ type: "stroke", stroke: second });
    a.send({ type: "erase", id: "erase-1", targets: ["grp"], ...forged });
    await a.waitForAcks([first.id, second.id, "erase-1"]);
    const log = h.fake.log;
    const s1 = log.find((e) => "stroke" in e && e.stroke.id === first.id);
    const s2 = log.find((e) => "stroke" in e && e.stroke.id === second.id);
    const op = log.find((e) => "erase" in e && e.erase.id === "erase-1");
    assert.ok(s1 && "stroke" in s1 && s2 && "stroke" in s2 && op && "erase" in op);
    assert.match(s1.stroke.by ?? "", /^Guest /);
    assert.ok(s1.stroke.at !== undefined && s1.stroke.at > 1);
    assert.equal(s2.stroke.by, undefined, "later segments of the group share the first's");
    assert.equal(s2.stroke.at, undefined);
    assert.equal(op.erase.by, s1.stroke.by);
    assert.ok(op.erase.at !== undefined && op.erase.at >= s1.stroke.at);
  } finally {
    await h.close();
  }
});

Deno.test("a repeated id is acked with the first index and never stored twice", async () => {
  const h = setup();
  try {
    const stroke = makeStroke("dup");
    const first = await h.connect();
    first.sendStroke(stroke);
    const index = (await first.waitForAcks([stroke.id])).get(stroke.id);
    await first.close();

    const again = await h.connect();
    again.sendStroke({ ...stroke, x0: 999 }); // a retry after reconnect, even a garbled one
    again.sendStroke(stroke);
    await again.waitFor("two acks", () => {
      const acks = again.messages.filter((m) => m.type === "ack");
      return acks.length === 2 ? acks : undefined;
    });
    assert.ok(again.messages.filter((m) => m.type === "ack").every((m) => m.index === index));
    assert.equal(h.fake.committedStrokes().filter((e) => e.stroke.id === stroke.id).length, 1);
    const streamed = await again.waitForStrokes([stroke.id]);
    assert.equal(streamed.filter((e) => e.stroke.id === stroke.id).length, 1);
  } finally {
    await h.close();
  }
});

Deno.test("strokes from many clients share few propose calls", async () => {
  const h = setup({ cluster: { commitDelayMs: 20 } });
  try {
    const clients = await Promise.all(Array.from({ length: 5 }, () => h.connect()));
    const sent = clients.map((c) => {
      const strokes = Array.from({ length: 200 }, () => makeStroke("batch"));
      strokes.forEach((s) => c.sendStroke(s));
      return strokes;
    });
    await Promise.all(clients.map((c, i) => c.waitForAcks(sent[i].map((s) => s.id))));
    assert.equal(h.fake.stats.proposedStrokes, 1000);
    assert.ok(h.fake.stats.proposeCalls < 100, `${h.fake.stats.proposeCalls} propose calls`);
    console.log(`1000 strokes from 5 clients took ${h.fake.stats.proposeCalls} propose calls`);
  } finally {
    await h.close();
  }
});

Deno.test("a stale leader's 421 hint is followed; the token is sent to replicas", async () => {
  const h = setup({
    cluster: { token: "s3cret" },
    gateway: { cluster: { refreshIntervalMs: 60_000 } }, // keep the stale view
  });
  try {
    const a = await h.connect();
    const warm = makeStroke("hint");
    a.sendStroke(warm);
    await a.waitForAcks([warm.id]);
    h.fake.setLeader(2);
    const moved = makeStroke("hint");
    a.sendStroke(moved);
    await a.waitForAcks([moved.id]);
    assert.ok(h.fake.stats.notLeader >= 1, "the old leader should have answered 421");
    assert.equal(h.gateway.cluster.leader?.id, "replica3");
    await a.waitForStrokes([warm.id, moved.id]);
  } finally {
    await h.close();
  }
});

Deno.test("http routes: status, healthz, bad query, no upgrade, unknown path", async () => {
  const h = setup();
  try {
    const a = await h.connect();
    await waitUntil(() => h.gateway.cluster.reachableUrls().length === 3);
    const status = await h.status();
    assert.equal(status.leaderId, "replica1");
    assert.equal(status.clients, 1);
    assert.deepEqual(status.replicas.map((r) => r.reachable), [true, true, true]);
    assert.deepEqual(status.replicas.map((r) => r.state), ["leader", "follower", "follower"]);
    const base = `http://127.0.0.1:${h.gateway.port}`;
    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
    for (
      const [path, code] of [
        ["/ws?board=bad%20name", 400],
        ["/ws?since=-1", 400],
        ["/ws?since=1.5", 400],
        ["/ws", 426],
        ["/ws?upgrade-headers-but-no-key", 400],
        ["/nope", 404],
      ] as const
    ) {
      const headers: Record<string, string> = path.includes("no-key")
        ? { upgrade: "websocket", connection: "Upgrade" }
        : {};
      const res = await fetch(`${base}${path}`, { headers });
      const body = await res.json();
      assert.equal(res.status, code, path);
      assert.equal(typeof body.error, "string");
    }
    await a.close();
  } finally {
    await h.close();
  }
});

async function waitUntil(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("sessions in step share one encoding of each batch; a late one gets its own replay", async () => {
  const h = setup();
  try {
    const clients = await Promise.all(Array.from({ length: 8 }, () => h.connect("fan")));
    await Promise.all(clients.map((c) => c.hello()));
    const before = h.gateway.hub.encodedBatches;
    for (let round = 0; round < 3; round++) {
      const batch = Array.from({ length: 20 }, () => makeStroke("fan", { board: "fan" }));
      h.fake.appendCommitted(batch);
      await Promise.all(clients.map((c) => c.waitForStrokes(batch.map((s) => s.id))));
    }
    const encoded = h.gateway.hub.encodedBatches - before;
    // Each commit batch is one message whatever the number of clients (a batch may arrive split).
    assert.ok(encoded >= 3 && encoded <= 6, `${encoded} encodings for 3 batches to 8 clients`);
    const texts = clients.map((c) => JSON.stringify(c.strokes()));
    assert.ok(texts.every((t) => t === texts[0]), "every client got the same strokes");
    const late = await h.connect("fan");
    await late.waitForStrokes(clients[0].strokes().map((e) => e.stroke.id));
    assert.deepEqual(late.strokes(), clients[0].strokes());
  } finally {
    await h.close();
  }
});

Deno.test("the same stroke id on two boards is two strokes, each acked and shown on its own board", async () => {
  const h = setup();
  try {
    const [a, b] = [await h.connect("alpha"), await h.connect("beta")];
    const stroke = makeStroke("shared");
    a.sendStroke(stroke);
    b.sendStroke(stroke);
    const [ackA, ackB] = [await a.waitForAcks([stroke.id]), await b.waitForAcks([stroke.id])];
    assert.notEqual(ackA.get(stroke.id), ackB.get(stroke.id), "one index per board");
    const [onA, onB] = [await a.waitForStrokes([stroke.id]), await b.waitForStrokes([stroke.id])];
    assert.deepEqual(onA.map((e) => [e.index, e.stroke.board]), [[ackA.get(stroke.id), "alpha"]]);
    assert.deepEqual(onB.map((e) => [e.index, e.stroke.board]), [[ackB.get(stroke.id), "beta"]]);
    // A retry on alpha is acked with alpha's first index and shows nowhere again.
    a.sendStroke(stroke);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(a.acks().get(stroke.id), ackA.get(stroke.id));
    assert.equal(a.strokes().length, 1);
  } finally {
    await h.close();
  }
});

Deno.test("a client that does not decode strokes counts them and still gets its acks", async () => {
  const h = setup();
  const counter = await GatewayClient.connect(`ws://127.0.0.1:${h.gateway.port}/ws`, {
    board: "room",
    decodeStrokes: false,
  });
  try {
    const decoder = await h.connect("room");
    const mine = makeStroke("count", { board: "room" });
    const index = await counter.draw(mine);
    const other = makeStroke("other", { board: "room" });
    decoder.sendStroke(other);
    const seen = await decoder.waitForStrokes([mine.id, other.id]);
    assert.equal(index, seen.find((e) => e.stroke.id === mine.id)?.index, "acked at its index");
    await waitUntil(() => counter.strokesMessages >= 1 && counter.messages.length >= 2);
    assert.equal(counter.strokes().length, 0, "nothing decoded");
    await waitUntil(() => counter.strokesEntries === 2);
    assert.ok(counter.messages.every((m) => m.type !== "strokes"));
  } finally {
    await counter.close();
    await h.close();
  }
});
