/**
 * The leader hangs (SIGSTOP) instead of dying while three clients draw
 * through a real gateway. The followers elect a new leader within an election
 * timeout; the gateway must move its proposals there rather than wait for the
 * hung one, so strokes keep being acked long before the pause ends. Every
 * acked stroke then appears exactly once, the same on every stream.
 */
import assert from "node:assert/strict";
import { freePorts, LocalCluster, startGateway, waitForHttp } from "../testing/local_cluster.ts";
import type { Proc } from "../testing/supervisor.ts";
import { GatewayClient } from "../../gateway/client.ts";
import { assertSameStreams, longestGapMs, startDrawing } from "../testing/drawing.ts";

const PAUSE_MS = 6000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test({
  name: "a SIGSTOPped leader does not stall the board: acks resume well within the pause",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "wb-pause-" });
  const cluster = await new LocalCluster({ dir }).start();
  const [port] = freePorts(1);
  const gateway = startGateway(port, cluster.urls());
  const clients: GatewayClient[] = [];
  let paused: Proc | null = null;
  try {
    await cluster.waitForLeader();
    await waitForHttp(`http://127.0.0.1:${port}/healthz`);
    const url = `ws://127.0.0.1:${port}/ws?board=pause`;
    for (let i = 0; i < 3; i++) clients.push(await GatewayClient.connect(url));
    const drawing = startDrawing(clients);

    await sleep(500);
    paused = (await cluster.waitForLeader()).proc;
    const t0 = performance.now();
    paused.signal("SIGSTOP");
    await sleep(PAUSE_MS);
    const t1 = performance.now();
    paused.signal("SIGCONT");
    paused = null;
    await sleep(500);
    await drawing.stop();

    const gapMs = longestGapMs(drawing.ackedAt, t0, t1);
    console.log(
      `  longest gap without an ack during a ${PAUSE_MS} ms pause: ${gapMs.toFixed(0)} ms`,
    );
    assert.ok(gapMs < PAUSE_MS - 2000, `no ack for ${gapMs.toFixed(0)} ms of the pause`);
    await assertSameStreams(clients, drawing.sent);
  } finally {
    paused?.signal("SIGCONT");
    for (const c of clients) await c.close().catch(() => {});
    await gateway.kill();
    await cluster.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
