/**
 * The gateway in front of three real replica processes: clients draw while
 * the leader is SIGKILLed and later restarted. Every acknowledged stroke must
 * reach every client exactly once, in the same order, and each client's
 * stream must equal the replicas' committed log.
 */
import assert from "node:assert/strict";
import { type LocalCluster, testStroke } from "../testing/local_cluster.ts";
import { startClusterWithGateways } from "../testing/cluster_with_gateways.ts";
import { GatewayClient } from "../../gateway/client.ts";
import type { CommittedStroke } from "../../protocol/mod.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** Draws `n` strokes one after another (each waits for its ack), like a person who keeps drawing. */
async function draw(
  client: GatewayClient,
  prefix: string,
  n: number,
  sent: string[],
): Promise<void> {
  for (let i = 0; i < n; i++) {
    const id = `${prefix}-${i}`;
    sent.push(id);
    client.sendStroke(testStroke(id, i));
    await client.waitForAcks([id], 20_000);
  }
}

function assertStream(name: string, stream: CommittedStroke[]): void {
  for (let i = 1; i < stream.length; i++) {
    assert.ok(stream[i].index > stream[i - 1].index, `${name}: index order broken at ${i}`);
  }
  const ids = stream.map((e) => e.stroke.id);
  assert.equal(new Set(ids).size, ids.length, `${name}: a stroke arrived twice`);
}

Deno.test({
  name:
    "clients keep drawing through a leader SIGKILL and its restart; every stream equals the log",
  ...opts,
}, async () => {
  const stack = await startClusterWithGateways({ prefix: "wb-gw-" });
  const { cluster } = stack;
  const clients: GatewayClient[] = [];
  try {
    await stack.ready();
    const url = `${stack.gateways[0].ws}?board=failover`;
    for (let i = 0; i < 3; i++) clients.push(await GatewayClient.connect(url));
    const sent: string[] = [];
    const drawing = clients.map((c, i) => draw(c, `c${i}`, 300, sent));

    await new Promise((r) => setTimeout(r, 400));
    const leader = await cluster.waitForLeader();
    const t0 = performance.now();
    await cluster.kill(leader.id);
    await cluster.waitForLeader(5000, [leader.id]);
    console.log(`  new leader after ${(performance.now() - t0).toFixed(0)} ms`);
    await new Promise((r) => setTimeout(r, 400));
    const before = sent.length;
    await cluster.restart(leader.id);
    await Promise.all(drawing);
    assert.ok(sent.length > before, "drawing went on after the restart");
    console.log(`  strokes sent before the restart: ${before} of ${sent.length}`);

    // No client was disconnected by the failover.
    for (const c of clients) assert.equal(c.ws.readyState, WebSocket.OPEN);
    const late = await GatewayClient.connect(url);
    clients.push(late);
    const streams = await Promise.all(clients.map((c) => c.waitForStrokes(sent, 20_000)));
    streams.forEach((s, i) => assertStream(`client ${i}`, s));
    clients.forEach((c, i) => assert.deepEqual(c.violations, [], `client ${i}: off-protocol`));

    // Every client saw the same strokes at the same indexes, and acks agree with them.
    const reference = streams[0].map((e) => `${e.index}:${e.stroke.id}`);
    for (const s of streams.slice(1)) {
      assert.deepEqual(s.map((e) => `${e.index}:${e.stroke.id}`), reference);
    }
    const byId = new Map(streams[0].map((e) => [e.stroke.id, e.index]));
    for (const c of clients.slice(0, 3)) {
      for (const [id, index] of c.acks()) assert.equal(byId.get(id), index, `ack of ${id}`);
    }

    // The stream is the board's part of the replicas' committed log, on every replica.
    const restartedLeader = await cluster.waitForLeader();
    for (const r of cluster.replicas) {
      await waitCommitted(cluster, r.id, (await cluster.status(restartedLeader.id))!.commitIndex);
      const log = (await cluster.entries(r.id)).flatMap((e) =>
        "stroke" in e && e.stroke.board === "failover" ? [`${e.index}:${e.stroke.id}`] : []
      );
      assert.deepEqual(log, reference, `${r.id}'s log`);
    }
    assert.equal(reference.length, sent.length, "each sent stroke exactly once");
    console.log(`  ${sent.length} strokes from 3 clients, all acked once, 4 identical streams`);
  } finally {
    for (const c of clients) await c.close().catch(() => {});
    await stack.stop();
  }
});

async function waitCommitted(c: LocalCluster, id: string, index: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (((await c.status(id))?.commitIndex ?? 0) < index) {
    if (Date.now() > deadline) throw new Error(`${id} did not reach commit ${index}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
