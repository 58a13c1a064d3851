/**
 * One replica process: configuration from the environment, durable storage,
 * the Raft core in its driver, the HTTP transport and routes. On SIGTERM or
 * SIGINT a leader hands leadership over first, so a restart pauses writes
 * for milliseconds rather than an election timeout.
 */
import { ConfigError, loadConfig, type ReplicaConfig, toTicks } from "./config.ts";
import { Driver } from "./driver.ts";
import { RaftNode } from "./raft/node.ts";
import { formatEvent } from "./log_line.ts";
import { replicaApp } from "./routes.ts";
import { CorruptLogError, DurableLog } from "./storage/durable_log.ts";
import { StrokeStore } from "./stroke_store.ts";
import { HttpTransport } from "./transport.ts";

/** The variables read (the task grants exactly these). */
const ENV_KEYS = [
  "REPLICA_ID",
  "PORT",
  "PEERS",
  "DATA_DIR",
  "ELECTION_TIMEOUT_MIN",
  "ELECTION_TIMEOUT_MAX",
  "HEARTBEAT_INTERVAL",
  "CLUSTER_TOKEN",
  "TICK_MS",
  "LOG_LEVEL",
  "ADVERTISE_URL",
];

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
  const node = new RaftNode({
    id: cfg.replicaId,
    peers: cfg.peers.map((p) => p.id),
    electionTicksMin: toTicks(cfg.electionTimeoutMinMs, cfg.tickMs),
    electionTicksMax: toTicks(cfg.electionTimeoutMaxMs, cfg.tickMs),
    heartbeatTicks: toTicks(cfg.heartbeatIntervalMs, cfg.tickMs),
    random: Math.random,
  }, restored.fresh ? undefined : restored);
  const st = node.status();
  print(
    `[${cfg.replicaId}] term=${st.term} state=FOLLOWER event=started port=${cfg.port} log=${st.lastIndex} recovering=${st.recovering}`,
  );
  const driver = new Driver(node, storage, new StrokeStore(), (role, term, e) => {
    const line = formatEvent(cfg.replicaId, role, term, e, cfg.tickMs);
    if (e.event === "entry_committed") printCommit(line);
    else print(line);
  }, (e) => {
    console.error(`[${cfg.replicaId}] event=fatal error=${JSON.stringify(String(e))}`);
    Deno.exit(70);
  });
  driver.sender = new HttpTransport(
    cfg.peers,
    {
      onResponse: (m) => driver.receive(m),
      onUnreachable: (m) => driver.unreachable(m),
    },
    cfg.clusterToken,
    cfg.electionTimeoutMinMs,
  );
  const server = Deno.serve(
    { port: cfg.port, hostname: "0.0.0.0", onListen: () => {} },
    replicaApp(cfg, driver).fetch,
  );
  driver.start(cfg.tickMs);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const handedOver = await driver.transferLeadership(cfg.electionTimeoutMinMs * 2);
    print(
      `[${cfg.replicaId}] event=shutdown signal=${signal} leadership_handed_over=${handedOver}`,
    );
    await driver.stop();
    await server.shutdown();
    await storage.close();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", () => shutdown("SIGTERM"));
  Deno.addSignalListener("SIGINT", () => shutdown("SIGINT"));
}

if (import.meta.main) {
  try {
    const env = Object.fromEntries(ENV_KEYS.map((k) => [k, Deno.env.get(k)]));
    await run(loadConfig(env));
  } catch (e) {
    const message = e instanceof ConfigError || e instanceof CorruptLogError ||
        e instanceof Deno.errors.AddrInUse || e instanceof Deno.errors.PermissionDenied
      ? e.message
      : String(e);
    console.error(`replica: ${message}`);
    Deno.exit(1);
  }
}
