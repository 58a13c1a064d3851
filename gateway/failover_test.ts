/** Leader crashes and leadership changes while strokes are in flight: nothing lost or repeated. */
import assert from "node:assert/strict";
import type { Stroke } from "../protocol/mod.ts";
import { type Harness, setup } from "../tests/testing/gateway_harness.ts";
import { type GatewayClient, makeStroke } from "./client.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await sleep(5);
  }
}

function send(client: GatewayClient, count: number, prefix: string): Stroke[] {
  const strokes = Array.from({ length: count }, () => makeStroke(prefix));
  strokes.forEach((s) => client.sendStroke(s));
  return strokes;
}

/**
 * Every acked stroke is in the fake's committed log exactly once, at its acked index, and every
 * client streamed exactly the board's committed strokes, in index order.
 */
async function assertExactlyOnce(
  h: Harness,
  senders: GatewayClient[],
  clients: GatewayClient[],
  sent: Stroke[],
): Promise<void> {
  const acks = new Map<string, number>();
  for (const c of senders) for (const [id, index] of c.acks()) acks.set(id, index);
  assert.equal(acks.size, sent.length, "every stroke acked");
  const committed = h.fake.committedStrokes();
  const byId = new Map<string, number[]>();
  for (const e of committed) byId.set(e.stroke.id, [...(byId.get(e.stroke.id) ?? []), e.index]);
  for (const s of sent) {
    assert.deepEqual(byId.get(s.id), [acks.get(s.id)], `stroke ${s.id} once, at its acked index`);
  }
  const expected = committed.map((e) => `${e.index}:${e.stroke.id}`);
  for (const c of clients) {
    await c.waitForStrokes(sent.map((s) => s.id));
    await sleep(50); // anything repeated would arrive right behind
    assert.deepEqual(c.strokes().map((e) => `${e.index}:${e.stroke.id}`), expected);
  }
}

for (const loseUncommitted of [true, false]) {
  const fate = loseUncommitted ? "are lost" : "survive";
  Deno.test(`leader killed with strokes in flight whose entries ${fate}`, async () => {
    const h = setup({ cluster: { commitDelayMs: 2 } });
    try {
      const [a, b] = [await h.connect("f"), await h.connect("f")];
      const early = send(a, 50, "early");
      await a.waitForAcks(early.map((s) => s.id));

      h.fake.pauseCommits();
      const held = [...send(a, 200, "held"), ...send(b, 100, "held")];
      await waitUntil(() => h.fake.log.length >= 50 + 300 + 1);
      h.fake.kill(0, { loseUncommitted });
      const during = send(b, 100, "during"); // sent while there is no leader
      await sleep(150);
      h.fake.resumeCommits();
      h.fake.setLeader(1);
      const after = send(a, 50, "after");

      const all = [...early, ...held, ...during, ...after];
      await waitUntil(() => {
        const acked = new Set([...a.acks().keys(), ...b.acks().keys()]);
        return all.every((s) => acked.has(s.id));
      }, 15_000);
      await assertExactlyOnce(h, [a, b], [a, b], all);

      const late = await h.connect("f");
      await assertExactlyOnce(h, [a, b], [late, a], all);
      assert.ok(h.logLines.some((l) => l.includes("event=leader_changed leader=replica2")));
      const views = b.messages.flatMap((m) => m.type === "cluster" ? [m.status.leaderId] : []);
      // On connect (replica1, or null if the first status round is still out), then the loss
      // of the leader, then the new one.
      const lost = views.lastIndexOf(null);
      const first = views.indexOf("replica1");
      assert.ok(first >= 0 && first < lost && views.at(-1) === "replica2", views.join());
      assert.equal(a.errors().length + b.errors().length, 0);
    } finally {
      await h.close();
    }
  });
}

Deno.test("leadership moves while proposals wait for commit (503, retried elsewhere)", async () => {
  const h = setup();
  try {
    const a = await h.connect();
    h.fake.pauseCommits();
    const held = send(a, 100, "moved");
    await waitUntil(() => h.fake.log.length >= 101);
    h.fake.setLeader(2); // the waiting proposals are answered 503: outcome unknown
    h.fake.resumeCommits();
    await a.waitForAcks(held.map((s) => s.id));
    assert.ok(h.fake.stats.unavailable >= 1, "the old leader should have answered 503");
    await assertExactlyOnce(h, [a], [a], held);
  } finally {
    await h.close();
  }
});

Deno.test("rolling crashes under steady load: acked strokes appear exactly once", async () => {
  const h = setup({ cluster: { commitDelayMs: 3 } });
  try {
    const clients = [await h.connect("chaos"), await h.connect("chaos")];
    const watcher = await h.connect("chaos");
    const sent: Stroke[] = [];
    let sending = true;
    const load = (async () => {
      for (let i = 0; sending; i++) {
        sent.push(...send(clients[i % 2], 10, "chaos"));
        await sleep(5);
      }
    })();
    for (let round = 0; round < 3; round++) {
      await sleep(150);
      const old = h.fake.leader ?? 0;
      const next = (old + 1) % 3;
      h.fake.kill(old, { loseUncommitted: round % 2 === 0 });
      await sleep(100);
      h.fake.setLeader(next);
      await sleep(100);
      h.fake.restart(old);
    }
    await sleep(150);
    sending = false;
    await load;
    await waitUntil(() => {
      const acked = new Set(clients.flatMap((c) => [...c.acks().keys()]));
      return sent.every((s) => acked.has(s.id));
    }, 20_000);
    console.log(`${sent.length} strokes through 3 leader crashes, ${h.fake.term} terms`);
    const late = await h.connect("chaos");
    await assertExactlyOnce(h, clients, [...clients, watcher, late], sent);
  } finally {
    await h.close();
  }
});

Deno.test("a retry backing off goes at once to a leader found meanwhile", async () => {
  // Backoff 20 ms doubling, uncapped here: after nine timed-out attempts the gateway sleeps 2.56 s.
  const h = setup({ gateway: { proposer: { attemptTimeoutMs: 100, retryMaxMs: 60_000 } } });
  try {
    const a = await h.connect("f");
    h.fake.pauseCommits();
    const stroke = makeStroke("slow");
    const acked = a.draw(stroke);
    await waitUntil(() => h.fake.stats.proposeCalls >= 9, 20_000);
    await sleep(200); // the ninth attempt has timed out: the long pause has begun
    const t0 = performance.now();
    h.fake.resumeCommits();
    h.fake.setLeader(1);
    await acked;
    const ms = performance.now() - t0;
    // Without the wake-up the ack waits out the rest of the pause, over 2.3 s.
    assert.ok(ms < 1500, `acked ${ms.toFixed(0)} ms after the new leader, not after the pause`);
    await assertExactlyOnce(h, [a], [a], [stroke]);
  } finally {
    await h.close();
  }
});
