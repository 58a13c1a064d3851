import assert from "node:assert/strict";
import { GatewayMetrics } from "./metrics.ts";
import type { ClusterStatus } from "../protocol/mod.ts";
import type { LeaderInfo } from "./cluster.ts";
import { AckTimes, ClusterEvents, type DashboardSample } from "./cluster_events.ts";

function fixture(opts: { intervalMs?: number; maxStreams?: number; maxSkipped?: number } = {}) {
  let watcher: (l: LeaderInfo | null) => void = () => {};
  let entries = 0;
  const status = (): ClusterStatus => ({
    leaderId: "replica1",
    leaderUrl: "http://127.0.0.1:1",
    term: 2,
    commitIndex: entries,
    replicas: [],
    clients: 1,
  });
  const acks = new AckTimes();
  const events = new ClusterEvents({
    status,
    committedIndex: () => entries,
    boards: () => Promise.resolve([{ name: "default", entries, clients: 1 }]),
    watchLeader: (fn) => {
      watcher = fn;
      return () => (watcher = () => {});
    },
    acks,
    intervalMs: opts.intervalMs ?? 20,
    maxStreams: opts.maxStreams,
    maxQueuedBytes: 4096,
    maxSkipped: opts.maxSkipped,
  });
  return {
    events,
    acks,
    lead: (l: LeaderInfo | null) => watcher(l),
    commit: (n: number) => (entries += n),
  };
}

/** Reads `n` `cluster` events off a response body. */
async function readEvents(res: Response, n: number): Promise<DashboardSample[]> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const out: DashboardSample[] = [];
  while (out.length < n) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
    const blocks = text.split("\n\n");
    text = blocks.pop()!;
    for (const b of blocks) {
      const data = b.split("\n").find((l) => l.startsWith("data: "));
      if (b.includes("event: cluster") && data) out.push(JSON.parse(data.slice(6)));
    }
  }
  await reader.cancel();
  return out;
}

Deno.test("events stream samples of the cluster, with the commit rate and the elections seen", async () => {
  const f = fixture();
  f.lead({ url: "u1", id: "replica1", term: 1, relayed: false });
  f.lead({ url: "u2", id: "replica2", term: null }); // a hint: not on the timeline
  f.lead(null);
  f.lead({ url: "u1", id: "replica1", term: 1 }); // back after a blip: no election
  f.lead(null);
  f.lead({ url: "u2", id: "replica2", term: 2 });
  const res = f.events.respond(new Request("http://x/cluster/events"));
  assert.equal(res.headers.get("content-type"), "text/event-stream; charset=utf-8");
  f.commit(50);
  f.acks.record(4);
  f.acks.record(8);
  const samples = await readEvents(res, 3);
  assert.equal(samples.length, 3);
  assert.deepEqual(
    samples[0].elections.map((e) => [e.leaderId, e.term]),
    [["replica1", 1], [null, null], ["replica2", 2]],
  );
  assert.equal(samples[0].status.leaderId, "replica1");
  assert.ok(samples.some((s) => s.boards[0]?.name === "default"), "the board list arrives");
  assert.ok(samples.some((s) => s.committedPerSec > 0), "50 entries committed show as a rate");
  assert.equal(samples.reduce((n, s) => n + s.ack.count, 0), 2);
  assert.ok(samples.some((s) => s.ack.p50Ms !== null));
  f.events.close();
});

Deno.test("a stream nobody reads stays bounded and is closed; close ends every stream", async () => {
  const f = fixture({ intervalMs: 5, maxSkipped: 20 });
  const res = f.events.respond(new Request("http://x/cluster/events"));
  assert.equal(f.events.streamCount, 1);
  // Never read: the queue fills to its limit, samples are skipped, then the stream is let go.
  const start = Date.now();
  while (f.events.streamCount > 0 && Date.now() - start < 20_000) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(f.events.streamCount, 0, "a reader that never reads is closed");
  await res.body!.cancel();
  const live = f.events.respond(new Request("http://x/cluster/events"));
  f.events.close();
  const rest = await new Response(live.body).text();
  assert.ok(rest.startsWith("retry: 1000"), "the first sample arrived, then the stream ended");
  assert.equal(f.events.respond(new Request("http://x/")).status, 503);
});

Deno.test("streams beyond the limit get 503; an aborted request frees its slot", async () => {
  const f = fixture({ maxStreams: 1 });
  const abort = new AbortController();
  const first = f.events.respond(new Request("http://x/", { signal: abort.signal }));
  assert.equal(first.status, 200);
  const second = f.events.respond(new Request("http://x/"));
  assert.equal(second.status, 503);
  assert.match((await second.json()).error, /too many/);
  abort.abort();
  assert.equal(f.events.streamCount, 0);
  const third = f.events.respond(new Request("http://x/"));
  assert.equal(third.status, 200);
  f.events.close();
  await first.body!.cancel();
  await third.body!.cancel();
});

Deno.test("ack times: percentiles of one window, then a fresh one; fed by the metrics' timing", async () => {
  const acks = new AckTimes();
  for (let i = 1; i <= 100; i++) acks.record(i);
  assert.deepEqual(acks.take(), { count: 100, p50Ms: 51, p99Ms: 100 });
  assert.deepEqual(acks.take(), { count: 0, p50Ms: null, p99Ms: null });
  const metrics = new GatewayMetrics({
    clients: () => 0,
    boards: () => 0,
    lastIndex: () => 0,
    leaderKnown: () => true,
  });
  const record = (ms: number) => acks.record(ms);
  const timed = metrics.timeSubmit(() => Promise.resolve(7), record);
  assert.equal(await timed(), 7);
  assert.equal(acks.take().count, 1);
  const refused = metrics.timeSubmit(() => Promise.reject(new Error("no")), record);
  await assert.rejects(refused());
  assert.equal(acks.take().count, 0, "a refused stroke is not an ack");
});

Deno.test("a real gateway closes its event streams when it shuts down", async () => {
  const { startGateway } = await import("./gateway.ts");
  const { createLogger } = await import("../common/log.ts");
  const gateway = startGateway({
    replicaUrls: ["http://127.0.0.1:9"], // nobody there: the stream still samples the gateway's view
    port: 0,
    hostname: "127.0.0.1",
    log: createLogger("gateway", "error"),
  });
  const res = await fetch(`http://127.0.0.1:${gateway.port}/cluster/events`);
  assert.equal(res.headers.get("access-control-allow-origin"), "*");
  const [first] = await readEvents(res.clone(), 1);
  assert.equal(first.status.leaderId, null);
  await res.body?.cancel();
  const again = await fetch(`http://127.0.0.1:${gateway.port}/cluster/events`);
  const reader = again.body!.getReader();
  await reader.read(); // the first sample
  await gateway.close(); // would hang on a stream left open
  for (;;) if ((await reader.read()).done) break;
});
