/**
 * The leader hangs (SIGSTOP) instead of dying while three clients draw
 * through a real gateway. The followers elect a new leader within an election
 * timeout; the gateway must move its proposals there rather than wait for the
 * hung one, so strokes keep being acked long before the pause ends. Every
 * acked stroke then appears exactly once, the same on every stream.
 */
import assert from "node:assert/strict";
import {
  freePorts,
  LocalCluster,
  startGateway,
  testStroke,
  waitForHttp,
} from "../../scripts/local_cluster.ts";
import { TestClient } from "../../gateway/testing/ws_client.ts";

const PAUSE_MS = 6000;

Deno.test({
  name: "a SIGSTOPped leader does not stall the board: acks resume well within the pause",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "wb-pause-" });
  const cluster = await new LocalCluster({ dir }).start();
  const [port] = freePorts(1);
  const gateway = startGateway(port, cluster.urls());
  const clients: TestClient[] = [];
  let paused: Deno.ChildProcess | null = null;
  try {
    await cluster.waitForLeader();
    await waitForHttp(`http://127.0.0.1:${port}/healthz`);
    const url = `ws://127.0.0.1:${port}/ws?board=pause`;
    for (let i = 0; i < 3; i++) clients.push(await TestClient.connect(url));
    const sent: string[] = [];
    const ackedAt: number[] = [];
    let drawing = true;
    const draw = async (client: TestClient, prefix: string) => {
      for (let i = 0; drawing; i++) {
        const id = `${prefix}-${i}`;
        sent.push(id);
        client.sendStroke(testStroke(id, i));
        await client.waitForAcks([id], 30_000);
        ackedAt.push(performance.now());
      }
    };
    const drawers = clients.map((c, i) => draw(c, `c${i}`));

    await new Promise((r) => setTimeout(r, 500));
    const leader = await cluster.waitForLeader();
    paused = leader.child!;
    const t0 = performance.now();
    paused.kill("SIGSTOP");
    await new Promise((r) => setTimeout(r, PAUSE_MS));
    const t1 = performance.now();
    paused.kill("SIGCONT");
    paused = null;
    await new Promise((r) => setTimeout(r, 500));
    drawing = false;
    await Promise.all(drawers);

    // The longest stretch of the pause without an ack (an ack right after the
    // stop may belong to a stroke committed before it, so gaps, not the first ack).
    const marks = [t0, ...ackedAt.filter((t) => t > t0 && t < t1), t1];
    const gapMs = Math.max(...marks.slice(1).map((t, i) => t - marks[i]));
    const during = marks.length - 2;
    console.log(
      `  ${during} acks during a ${PAUSE_MS} ms pause, longest gap ${gapMs.toFixed(0)} ms`,
    );
    assert.ok(gapMs < PAUSE_MS - 2000, `no ack for ${gapMs.toFixed(0)} ms of the pause`);

    const streams = await Promise.all(clients.map((c) => c.waitForStrokes(sent, 20_000)));
    const reference = streams[0].map((e) => `${e.index}:${e.stroke.id}`);
    assert.equal(new Set(streams[0].map((e) => e.stroke.id)).size, sent.length, "exactly once");
    assert.equal(reference.length, sent.length, "each sent stroke exactly once");
    for (const s of streams.slice(1)) {
      assert.deepEqual(s.map((e) => `${e.index}:${e.stroke.id}`), reference);
    }
    const byId = new Map(streams[0].map((e) => [e.stroke.id, e.index]));
    for (const c of clients) {
      for (const [id, index] of c.acks()) assert.equal(byId.get(id), index, `ack of ${id}`);
    }
  } finally {
    paused?.kill("SIGCONT");
    for (const c of clients) await c.close().catch(() => {});
    gateway.kill("SIGKILL");
    await gateway.status;
    await cluster.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
