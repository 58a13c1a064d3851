/**
 * One replica process: configuration from the environment, durable storage,
 * the Raft core in its driver, the HTTP transport and routes. On SIGTERM or
 * SIGINT a leader hands leadership over first, so a restart pauses writes
 * for milliseconds rather than an election timeout.
 */
import { ConfigError, envFrom, startOrExit } from "../common/config.ts";
import { isReplicaId, loadConfig, type ReplicaConfig, toTicks } from "./config.ts";
import { PeerDirectory } from "./peers.ts";
import { ReplicaClient } from "./client.ts";
import { Driver, realClock } from "./driver.ts";
import { RaftNode } from "./raft/node.ts";
import { formatEvent } from "./log_line.ts";
import { replicaApp } from "./routes.ts";
import { DurableLog } from "./storage/durable_log.ts";
import { StrokeStore } from "./stroke_store.ts";
import { HttpTransport } from "./transport.ts";

/** Commit lines are frequent under load: print at most one per interval (the latest). */
function commitThrottle(print: (line: string) => void, intervalMs: number) {
  let last = 0;
  let pending: string | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  return (line: string) => {
    const now = Date.now();
    if (now - last >= intervalMs) {
      last = now;
      print(line);
      return;
    }
    pending = line;
    timer ??= setTimeout(() => {
      timer = undefined;
      last = Date.now();
      if (pending) print(pending);
      pending = null;
    }, intervalMs);
  };
}

async function run(cfg: ReplicaConfig): Promise<void> {
  const storage = await DurableLog.open(cfg.dataDir);
  const restored = storage.restored();
  const print = (line: string) => console.log(line);
  const printCommit = commitThrottle(print, cfg.debug ? 0 : 250);
  if (restored.discardedBytes > 0) {
    print(`[${cfg.replicaId}] event=torn_tail_dropped bytes=${restored.discardedBytes}`);
  }
  const fatal = (e: unknown) => {
    const line = e instanceof ConfigError
      ? `replica: ${e.message}`
      : `[${cfg.replicaId}] event=fatal error=${JSON.stringify(String(e))}`;
    console.error(line);
    Deno.exit(e instanceof ConfigError ? 1 : 70);
  };
  // `/status` is open, so a peer can be named before any token is checked.
  const status = new ReplicaClient(null, cfg.electionTimeoutMinMs);
  const peers = new PeerDirectory(
    { id: cfg.replicaId, url: cfg.advertiseUrl },
    cfg.peers,
    async (url) => {
      const st = await status.status(url).catch(() => null);
      return st && isReplicaId(st.replicaId) ? st.replicaId : null;
    },
    (url, id) => {
      node.identifyPeer(url, id);
      print(`[${cfg.replicaId}] event=peer_identified id=${id} url=${url}`);
    },
    fatal,
    cfg.heartbeatIntervalMs,
  );
  const node = new RaftNode({
    id: cfg.replicaId,
    peers: peers.keys(),
    electionTicksMin: toTicks(cfg.electionTimeoutMinMs, cfg.tickMs),
    electionTicksMax: toTicks(cfg.electionTimeoutMaxMs, cfg.tickMs),
    heartbeatTicks: toTicks(cfg.heartbeatIntervalMs, cfg.tickMs),
    random: Math.random,
  }, restored.fresh ? undefined : restored);
  const st = node.status();
  print(
    `[${cfg.replicaId}] term=${st.term} state=FOLLOWER event=started port=${cfg.port} listen=${cfg.listenHost} tls=${
      cfg.tls !== null
    } log=${st.lastIndex} recovering=${st.recovering}`,
  );
  const transport = new HttpTransport(
    peers,
    {
      onResponse: (m) => driver.receive(m),
      onUnreachable: (m) => driver.unreachable(m),
    },
    cfg.clusterToken,
    cfg.electionTimeoutMinMs,
  );
  const driver = new Driver(node, {
    storage,
    transport,
    stateMachine: new StrokeStore(),
    clock: realClock,
    onEvent: (role, term, e) => {
      const line = formatEvent(cfg.replicaId, role, term, e, cfg.tickMs);
      if (e.event === "entry_committed") printCommit(line);
      else print(line);
    },
    onFatal: fatal,
  });
  const server = Deno.serve(
    { port: cfg.port, hostname: cfg.listenHost, ...cfg.tls, onListen: () => {} },
    replicaApp(cfg, driver, peers, fatal).fetch,
  );
  driver.start(cfg.tickMs);
  // Followers send nothing to their peers, so they ask who is down-and-unnamed now and then.
  peers.learn();
  const naming = setInterval(() => peers.learn(), cfg.electionTimeoutMinMs);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const handedOver = await driver.transferLeadership(cfg.electionTimeoutMinMs * 2);
    print(
      `[${cfg.replicaId}] event=shutdown signal=${signal} leadership_handed_over=${handedOver}`,
    );
    clearInterval(naming);
    await driver.stop();
    await server.shutdown();
    await storage.close();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", () => shutdown("SIGTERM"));
  Deno.addSignalListener("SIGINT", () => shutdown("SIGINT"));
}

if (import.meta.main) await startOrExit("replica", () => run(loadConfig(envFrom("process"))));
