/**
 * `deno task bench`: the full path (WebSocket clients → gateway → Raft
 * replicas → back to every client) on real processes on 127.0.0.1, printing
 * a table. Figures only; nothing here is asserted.
 *
 * - throughput, ack latency and draw-to-other-client latency at 1, 16 and 64
 *   clients, each client sequential (next stroke after the ack, as etcd's
 *   benchmark does), plus 64 clients with 4 and with 16 strokes in flight each;
 * - failover: leader SIGKILL → first new acknowledged stroke, 10+ trials;
 * - leader SIGSTOP (hung, not dead) → first new acknowledged stroke, 10+ trials;
 * - gateway-to-leader link cut (a second gateway behind TCP relays) → the same, 10+ trials;
 * - catch-up of a wiped replica, restart of a follower (SIGKILL, its data kept) to an
 *   up-to-date follower, and RSS, on a fresh cluster holding 100,000 strokes, with the RSS of a
 *   gateway following it as the history grows and after a client replays all of it;
 * - RSS of each replica and the gateway after the load runs.
 *
 * BENCH_SECONDS (default 5) sets each load run; BENCH_TRIALS (10) the failovers.
 */
import {
  freePorts,
  LocalCluster,
  startGateway,
  testStroke,
  waitForHttp,
} from "../tests/testing/local_cluster.ts";
import { GatewayClient } from "../gateway/client.ts";
import { rollingRestart } from "../tests/testing/rolling_restart.ts";
import { TcpProxy } from "../tests/testing/tcp_proxy.ts";

const SECONDS = Number(Deno.env.get("BENCH_SECONDS") ?? 5);
const TRIALS = Number(Deno.env.get("BENCH_TRIALS") ?? 10);

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length - 1) * p))];
}

/** Resident memory of a process, via ps (reading /proc would need --allow-all). */
function rssMiB(pid: number): number {
  const out = new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)] }).outputSync();
  return Number(new TextDecoder().decode(out.stdout).trim()) / 1024;
}

/** Load clients keep nothing and skip full decoding: their CPU is the system's CPU here. */
const LOAD = { record: false, validate: false } as const;

async function connect(url: string, n: number): Promise<GatewayClient[]> {
  const clients = await Promise.all(
    Array.from({ length: n }, () => GatewayClient.connect(url, LOAD)),
  );
  await Promise.all(clients.map((c) => c.hello()));
  return clients;
}

/** `clients` writers with `window` strokes in flight each, for SECONDS; an observer measures draw latency. */
async function load(wsUrl: string, clients: number, window: number, tag: string) {
  const writers = await connect(wsUrl, clients);
  const [observer] = await connect(wsUrl, 1);
  const sentAt = new Map<string, number>();
  const ackMs: number[] = [];
  const drawMs: number[] = [];
  observer.onStrokes = (entries, at) => {
    for (const e of entries) {
      const t = sentAt.get(e.stroke.id);
      if (t !== undefined) drawMs.push(at - t);
    }
  };
  let acked = 0;
  const end = performance.now() + SECONDS * 1000;
  await Promise.all(writers.flatMap((w, wi) =>
    Array.from({ length: window }, async (_, lane) => {
      for (let i = 0; performance.now() < end; i++) {
        const id = `${tag}-${wi}-${lane}-${i}`;
        const t0 = performance.now();
        sentAt.set(id, t0);
        await w.draw(testStroke(id, i));
        ackMs.push(performance.now() - t0);
        acked++;
      }
    })
  ));
  await new Promise((r) => setTimeout(r, 300));
  await Promise.all([...writers, observer].map((c) => c.close()));
  return {
    rate: acked / SECONDS,
    ackP50: pct(ackMs, 0.5),
    ackP99: pct(ackMs, 0.99),
    drawP50: pct(drawMs, 0.5),
    drawP99: pct(drawMs, 0.99),
  };
}

async function failovers(c: LocalCluster, wsUrl: string): Promise<number[]> {
  const times: number[] = [];
  const [client] = await connect(wsUrl, 1);
  for (let t = 0; t < TRIALS; t++) {
    const leader = await c.waitForLeader();
    await client.draw(testStroke(`warm-${t}`, t));
    const t0 = performance.now();
    await c.kill(leader.id);
    await client.draw(testStroke(`failover-${t}`, t));
    times.push(performance.now() - t0);
    await c.restart(leader.id);
    await caughtUp(c, leader.id);
  }
  await client.close();
  return times;
}

/** Like `failovers`, but the leader hangs (SIGSTOP) until the next stroke is acked, then resumes. */
async function pauses(c: LocalCluster, wsUrl: string): Promise<number[]> {
  const times: number[] = [];
  const [client] = await connect(wsUrl, 1);
  for (let t = 0; t < TRIALS; t++) {
    const leader = await c.waitForLeader();
    await client.draw(testStroke(`pwarm-${t}`, t));
    const t0 = performance.now();
    leader.proc.signal("SIGSTOP");
    try {
      await client.draw(testStroke(`pause-${t}`, t));
      times.push(performance.now() - t0);
    } finally {
      leader.proc.signal("SIGCONT");
    }
    await caughtUp(c, leader.id);
  }
  await client.close();
  return times;
}

/** Like `failovers`, but only the gateway's link to the leader is cut: a second gateway behind relays. */
async function linkCuts(c: LocalCluster): Promise<number[]> {
  const proxies = c.replicas.map((r) => new TcpProxy(r.port));
  const [port] = freePorts(1);
  const gateway = startGateway(port, proxies.map((p) => `http://127.0.0.1:${p.port}`));
  const times: number[] = [];
  try {
    await waitForHttp(`http://127.0.0.1:${port}/healthz`);
    const [client] = await connect(`ws://127.0.0.1:${port}/ws`, 1);
    for (let t = 0; t < TRIALS; t++) {
      const leader = await c.waitForLeader();
      const i = c.replicas.indexOf(leader);
      await client.draw(testStroke(`lwarm-${t}`, t));
      const t0 = performance.now();
      const proxyPort = proxies[i].port;
      proxies[i].close();
      await client.draw(testStroke(`cut-${t}`, t));
      times.push(performance.now() - t0);
      proxies[i] = new TcpProxy(leader.port, proxyPort);
      await new Promise((r) => setTimeout(r, 1500)); // the gateway finds its direct route again
    }
    await client.close();
  } finally {
    await gateway.kill();
    proxies.forEach((p) => p.close());
  }
  return times;
}

/** Lets a replica rejoin before the next trial stops someone again. */
async function caughtUp(c: LocalCluster, id: string): Promise<void> {
  const target = (await c.status((await c.waitForLeader()).id))!.commitIndex;
  while (((await c.status(id))?.commitIndex ?? 0) < target) {
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The dev reload: a sequential client draws while all three replicas restart one by one. */
async function reloadGap(
  c: LocalCluster,
  wsUrl: string,
): Promise<{ longestMs: number; strokes: number }> {
  const [client] = await connect(wsUrl, 1);
  let drawing = true;
  let last = performance.now();
  let longestMs = 0;
  let strokes = 0;
  const writer = (async () => {
    for (let i = 0; drawing; i++) {
      await client.draw(testStroke(`reload-${i}`, i));
      const now = performance.now();
      longestMs = Math.max(longestMs, now - last);
      last = now;
      strokes++;
    }
  })();
  await new Promise((r) => setTimeout(r, 300));
  await rollingRestart(
    c.replicas.map((r) => ({
      id: r.id,
      restart: async () => {
        await c.kill(r.id, "SIGTERM");
        await c.restart(r.id);
      },
      status: () => c.status(r.id),
    })),
    () => {},
  );
  await new Promise((r) => setTimeout(r, 300));
  drawing = false;
  await writer;
  await client.close();
  return { longestMs, strokes };
}

/**
 * On a fresh cluster holding exactly 100,000 strokes: catch-up time of a
 * wiped follower (from its restart to its commit index reaching the
 * leader's), the time a follower SIGKILLed with its data kept needs to
 * answer `/status` as an up-to-date follower again, and the RSS of each
 * replica afterwards. A gateway with one live client follows the history as
 * it grows (its RSS at 0, 50k and 100k), then a second client replays all of it.
 */
async function catchUpAndMemory(): Promise<
  { entries: number; ms: number; restartMs: number; rss: string; gateway: string }
> {
  const dir = await Deno.makeTempDir({ prefix: "wb-bench-catchup-" });
  const c = await new LocalCluster({ dir }).start();
  const [gwPort] = freePorts(1);
  const gateway = startGateway(gwPort, c.urls());
  try {
    await c.waitForLeader();
    await waitForHttp(`http://127.0.0.1:${gwPort}/healthz`);
    const wsUrl = `ws://127.0.0.1:${gwPort}/ws`;
    const [live] = await connect(wsUrl, 1);
    let seen = 0;
    live.onStrokes = (entries) => seen += entries.length;
    const until = async (done: () => boolean) => {
      while (!done()) await new Promise((r) => setTimeout(r, 20));
    };
    const gatewayRss = [`0: ${fmt(rssMiB(gateway.pid!), 0)}`];
    for (let i = 0; i < 100_000; i += 1000) {
      await c.propose(Array.from({ length: 1000 }, (_, k) => testStroke(`bulk-${i + k}`, k)));
      if ((i + 1000) % 50_000 === 0) {
        await until(() => seen >= i + 1000);
        gatewayRss.push(`${(i + 1000) / 1000}k: ${fmt(rssMiB(gateway.pid!), 0)}`);
      }
    }
    const [late] = await connect(wsUrl, 1);
    let replayed = 0;
    late.onStrokes = (entries) => replayed += entries.length;
    await until(() => replayed >= 100_000);
    gatewayRss.push(`after a client replayed all: ${fmt(rssMiB(gateway.pid!), 0)}`);
    await Promise.all([live.close(), late.close()]);
    const leader = await c.waitForLeader();
    const follower = c.replicas.find((r) => r.id !== leader.id)!;
    await c.kill(follower.id);
    const target = (await c.status(leader.id))!.commitIndex;
    await c.restart(follower.id, { wipe: true });
    const t0 = performance.now();
    while (((await c.status(follower.id))?.commitIndex ?? 0) < target) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const ms = performance.now() - t0;
    const restartMs = await restartToUpToDate(c, follower.id, leader.id, target);
    const rss = c.replicas.map((r) => `${r.id} ${fmt(rssMiB(r.proc.pid!), 0)} MiB`).join(", ");
    return { entries: target, ms, restartMs, rss, gateway: `${gatewayRss.join(", ")} MiB` };
  } finally {
    await gateway.kill();
    await c.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** SIGKILL and restart of `id` (data kept) until `/status` shows it following `leaderId` at `target`. */
async function restartToUpToDate(
  c: LocalCluster,
  id: string,
  leaderId: string,
  target: number,
): Promise<number> {
  await c.waitForApplied(target, 60_000);
  await c.kill(id);
  const t0 = performance.now();
  await c.restart(id);
  for (;;) {
    const st = await c.status(id);
    if (
      st?.state === "follower" && st.leaderId === leaderId && st.commitIndex >= target &&
      (st.appliedIndex ?? 0) >= target
    ) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 5));
  }
}

const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : "-");

if (import.meta.main) {
  const dir = await Deno.makeTempDir({ prefix: "wb-bench-" });
  const cluster = await new LocalCluster({ dir }).start();
  const [gwPort] = freePorts(1);
  const gateway = startGateway(gwPort, cluster.urls());
  const wsUrl = `ws://127.0.0.1:${gwPort}/ws`;
  try {
    await cluster.waitForLeader();
    await waitForHttp(`http://127.0.0.1:${gwPort}/healthz`);
    console.log(
      `whiteboard bench: 3 replicas + gateway on 127.0.0.1, ${SECONDS} s per run, ` +
        `${navigator.hardwareConcurrency} cores\n`,
    );
    console.log("clients  in-flight  strokes/s  ack p50 ms  ack p99 ms  draw p50 ms  draw p99 ms");
    for (const [clients, window] of [[1, 1], [16, 1], [64, 1], [64, 4], [64, 16]]) {
      const r = await load(wsUrl, clients, window, `c${clients}w${window}`);
      const cells = [r.rate, r.ackP50, r.ackP99, r.drawP50, r.drawP99];
      console.log(
        `${String(clients).padStart(7)}  ${String(window).padStart(9)}  ` +
          cells.map((v, i) => fmt(v, i === 0 ? 0 : 1).padStart([9, 10, 10, 11, 11][i])).join("  "),
      );
    }
    const trials = (label: string, xs: number[]) =>
      console.log(
        `${label}, ${xs.length} trials: min ${fmt(pct(xs, 0), 0)} ms, ` +
          `median ${fmt(pct(xs, 0.5), 0)} ms, max ${fmt(pct(xs, 1), 0)} ms`,
      );
    trials(
      "\nfailover (leader SIGKILL → next stroke acked through the gateway)",
      await failovers(cluster, wsUrl),
    );
    trials(
      "hung leader (leader SIGSTOP → next stroke acked through the gateway)",
      await pauses(cluster, wsUrl),
    );
    trials(
      "cut gateway-to-leader link → next stroke acked (relayed by a follower)",
      await linkCuts(cluster),
    );
    const rg = await reloadGap(cluster, wsUrl);
    console.log(
      `rolling reload of all 3 replicas (deno task dev) under a drawing client: ` +
        `longest gap between acks ${fmt(rg.longestMs, 0)} ms (${rg.strokes} strokes)`,
    );
    const rss = cluster.replicas.map((r) => `${r.id} ${fmt(rssMiB(r.proc.pid!), 0)} MiB`);
    console.log(
      `RSS after the runs above: ${rss.join(", ")}, gateway ${fmt(rssMiB(gateway.pid!), 0)} MiB`,
    );
    const cu = await catchUpAndMemory();
    console.log(`fresh cluster with 100,000 strokes (${cu.entries} entries):`);
    console.log(`  catch-up of a wiped replica, restart to caught up: ${fmt(cu.ms, 0)} ms`);
    console.log(
      `  restart of a follower (SIGKILL, data kept) to an up-to-date follower: ` +
        `${fmt(cu.restartMs, 0)} ms`,
    );
    console.log(`  RSS: ${cu.rss}`);
    console.log(`  gateway RSS by history length: ${cu.gateway}`);
  } finally {
    await gateway.kill();
    await cluster.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
