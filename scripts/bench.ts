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
 * - RSS of each replica and the gateway after the load runs;
 * - for each history size H in BENCH_HISTORY (default "100000,1000000"; "0" skips it), on a
 *   fresh cluster with a gateway and 64 clients connected while H strokes are written straight
 *   to the leader: the write rate, RSS of each replica and the gateway at 100k, 500k, 1M and H,
 *   each data dir's size, catch-up of a wiped follower (snapshot or log path, the leader's
 *   `snapshot_shipped` figures), restart of a follower (SIGKILL, its data kept) to an up-to-date
 *   follower with its `appliedSinceStart`, and a late client replaying all of it; the targets
 *   of issue 10 are printed beside them; then (issue 11) a JOIN=1 replica is added, timed from
 *   `POST /members` to the 200 answer and to its own `/status` saying `voter: true`, and removed;
 * - membership changes under load (issue 11): 16 clients draw through the gateway while replica4
 *   and replica5 are added and an original follower and then the leader are removed; the longest
 *   gap between acks in each phase, and POST-to-voter times.
 *
 * BENCH_SECONDS (default 5) sets each load run; BENCH_TRIALS (10) the failovers; BENCH_ONLY
 * ("load": the load, failover, reload and membership sections; "members": only the membership
 * one; "history") runs one part; BENCH_WRITERS (8) sets the proposals in flight while a
 * history is written; BENCH_KEEP keeps its folder (data dirs, replica and gateway logs; with
 * LOG_LEVEL=debug they carry a `memory` line every 2 s).
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
import { MAX_PROPOSE_STROKES } from "../protocol/mod.ts";
import { Proc } from "../tests/testing/supervisor.ts";
import { pct, raceSection, stressSection } from "./race_bench.ts";

const SECONDS = Number(Deno.env.get("BENCH_SECONDS") ?? 5);
const TRIALS = Number(Deno.env.get("BENCH_TRIALS") ?? 10);
/** BENCH_ONLY=race runs the etcd race and the stress case; =load the load, failover, reload and membership sections; =members only the last; =history only the history one. */
const ONLY = Deno.env.get("BENCH_ONLY");
/** How long the history section waits without writes before its last RSS figure. */
const IDLE_RSS_MS = 30_000;

/**
 * What a process's RSS is made of, in MiB, from /proc via `cat` (Deno opens /proc itself only to
 * --allow-all): anonymous pages (V8's heap, malloc, stacks) with malloc's main `[heap]` among
 * them, and file-backed pages (the deno binary's, shared by every deno process).
 */
function rssSplit(pid: number): string {
  const read = (file: string) => {
    const out = new Deno.Command("cat", { args: [`/proc/${pid}/${file}`] }).outputSync();
    return new TextDecoder().decode(out.stdout);
  };
  const kib = (text: string, key: string) =>
    Number(text.match(new RegExp(`${key}:\\s+(\\d+)`))?.[1]);
  const status = read("status");
  const heap = read("smaps").match(/\[heap\]\n(?:.*\n)*?Rss:\s+(\d+)/)?.[1];
  const m = (k: number) => fmt(k / 1024, 0);
  return `${m(kib(status, "RssAnon"))} anon (heap ${heap ? m(Number(heap)) : "?"}) + ` +
    `${m(kib(status, "RssFile"))} file`;
}

/** Resident memory of a process, via ps (reading /proc would need --allow-all). */
function rssMiB(pid: number): number {
  const out = new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)] }).outputSync();
  return Number(new TextDecoder().decode(out.stdout).trim()) / 1024;
}

/** Load clients keep nothing and skip full decoding: their CPU is the system's CPU here. */
const LOAD = { record: false, validate: false } as const;

async function connect(
  url: string,
  n: number,
  opts: { board?: string; decodeStrokes?: boolean } = {},
): Promise<GatewayClient[]> {
  const clients = await Promise.all(
    Array.from({ length: n }, () => GatewayClient.connect(url, { ...LOAD, ...opts })),
  );
  await Promise.all(clients.map((c) => c.hello()));
  return clients;
}

/**
 * `clients` writers with `window` strokes in flight each, for SECONDS; an observer measures draw
 * latency. On a board of its own (no replay of the runs before), the writers counting their
 * fan-out without decoding it (as the race's do: see race_bench.ts).
 */
async function load(wsUrl: string, clients: number, window: number, tag: string) {
  const board = `${tag}-${Date.now()}`;
  const writers = await connect(wsUrl, clients, { board, decodeStrokes: false });
  const [observer] = await connect(wsUrl, 1, { board });
  const sentAt = new Map<string, number>();
  const ackMs: number[] = [];
  const drawMs: number[] = [];
  observer.onStrokes = (entries, at) => {
    for (const e of entries) {
      const t = "stroke" in e ? sentAt.get(e.stroke.id) : undefined;
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

/** A gateway (the `gateway` task) whose output lines go to `logPath` (its `memory` lines at LOG_LEVEL=debug). */
function gatewayLogged(port: number, replicaUrls: string[], logPath: string): Proc {
  const file = Deno.openSync(logPath, { create: true, append: true });
  const enc = new TextEncoder();
  const proc = new Proc({
    name: "gateway",
    task: "gateway",
    env: { GATEWAY_PORT: String(port), REPLICA_URLS: replicaUrls.join(",") },
    onLine: (l) => file.writeSync(enc.encode(l + "\n")),
  });
  proc.start();
  return proc;
}

/** History sizes for the history section: BENCH_HISTORY, a comma list; 0 or empty skips it. */
const HISTORY = (Deno.env.get("BENCH_HISTORY") ?? "100000,1000000").split(",")
  .map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n > 0);
/** Strokes per /propose (the protocol's MAX_PROPOSE_STROKES) and proposals in flight. */
const BATCH = MAX_PROPOSE_STROKES;
const WRITERS = Number(Deno.env.get("BENCH_WRITERS") ?? 8);
const HISTORY_CLIENTS = 64;

/** Figures of one history size. */
interface HistoryFigures {
  entries: number;
  writeMs: number;
  rss: { at: number; replicas: number[]; gateway: number; lagMs: number; split: string[] }[];
  disk: string[];
  catchUpMs: number;
  catchUpPath: string;
  timeline: string[];
  shipped: string[];
  restartMs: number;
  appliedSinceStart: number | undefined;
  replay: string;
  rssAfter: string;
  /** After IDLE_RSS_MS without writes, 64 clients still connected. */
  rssIdle: string;
  shippedDuringWrite: string;
  preVotes: number;
  errors: string[];
  /** Issue 11: a JOIN=1 replica added after the measurements above, and removed again. */
  join: string[];
}

/** A data dir's size on disk by kind of file, in MiB. */
function diskUsage(dataDir: string): string {
  let total = 0, raft = 0, state = 0, stateSide = 0, outgoing = 0, outgoingFiles = 0;
  const other: string[] = [];
  for (const e of Deno.readDirSync(dataDir)) {
    if (!e.isFile) continue;
    const size = Deno.statSync(`${dataDir}/${e.name}`).size;
    total += size;
    if (e.name === "raft.log") raft += size;
    else if (e.name === "state.sqlite") state += size;
    else if (e.name.startsWith("state.sqlite-")) stateSide += size;
    else if (e.name.startsWith("snapshot.outgoing-")) {
      outgoing += size;
      outgoingFiles++;
    } else other.push(`${e.name} ${fmt(size / 2 ** 20)}`);
  }
  const m = (n: number) => fmt(n / 2 ** 20);
  return `${m(total)} MiB: state.sqlite ${m(state)} (+wal/shm ${m(stateSide)}), raft.log ${
    m(raft)
  }` +
    (outgoingFiles ? `, outgoing snapshot copies ${m(outgoing)} (${outgoingFiles} files)` : "") +
    other.map((o) => `, ${o}`).join("");
}

/** The length of a replica's log file (LocalCluster writes `${dir}/${id}.log`), to read past it later. */
function logSize(path: string): number {
  try {
    return Deno.statSync(path).size;
  } catch {
    return 0;
  }
}

/** The lines of a log file after byte `from` that carry `event=<name>`. */
function logEvents(path: string, from: number, name: string): string[] {
  let text = "";
  try {
    text = new TextDecoder().decode(Deno.readFileSync(path).subarray(from));
  } catch { /* no log yet */ }
  return text.split("\n").filter((l) =>
    name === "" ? l !== "" : l.includes(`event=${name} `) || l.endsWith(`event=${name}`)
  );
}

/** Replica log lines as files, each stamped with the bench's clock (`@<ms> `) when it arrived. */
function stampedLog(dir: string): (id: string, line: string) => void {
  const files = new Map<string, Deno.FsFile>();
  return (id, line) => {
    let file = files.get(id);
    if (!file) {
      file = Deno.openSync(`${dir}/${id}.log`, { create: true, append: true });
      files.set(id, file);
    }
    try {
      file.writeSync(new TextEncoder().encode(`@${performance.now().toFixed(1)} ${line}\n`));
    } catch { /* the folder is gone */ }
  };
}

/** Catch-up events of the wiped follower and the leader, in ms after the restart `t0`. */
const TIMELINE: [who: "follower" | "leader", event: string, fields: string[]][] = [
  ["follower", "started", []],
  ["follower", "peer_identified", ["id"]],
  ["follower", "term_learnt", []],
  ["follower", "leader_known", []],
  ["leader", "follower_restarted", []],
  ["leader", "snapshot_sent", ["atLeast"]],
  ["leader", "snapshot_copy_made", ["index", "bytes", "ms"]],
  ["follower", "snapshot_restored", ["index"]],
  ["follower", "snapshot_received", ["receive_ms", "seal_ms", "install_ms"]],
  ["leader", "snapshot_shipped", ["ms", "copy_ms"]],
  ["follower", "recovered", ["index"]],
];

function catchUpTimeline(follower: string[], leader: string[], t0: number): string[] {
  const out: string[] = [];
  for (const [who, event, keys] of TIMELINE) {
    const lines = (who === "follower" ? follower : leader).filter((l) =>
      l.includes(`event=${event} `) || l.endsWith(`event=${event}`)
    );
    for (const l of lines) {
      const at = Number(l.match(/^@(\S+)/)?.[1]) - t0;
      const extra = keys.map((k) => `${k}=${field(l, k)}`).join(" ");
      out.push(`${fmt(at, 0).padStart(6)} ms  ${who.padEnd(8)} ${event} ${extra}`);
    }
  }
  return out.sort((a, b) => parseFloat(a) - parseFloat(b));
}

const field = (line: string, key: string) => line.match(new RegExp(`\\b${key}=(\\S+)`))?.[1] ?? "?";

/** The membership API on the leader (LocalCluster.changeMembers), with room for a 1M catch-up. */
function membersChange(c: LocalCluster, method: "POST" | "DELETE", path: string, body?: unknown) {
  return c.changeMembers(method, path, body, 180_000);
}

/** Figures of one added member: its process start to `/status`, POST to 200, POST to its own `voter: true`. */
interface JoinFigures {
  id: string;
  startMs: number;
  postMs: number;
  voterMs: number;
  configIndex: number;
}

/**
 * Starts a JOIN=1 replica (`cluster.join()`), waits for its `/status`, then times `POST /members`
 * to the 200 answer and, polling its own `/status` meanwhile, to `voter: true`.
 */
async function addMember(c: LocalCluster): Promise<JoinFigures> {
  const ts = performance.now();
  const joiner = c.join();
  while ((await c.status(joiner.id)) === null) await new Promise((r) => setTimeout(r, 5));
  const startMs = performance.now() - ts;
  const t0 = performance.now();
  let voterMs = NaN;
  let giveUpAt = Infinity; // set once the POST has answered (or failed)
  const watch = (async () => {
    while (performance.now() < giveUpAt) {
      if ((await c.status(joiner.id))?.voter === true) return voterMs = performance.now() - t0;
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  try {
    const body = await membersChange(c, "POST", "/members", { url: joiner.url });
    const postMs = performance.now() - t0;
    giveUpAt = performance.now() + 30_000;
    await watch;
    return { id: joiner.id, startMs, postMs, voterMs, configIndex: body.configIndex };
  } finally {
    giveUpAt = 0;
  }
}

/** `DELETE /members/{id}` to the 200 answer (on the leader: hand-over first), then SIGKILL of the removed process. */
async function removeMember(c: LocalCluster, id: string): Promise<number> {
  const t0 = performance.now();
  await membersChange(c, "DELETE", `/members/${id}`);
  const ms = performance.now() - t0;
  await c.kill(id);
  return ms;
}

const joinLine = (j: JoinFigures) =>
  `${j.id} started (JOIN=1) → /status answers ${fmt(j.startMs, 0)} ms; POST /members → 200 ` +
  `${fmt(j.postMs, 0)} ms; → its own /status voter: true ${fmt(j.voterMs, 0)} ms ` +
  `(configIndex ${j.configIndex})`;

/**
 * On a fresh cluster with a gateway and 64 clients connected all along: H
 * strokes written straight to the leader (1000 per /propose, WRITERS in
 * flight), RSS of the replicas and the gateway at 100k, 500k and 1M (those
 * <= H, and H), each data dir's size at H, the catch-up of a wiped follower
 * (restart → commit and applied index at the leader's; snapshot or log
 * path), the restart of a follower holding H strokes (SIGKILL, data kept) to
 * an up-to-date follower, and a late client replaying the whole history.
 */
async function historyBench(h: number): Promise<HistoryFigures> {
  const dir = await Deno.makeTempDir({ prefix: `wb-bench-history-${h}-` });
  const c = await new LocalCluster({ dir, onLine: stampedLog(dir) }).start();
  const [gwPort] = freePorts(1);
  const gateway = gatewayLogged(gwPort, c.urls(), `${dir}/gateway.log`);
  const logOf = (id: string) => `${dir}/${id}.log`;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  let clients: GatewayClient[] = [];
  try {
    await c.waitForLeader();
    await waitForHttp(`http://127.0.0.1:${gwPort}/healthz`);
    const wsUrl = `ws://127.0.0.1:${gwPort}/ws`;
    clients = await connect(wsUrl, HISTORY_CLIENTS);
    const seen = clients.map(() => 0);
    clients.forEach((cl, i) => cl.onStrokes = (entries) => seen[i] += entries.length);
    const until = async (done: () => boolean, timeoutMs: number) => {
      const deadline = performance.now() + timeoutMs;
      while (!done() && performance.now() < deadline) await sleep(20);
      return done();
    };
    const checkpoints = [...new Set([...[100_000, 500_000, 1_000_000].filter((n) => n <= h), h])];
    const rss: HistoryFigures["rss"] = [{
      at: 0,
      replicas: c.replicas.map((r) => rssMiB(r.proc.pid!)),
      gateway: rssMiB(gateway.pid!),
      lagMs: 0,
      split: [],
    }];
    let written = 0;
    let writeMs = 0;
    let leader = await c.waitForLeader();
    const proposeBatch = async (from: number) => {
      const strokes = Array.from(
        { length: Math.min(BATCH, h - from) },
        (_, k) => testStroke(`h-${from + k}`, from + k),
      );
      const reply = await c.client.propose(leader.url, strokes, { timeoutMs: 15_000 })
        .catch(() => null);
      if (reply?.ok) return;
      await c.propose(strokes, 60_000); // the leader moved: find it and retry
      leader = await c.waitForLeader();
    };
    for (const cp of checkpoints) {
      const t0 = performance.now();
      await Promise.all(Array.from({ length: WRITERS }, async () => {
        while (written < cp) {
          const from = written;
          written = Math.min(cp, written + BATCH);
          await proposeBatch(from);
        }
      }));
      writeMs += performance.now() - t0;
      const t1 = performance.now();
      await until(() => seen.every((n) => n >= cp), 300_000);
      rss.push({
        at: cp,
        replicas: c.replicas.map((r) => rssMiB(r.proc.pid!)),
        gateway: rssMiB(gateway.pid!),
        lagMs: performance.now() - t1,
        split: [...c.replicas.map((r) => r.proc.pid!), gateway.pid!].map(rssSplit),
      });
    }
    leader = await c.waitForLeader();
    const target = (await c.status(leader.id))!.commitIndex;
    await c.waitForApplied(target, 120_000);
    const disk = c.replicas.map((r) => `${r.id} ${diskUsage(r.dataDir)}`);

    const all = (name: string) => c.replicas.flatMap((r) => logEvents(logOf(r.id), 0, name));
    // A follower may apply a snapshot before its leader logs the shipment: let those finish.
    await until(
      () =>
        all("snapshot_sent").length <=
          all("snapshot_shipped").length + all("snapshot_copy_failed").length,
      60_000,
    );
    const duringWrite = all("snapshot_shipped");
    const shippedDuringWrite = `${duringWrite.length}` +
      (duringWrite.length
        ? ` (${
          c.replicas.map((r) =>
            `to ${r.id}: ${duringWrite.filter((l) => field(l, "to") === r.id).length}`
          )
            .join(", ")
        }; ${
          fmt(duringWrite.reduce((n, l) => n + Number(field(l, "bytes")), 0) / 2 ** 20, 0)
        } MiB, ` +
          `ms max ${Math.max(...duringWrite.map((l) => Number(field(l, "ms"))))})`
        : "");
    // After the first election (term 1): a follower that stopped hearing from the leader.
    const preVotes = all("pre_vote_started").filter((l) => !l.includes(" term=0 ")).length +
      all("election_started").filter((l) => !l.includes(" term=1 ")).length;

    // Catch-up of a wiped follower.
    const [wiped, kept] = c.replicas.filter((r) => r.id !== leader.id);
    const followerLogAt = logSize(logOf(wiped.id));
    const leaderLogAt = logSize(logOf(leader.id));
    await c.kill(wiped.id);
    const goal = (await c.status(leader.id))!.commitIndex;
    await c.restart(wiped.id, { wipe: true });
    const t0 = performance.now();
    for (;;) {
      const st = await c.status(wiped.id);
      if (st && st.commitIndex >= goal && (st.appliedIndex ?? 0) >= goal) break;
      await sleep(5);
    }
    const catchUpMs = performance.now() - t0;
    await sleep(200); // the leader's log line follows the follower's answer
    const timeline = catchUpTimeline(
      logEvents(logOf(wiped.id), followerLogAt, ""),
      logEvents(logOf(leader.id), leaderLogAt, ""),
      t0,
    );
    const received = logEvents(logOf(wiped.id), followerLogAt, "snapshot_received");
    const synced = logEvents(logOf(wiped.id), followerLogAt, "sync_log_received");
    const catchUpPath = [
      `${received.length} snapshot_received`,
      ...received.map((l) => `(index=${field(l, "index")} bytes=${field(l, "bytes")})`),
      `${synced.length} sync_log_received`,
      ...(synced.length ? [`(entries=${synced.map((l) => field(l, "entries")).join("+")})`] : []),
    ].join(" ");
    const shipped = logEvents(logOf(leader.id), leaderLogAt, "snapshot_shipped").map((l) =>
      `to=${field(l, "to")} index=${field(l, "index")} bytes=${field(l, "bytes")} ` +
      `ms=${field(l, "ms")} result=${field(l, "result")}`
    );

    // Restart of a follower holding the whole history (the one that was never wiped).
    const restartMs = await restartToUpToDate(c, kept.id, leader.id, goal);
    const appliedSinceStart = (await c.status(kept.id))?.appliedSinceStart;

    // A late client replays everything.
    const [late] = await connect(wsUrl, 1);
    let replayed = 0;
    late.onStrokes = (entries) => replayed += entries.length;
    const tr = performance.now();
    const done = await until(() => replayed >= h, 300_000);
    const replay =
      `${done ? "" : `timed out at ${replayed}, `}${fmt(performance.now() - tr, 0)} ms, ` +
      `gateway RSS after ${fmt(rssMiB(gateway.pid!), 0)} MiB`;
    await late.close();
    const rssAfter = c.replicas.map((r) =>
      `${r.id} ${fmt(rssMiB(r.proc.pid!), 0)} = ${rssSplit(r.proc.pid!)}`
    ).join(", ") +
      `, gateway ${fmt(rssMiB(gateway.pid!), 0)} MiB`;

    // Issue 11: a new member (JOIN=1) added to the cluster holding H strokes, then removed again.
    const logsAt = new Map(c.replicas.map((r) => [r.id, logSize(logOf(r.id))]));
    const joined = await addMember(c);
    await sleep(200); // the leader's snapshot_shipped line follows the joiner's answer
    const since = (name: string) =>
      c.replicas.flatMap((r) => logEvents(logOf(r.id), logsAt.get(r.id) ?? 0, name));
    const joinReceived = logEvents(logOf(joined.id), 0, "snapshot_received");
    const joinShipped = since("snapshot_shipped").filter((l) => field(l, "to") === joined.id);
    const join = [
      joinLine(joined),
      `${joined.id} log: ${joinReceived.length} snapshot_received` +
      joinReceived.map((l) =>
        ` (index=${field(l, "index")} bytes=${field(l, "bytes")} receive_ms=${
          field(l, "receive_ms")
        } seal_ms=${field(l, "seal_ms")} install_ms=${field(l, "install_ms")})`
      ).join("") +
      `, ${logEvents(logOf(joined.id), 0, "sync_log_received").length} sync_log_received; ` +
      `leader snapshot_shipped: ${
        joinShipped.map((l) => `ms=${field(l, "ms")} copy_ms=${field(l, "copy_ms")}`).join("; ") ||
        "none"
      }; member_added ms=${since("member_added").map((l) => field(l, "ms")).join(",") || "-"}; ` +
      `pre-votes/elections started meanwhile: ${
        since("pre_vote_started").length + since("election_started").length
      }`,
    ];
    const removeMs = await removeMember(c, joined.id);
    join.push(`DELETE /members/${joined.id} → 200 ${fmt(removeMs, 0)} ms (then SIGKILL)`);

    // RSS right after a burst holds the burst's garbage: V8 returns it once
    // allocation stays low for a while (its memory reducer, ~8 s and more).
    // What a long-running board costs between bursts is this figure.
    await sleep(IDLE_RSS_MS);
    const rssIdle = c.replicas.filter((r) =>
      r.proc.running
    ).map((r) => `${r.id} ${fmt(rssMiB(r.proc.pid!), 0)} = ${rssSplit(r.proc.pid!)}`).join(", ") +
      `, gateway ${fmt(rssMiB(gateway.pid!), 0)} MiB`;

    const errors = new Map<string, number>();
    for (const r of c.replicas) {
      for (
        const l of logEvents(logOf(r.id), 0, "").filter((l) =>
          /fatal|err|snapshot_copy_failed/.test(l)
        )
      ) {
        const key = `${r.id} ${field(l, "event")} ${l.match(/error=(.*)$/)?.[1] ?? ""}`.trim();
        errors.set(key, (errors.get(key) ?? 0) + 1);
      }
    }
    return {
      entries: goal,
      shippedDuringWrite,
      preVotes,
      errors: [...errors].map(([k, n]) =>
        `${n}x ${k}`
      ),
      writeMs,
      rss,
      disk,
      catchUpMs,
      catchUpPath,
      timeline,
      shipped,
      restartMs,
      appliedSinceStart,
      replay,
      rssAfter,
      rssIdle,
      join,
    };
  } finally {
    await Promise.all(clients.map((cl) => cl.close().catch(() => {})));
    await gateway.kill();
    await c.stop();
    if (Deno.env.get("BENCH_KEEP") === undefined) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    } else console.log(`  (kept ${dir})`);
  }
}

/** The targets of issue 10, printed beside the figures. */
function printHistory(h: number, f: HistoryFigures): void {
  const big = h >= 1_000_000;
  console.log(
    `\nfresh cluster, ${h.toLocaleString("en-US")} strokes (${f.entries} entries), ` +
      `${HISTORY_CLIENTS} clients connected throughout:`,
  );
  console.log(
    `  write, ${BATCH} strokes per /propose, ${WRITERS} in flight: ` +
      `${fmt(h / (f.writeMs / 1000), 0)} strokes/s (${fmt(f.writeMs / 1000)} s)`,
  );
  console.log(
    `  RSS MiB by history length     ${c3("replica1")} ${c3("replica2")} ${c3("replica3")}` +
      `  gateway  clients caught up after`,
  );
  for (const r of f.rss) {
    console.log(
      `  ${r.at.toLocaleString("en-US").padStart(28)}  ` +
        r.replicas.map((v) => fmt(v, 0).padStart(8)).join(" ") +
        `  ${fmt(r.gateway, 0).padStart(7)}  ${fmt(r.lagMs, 0)} ms`,
    );
    if (r.split.length) console.log(`    = ${r.split.join("; ")}`);
  }
  console.log(
    `  target${big ? "" : " (at 1M)"}: replica <= 80 MiB, gateway <= 128 MiB with 64 clients`,
  );
  console.log(
    `  snapshots shipped to live followers while it was written: ${f.shippedDuringWrite}; ` +
      `pre-votes/elections started after the first: ${f.preVotes}`,
  );
  for (const d of f.disk) console.log(`  disk ${d}`);
  console.log(
    `  catch-up of a wiped follower (restart → commit and applied index at the leader's): ` +
      `${fmt(f.catchUpMs, 0)} ms   target ${h <= 100_000 ? "100k <= 250 ms" : "1M <= 2 s"}` +
      ` (etcd 3.4: ~530 ms for 100k)`,
  );
  console.log(`    follower log: ${f.catchUpPath}`);
  for (const t of f.timeline) console.log(`    ${t}`);
  console.log(`    leader snapshot_shipped: ${f.shipped.length ? f.shipped.join("; ") : "none"}`);
  console.log(
    `  restart of a follower (SIGKILL, data kept) to an up-to-date follower: ` +
      `${fmt(f.restartMs, 0)} ms, appliedSinceStart ${f.appliedSinceStart ?? "-"}` +
      `   target${big ? "" : " (at 1M)"} < 1 s`,
  );
  console.log(`  a late client replays the whole history: ${f.replay}`);
  console.log(`  RSS at the end MiB: ${f.rssAfter}`);
  console.log(`  RSS after ${IDLE_RSS_MS / 1000} s without writes MiB: ${f.rssIdle}`);
  console.log(
    `  issue 11, time from POST /members to the new member voting with ` +
      `${h.toLocaleString("en-US")} strokes of history (reported, no target):`,
  );
  for (const j of f.join) console.log(`    ${j}`);
  console.log(
    `  replica log lines with fatal/err/snapshot_copy_failed: ${
      f.errors.length ? f.errors.join("; ") : "none"
    }`,
  );
}

const c3 = (s: string) => s.padStart(8);

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

/** Sequential clients drawing through the gateway while the membership changes. */
const MEMBER_CLIENTS = 16;

/**
 * Issue 11 under load, on a fresh cluster: MEMBER_CLIENTS clients draw through the gateway
 * (sequentially, next stroke after the ack) while replica4 and replica5 (JOIN=1) are added one
 * after the other, then an original follower and then the original leader are removed (it hands
 * leadership over first). Per phase, each change plus a second after its answer: the longest
 * time between two consecutive acks of any client, and the worst gap of one client.
 */
async function membershipGaps(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "wb-bench-members-" });
  const c = await new LocalCluster({ dir, onLine: stampedLog(dir) }).start();
  const [gwPort] = freePorts(1);
  const gateway = startGateway(gwPort, c.urls());
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const logOf = (id: string) => `${dir}/${id}.log`;
  let writers: GatewayClient[] = [];
  try {
    await c.waitForLeader();
    await waitForHttp(`http://127.0.0.1:${gwPort}/healthz`);
    writers = await connect(`ws://127.0.0.1:${gwPort}/ws`, MEMBER_CLIENTS);
    const newPhase = () => ({ t0: performance.now(), anyGap: 0, clientGap: 0, acks: 0, nacks: 0 });
    let phase = newPhase();
    const last = writers.map(() => performance.now());
    let lastAny = performance.now();
    let drawing = true;
    const loops = writers.map(async (w, i) => {
      for (let n = 0; drawing; n++) {
        const ok = await w.draw(testStroke(`mg-${i}-${n}`, n)).then(() => true, () => false);
        if (!ok) {
          phase.nacks++;
          await sleep(20);
          continue;
        }
        const now = performance.now();
        phase.clientGap = Math.max(phase.clientGap, now - last[i]);
        phase.anyGap = Math.max(phase.anyGap, now - lastAny);
        last[i] = now;
        lastAny = now;
        phase.acks++;
      }
    });
    console.log(
      `\nmembership changes (issue 11) while ${MEMBER_CLIENTS} clients draw through the gateway, ` +
        `each phase the change plus 1 s after its answer:`,
    );
    const run = async (label: string, change: () => Promise<string>) => {
      const logsAt = new Map(c.replicas.map((r) => [r.id, logSize(logOf(r.id))]));
      phase = newPhase();
      const what = await change().catch((e) => `failed: ${e instanceof Error ? e.message : e}`);
      await sleep(1000);
      const p = phase;
      const ms = performance.now() - p.t0;
      const since = (name: string) =>
        c.replicas.flatMap((r) => logEvents(logOf(r.id), logsAt.get(r.id) ?? 0, name)).length;
      console.log(
        `  ${label}: ${fmt(ms, 0)} ms, ${p.acks} acks (${fmt(p.acks / (ms / 1000), 0)}/s)` +
          `${p.nacks ? `, ${p.nacks} errors` : ""}; longest gap between two acks ` +
          `${fmt(p.anyGap, 0)} ms, worst gap of one client ${fmt(p.clientGap, 0)} ms; ` +
          `pre-votes/elections started ${since("pre_vote_started") + since("election_started")}` +
          (what ? `\n    ${what}` : ""),
      );
    };
    await run("steady, 3 members", async () => {
      await sleep(2000);
      return "";
    });
    for (const id of ["replica4", "replica5"]) {
      await run(`add ${id}`, async () => {
        const j = await addMember(c);
        const received = logEvents(logOf(j.id), 0, "snapshot_received").length;
        const synced = logEvents(logOf(j.id), 0, "sync_log_received").length;
        return `${joinLine(j)}; ${received} snapshot_received, ${synced} sync_log_received`;
      });
    }
    const leader = await c.waitForLeader(20_000);
    const follower = ["replica1", "replica2", "replica3"].find((id) => id !== leader.id)!;
    for (const [id, role] of [[follower, "a follower"], [leader.id, "the leader, hands over"]]) {
      await run(`remove ${id} (${role})`, async () => {
        const ms = await removeMember(c, id);
        const now = await c.waitForLeader(20_000);
        return `DELETE /members/${id} → 200 ${fmt(ms, 0)} ms; leader now ${now.id}`;
      });
    }
    drawing = false;
    await Promise.race([Promise.all(loops), sleep(30_000)]);
  } finally {
    await Promise.all(writers.map((w) => w.close().catch(() => {})));
    await gateway.kill();
    await c.stop();
    if (Deno.env.get("BENCH_KEEP") === undefined) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    } else console.log(`  (kept ${dir})`);
  }
}

/** Runs `body` on a fresh 3-replica cluster with a gateway (both up), then tears them down. */
async function onFreshCluster(
  prefix: string,
  body: (cluster: LocalCluster, wsUrl: string, gateway: Proc) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix });
  const cluster = await new LocalCluster({ dir }).start();
  const [gwPort] = freePorts(1);
  const gateway = startGateway(gwPort, cluster.urls());
  try {
    await cluster.waitForLeader();
    await waitForHttp(`http://127.0.0.1:${gwPort}/healthz`);
    await body(cluster, `ws://127.0.0.1:${gwPort}/ws`, gateway);
  } finally {
    await gateway.kill();
    await cluster.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** The load, failover and reload sections, on one cluster. */
function loadSections(): Promise<void> {
  return onFreshCluster("wb-bench-", async (cluster, wsUrl, gateway) => {
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
  });
}

/** Issue 14 on a fresh cluster: the race against etcd, then the whiteboard stress case. */
function raceSections(): Promise<void> {
  return onFreshCluster("wb-bench-race-", async (cluster, wsUrl) => {
    if (ONLY !== "stress") await raceSection(cluster, wsUrl, SECONDS);
    await stressSection(wsUrl, 64, SECONDS);
  });
}

if (import.meta.main) {
  console.log(
    `whiteboard bench: 3 replicas + gateway on 127.0.0.1, ${SECONDS} s per run, ` +
      `${navigator.hardwareConcurrency} cores\n`,
  );
  if (ONLY === undefined || ONLY === "race" || ONLY === "stress") await raceSections();
  if (ONLY === undefined || ONLY === "load") await loadSections();
  if (ONLY === undefined || ONLY === "load" || ONLY === "members") await membershipGaps();
  if (ONLY === undefined || ONLY === "history") {
    for (const h of HISTORY) printHistory(h, await historyBench(h));
  }
}
