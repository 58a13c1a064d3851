/**
 * Only the gateway's link to the leader is cut (a TCP relay per replica
 * stands between the gateway and the cluster; replicas talk directly). The
 * leader keeps its followers, so no election comes: the gateway must send
 * its proposals through a follower it can reach, which relays them to the
 * leader. Acks continue during the cut; every acked stroke exactly once.
 */
import assert from "node:assert/strict";
import { freePorts, LocalCluster, startGateway, waitForHttp } from "../testing/local_cluster.ts";
import { TcpProxy } from "../testing/tcp_proxy.ts";
import { GatewayClient } from "../../gateway/client.ts";
import { assertSameStreams, longestGapMs, startDrawing } from "../testing/drawing.ts";

const CUT_MS = 6000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test({
  name: "a cut gateway-to-leader link does not stall the board: proposals go through a follower",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "wb-link-" });
  const token = "link-test-token"; // the relay must carry it too
  const cluster = await new LocalCluster({ dir, token }).start();
  const proxies = cluster.replicas.map((r) => new TcpProxy(r.port));
  const [port] = freePorts(1);
  const gateway = startGateway(port, proxies.map((p) => `http://127.0.0.1:${p.port}`), token);
  const clients: GatewayClient[] = [];
  try {
    await cluster.waitForLeader();
    await waitForHttp(`http://127.0.0.1:${port}/healthz`);
    const url = `ws://127.0.0.1:${port}/ws?board=link`;
    for (let i = 0; i < 3; i++) clients.push(await GatewayClient.connect(url));
    const drawing = startDrawing(clients);

    await sleep(500);
    const leader = await cluster.waitForLeader();
    const term = (await cluster.status(leader.id))!.term;
    const i = cluster.replicas.indexOf(leader);
    const t0 = performance.now();
    const proxyPort = proxies[i].port;
    proxies[i].close();
    await sleep(CUT_MS);
    const t1 = performance.now();
    proxies[i] = new TcpProxy(leader.port, proxyPort);
    await sleep(500);
    await drawing.stop();

    const after = await cluster.waitForLeader();
    assert.equal(after.id, leader.id, "the leader changed: this was not a link-only cut");
    assert.equal((await cluster.status(after.id))!.term, term, "an election happened");
    const gapMs = longestGapMs(drawing.ackedAt, t0, t1);
    console.log(`  longest gap without an ack during a ${CUT_MS} ms cut: ${gapMs.toFixed(0)} ms`);
    assert.ok(gapMs < CUT_MS - 2000, `no ack for ${gapMs.toFixed(0)} ms of the cut`);
    await assertSameStreams(clients, drawing.sent);
  } finally {
    for (const c of clients) await c.close().catch(() => {});
    await gateway.kill();
    proxies.forEach((p) => p.close());
    await cluster.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
