/**
 * The performance race of issue 14, in one run on one machine: etcd 3.4 (when
 * installed) next to our replica's `POST /propose` and our full path
 * (WebSocket client → gateway → replicas → ack), with the same closed-loop
 * client in this process for every target, so a 2x drift of the machine
 * moves all columns together and the ratios stay honest. Then the
 * whiteboard stress case: 64 clients drawing 60 segments/s each on one board.
 */
import { GatewayClient } from "../gateway/client.ts";
import { LocalCluster, testStroke } from "../tests/testing/local_cluster.ts";
import { etcdLeader, etcdPut, findEtcd, startEtcd } from "./etcd_cluster.ts";

/** Throughput and ack latency of one closed-loop run. */
export interface LoopResult {
  rate: number;
  p50: number;
  p99: number;
  errors: number;
}

/** The `p` quantile of `xs` (nearest rank); NaN when empty. */
export function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length - 1) * p))];
}

/** `clients` sequential writers for `seconds`: each starts its next write when the last is acked. */
export async function closedLoop(
  clients: number,
  seconds: number,
  write: (client: number, n: number) => Promise<void>,
): Promise<LoopResult> {
  const lat: number[] = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  await Promise.all(Array.from({ length: clients }, async (_, c) => {
    for (let n = 0; performance.now() < end; n++) {
      const t0 = performance.now();
      try {
        await write(c, n);
        lat.push(performance.now() - t0);
      } catch {
        errors++;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }));
  return { rate: lat.length / seconds, p50: pct(lat, 0.5), p99: pct(lat, 0.99), errors };
}

/** One stroke per `POST /propose` to the leader, as the seed's API offers it. */
function proposeWriter(c: LocalCluster, leaderUrl: string, tag: string) {
  return async (client: number, n: number) => {
    const r = await fetch(`${leaderUrl}/propose`, {
      method: "POST",
      headers: c.headers(),
      body: JSON.stringify({ strokes: [testStroke(`${tag}-${client}-${n}`, n)] }),
    });
    await r.arrayBuffer();
    if (!r.ok) throw new Error(`propose: ${r.status}`);
  };
}

/**
 * Stroke after stroke through the gateway, next one once acked, on `clients` sockets. On a
 * board of its own: on the shared one, each socket would first replay the strokes of the runs
 * before (64 replays of ~20k strokes took the 64-client run from ~2,500/s to ~1,400/s, p99
 * 700 ms); replay has its figures in the history section.
 */
async function gatewayWriter(wsUrl: string, clients: number, tag: string) {
  const board = `${tag}-${Date.now()}`;
  const sockets = await Promise.all(
    Array.from(
      { length: clients },
      () =>
        GatewayClient.connect(wsUrl, {
          board,
          record: false,
          validate: false,
          decodeStrokes: false,
        }),
    ),
  );
  await Promise.all(sockets.map((s) => s.hello()));
  return {
    write: async (client: number, n: number) => {
      await sockets[client].draw(testStroke(`${tag}-${client}-${n}`, n));
    },
    /** `strokes` messages the sockets received (the fan-out, counted, not decoded). */
    fanOut: () => sockets.reduce((n, s) => n + s.strokesMessages, 0),
    close: () => Promise.all(sockets.map((s) => s.close())),
  };
}

const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : "-");
const cell = (r: LoopResult | null) =>
  r ? `${fmt(r.rate)}/s (p50 ${fmt(r.p50, 1)}, p99 ${fmt(r.p99, 1)} ms)` : "-";
const ratio = (ours: LoopResult, etcd: LoopResult | null) =>
  etcd && etcd.rate > 0 ? ` ${(ours.rate / etcd.rate).toFixed(2)}x` : "";

/**
 * The side-by-side table: for 1, 16 and 64 sequential clients, etcd's put,
 * our `/propose` and our full path, each with its ratio to etcd.
 */
export async function raceSection(
  c: LocalCluster,
  wsUrl: string,
  seconds: number,
): Promise<void> {
  const binary = await findEtcd();
  const etcdDir = binary ? await Deno.makeTempDir({ prefix: "wb-bench-etcd-" }) : null;
  const etcd = binary && etcdDir ? await startEtcd(binary, etcdDir) : null;
  console.log(
    `\nthe race (issue 14), one run, same client process, sequential clients:` +
      (etcd
        ? " etcd 3.4, 3 members on loopback, fsync on, heartbeat 100 ms, election 500 ms"
        : " etcd not installed (apt-get install etcd-server), our columns only"),
  );
  try {
    const value = "x".repeat(100); // about the size of one stroke's JSON
    for (const clients of [1, 16, 64]) {
      const etcdRun = etcd
        ? await etcdLeader(etcd).then((url) =>
          closedLoop(clients, seconds, (cl, n) => etcdPut(url, `k-${cl}-${n}`, value))
        )
        : null;
      const leader = await c.waitForLeader();
      const propose = await closedLoop(
        clients,
        seconds,
        proposeWriter(c, leader.url, `race-p${clients}`),
      );
      const gw = await gatewayWriter(wsUrl, clients, `race-g${clients}`);
      const fannedOut = gw.fanOut();
      const full = await closedLoop(clients, seconds, gw.write);
      const fanOut = (gw.fanOut() - fannedOut) / seconds;
      await gw.close();
      const errors = [etcdRun, propose, full].reduce((n, r) => n + (r?.errors ?? 0), 0);
      console.log(
        `  ${String(clients).padStart(2)} clients: etcd ${cell(etcdRun)} | ` +
          `/propose ${cell(propose)}${ratio(propose, etcdRun)} | ` +
          `full path ${cell(full)}${ratio(full, etcdRun)}, ${fmt(fanOut)} fan-out messages/s` +
          (errors ? ` (${errors} errors)` : ""),
      );
    }
  } finally {
    await etcd?.stop();
    if (etcdDir) await Deno.remove(etcdDir, { recursive: true }).catch(() => {});
  }
}

/** Segments per second each stress client draws (a pen moving at 60 Hz). */
const STRESS_RATE = 60;
/** Stress clients that decode what they are sent, and time the strokes of the others. */
const OBSERVERS = 4;

/**
 * The whiteboard stress case: `clients` sockets on one board, each sending a
 * segment every 1/60 s without waiting for acks; every committed segment is
 * delivered to every client. In and out rates, and draw-to-other-screen
 * latency sampled on one stroke in 8, as seen by `OBSERVERS` of the clients,
 * which decode every delivery; the others count theirs without decoding (64
 * browsers would decode on 64 machines, not on the two cores the system under
 * test runs on: decoding ~240k deliveries/s here took one of them).
 */
export async function stressSection(wsUrl: string, clients: number, seconds: number) {
  // A board of its own: on the race's board every socket would first replay its strokes.
  const board = `stress-${Date.now()}`;
  const sockets = await Promise.all(
    Array.from(
      { length: clients },
      (_, i) =>
        GatewayClient.connect(wsUrl, {
          board,
          record: false,
          validate: false,
          decodeStrokes: i < OBSERVERS,
        }),
    ),
  );
  await Promise.all(sockets.map((s) => s.hello()));
  const sentAt = new Map<string, [number, number]>(); // id -> [sender, time]
  const drawMs: number[] = [];
  let deliveries = 0;
  let acked = 0;
  let measuring = true;
  sockets.forEach((s, me) => {
    s.onStrokes = (entries, at) => {
      if (!measuring) return;
      deliveries += entries.length;
      for (const e of entries) {
        if (!("stroke" in e)) continue;
        const sent = sentAt.get(e.stroke.id);
        if (sent && sent[0] !== me) drawMs.push(at - sent[1]);
      }
    };
  });
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let sent = 0;
  await Promise.all(sockets.map(async (s, me) => {
    const inFlight: Promise<unknown>[] = [];
    for (let n = 0; performance.now() < end; n++) {
      const due = t0 + (n * 1000) / STRESS_RATE;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const id = `stress-${me}-${n}`;
      if (n % 8 === 0) sentAt.set(id, [me, performance.now()]);
      sent++;
      inFlight.push(s.draw(testStroke(id, n)).then(() => acked++, () => {}));
    }
    await Promise.all(inFlight);
  }));
  const elapsed = (performance.now() - t0) / 1000;
  measuring = false;
  deliveries += sockets.reduce((n, s) => n + s.strokesEntries, 0);
  await Promise.all(sockets.map((s) => s.close()));
  console.log(
    `\nwhiteboard stress: ${clients} clients x ${STRESS_RATE} segments/s on one board, ` +
      `${fmt(elapsed, 1)} s: in ${fmt(sent / elapsed)}/s offered, ${
        fmt(acked / elapsed)
      }/s acked; ` +
      `out ${fmt(deliveries / elapsed)} deliveries/s (full fan-out would be ` +
      `${fmt((acked * clients) / elapsed)}/s); draw-to-other-screen p50 ${
        fmt(pct(drawMs, 0.5), 1)
      } ms, ` +
      `p99 ${fmt(pct(drawMs, 0.99), 1)} ms (${drawMs.length} samples on ${OBSERVERS} screens)`,
  );
}
