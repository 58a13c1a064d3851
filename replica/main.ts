/**
 * One replica process: configuration from the environment, durable storage,
 * the Raft core in its driver, the HTTP transport and routes. On SIGTERM or
 * SIGINT a leader hands leadership over first, so a restart pauses writes
 * for milliseconds rather than an election timeout.
 */
import { ConfigError, envFrom, startOrExit } from "../common/config.ts";
import { loadConfig, type ReplicaConfig, toTicks } from "./config.ts";
import { isReplicaId, type Member } from "../protocol/mod.ts";
import { PeerDirectory } from "./peers.ts";
import { ReplicaClient } from "./client.ts";
import { Driver, realClock } from "./driver.ts";
import { RaftNode } from "./raft/node.ts";
import { formatEvent, replicaSay } from "./log_line.ts";
import { replicaApp } from "./routes.ts";
import { DurableLog } from "./storage/durable_log.ts";
import { STATE_DB_FILE_NAME } from "./state_db.ts";
import { openState } from "./open_state.ts";
import { HttpTransport } from "./transport.ts";
import { PeerStreams } from "./peer_stream.ts";
import { isDiskFull } from "./storage/disk_full.ts";
import { SnapshotShipper } from "./snapshot/shipper.ts";
import { SnapshotReceiver } from "./snapshot/receiver.ts";
import { diskIdentity } from "./storage/disk_identity.ts";
import { startMemoryLog } from "../common/memory_log.ts";
import { ReplicaMetrics } from "./metrics.ts";

/**
 * Commit lines are frequent under load: print at most one per interval (the latest), and
 * format only the lines printed (formatting every commit showed in the leader's profile).
 */
function commitThrottle(print: (line: string) => void, intervalMs: number) {
  let last = 0;
  let pending: (() => string) | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  return (line: () => string) => {
    const now = Date.now();
    if (now - last >= intervalMs) {
      last = now;
      print(line());
      return;
    }
    pending = line;
    timer ??= setTimeout(() => {
      timer = undefined;
      last = Date.now();
      if (pending) print(pending());
      pending = null;
    }, intervalMs);
  };
}

async function run(cfg: ReplicaConfig): Promise<void> {
  const storage = await DurableLog.open(cfg.dataDir);
  const restored = storage.restored();
  // A database this replica cannot use stops it at start with one line (startOrExit).
  const { stateDb, reset, appliedBefore, rolledForward } = await openState(cfg.dataDir, restored);
  const receiver = await SnapshotReceiver.open(cfg.dataDir);
  const diskId = await diskIdentity(cfg.dataDir, restored.fresh);
  let node: RaftNode | null = null;
  const say = replicaSay(cfg.replicaId, cfg.tickMs, () => {
    const st = node?.status();
    return { role: st?.role ?? "follower", term: st?.term ?? restored.hardState.term };
  });
  const printCommit = commitThrottle((line) => console.log(line), cfg.debug ? 0 : 250);
  if (restored.discardedBytes > 0) say("torn_tail_dropped", { bytes: restored.discardedBytes });
  if (reset) {
    say("state_db_reset", { applied: appliedBefore, log: restored.entries.length }, "err");
  }
  if (rolledForward) say("snapshot_install_finished", { applied: stateDb.lastIndex() });
  const fatal = (e: unknown) => {
    if (e instanceof ConfigError) console.error(`replica: ${e.message}`);
    else if (isDiskFull(e)) {
      // Nothing is acked before it is durable and a batch applies in one
      // transaction, so stopping here loses nothing; restarting with space
      // again resumes from what is on disk.
      say("fatal", {
        error: `disk full (ENOSPC) under ${cfg.dataDir}: free space, then restart the replica`,
        cause: String(e),
      }, "err");
    } else say("fatal", { error: String(e) }, "err");
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
      // A configuration from the log names its members already: nothing to rename there.
      if (node!.members().some((m) => m.id === url)) node!.identifyPeer(url, id);
      say("peer_identified", { id, url });
    },
    fatal,
    cfg.heartbeatIntervalMs,
  );
  // Until the log holds a configuration: this replica (unless it joins) and PEERS, all voters.
  const bootstrap: Member[] = peers.keys().map((key) => ({
    id: key,
    url: peers.urlOf(key)!,
    voter: true,
  }));
  if (!cfg.join) bootstrap.unshift({ id: cfg.replicaId, url: cfg.advertiseUrl, voter: true });
  node = new RaftNode({
    id: cfg.replicaId,
    peers: peers.keys(),
    members: bootstrap,
    join: cfg.join,
    diskId,
    electionTicksMin: toTicks(cfg.electionTimeoutMinMs, cfg.tickMs),
    electionTicksMax: toTicks(cfg.electionTimeoutMaxMs, cfg.tickMs),
    heartbeatTicks: toTicks(cfg.heartbeatIntervalMs, cfg.tickMs),
    random: Math.random,
  }, restored.fresh ? undefined : { ...restored, applied: stateDb.lastIndex() });
  const raft = node;
  peers.followMembers(() => raft.members());
  const st = node.status();
  say("started", {
    port: cfg.port,
    listen: cfg.listenHost,
    tls: cfg.tls !== null,
    log: st.lastIndex,
    snapshot: st.snapshotIndex,
    applied: st.appliedIndex,
    recovering: st.recovering,
    voter: st.voter,
    disk: diskId,
    members: st.members.map((m) => m.id).join(","),
  });
  const metrics = new ReplicaMetrics(() => driver);
  const shipper = new SnapshotShipper(
    cfg.dataDir,
    `${cfg.dataDir}/${STATE_DB_FILE_NAME}`,
    cfg.clusterToken,
    cfg.electionTimeoutMinMs * 4,
    (event, fields) => {
      metrics.onShipperEvent(event, fields);
      say(event, fields);
    },
    fatal,
  );
  const streams = new PeerStreams(cfg.clusterToken, cfg.electionTimeoutMinMs, say);
  const transport = new HttpTransport(
    peers,
    {
      onResponse: (m) => driver.receive(m),
      onUnreachable: (m) => {
        metrics.onUnreachable(m);
        driver.unreachable(m);
      },
    },
    cfg.clusterToken,
    cfg.electionTimeoutMinMs,
    shipper,
    streams,
  );
  const driver: Driver = new Driver(node, {
    storage: metrics.timed(storage),
    transport,
    stateMachine: stateDb,
    clock: realClock,
    onEvent: (role, term, e) => {
      metrics.onEvent(e);
      const line = () => formatEvent(cfg.replicaId, role, term, e, cfg.tickMs);
      if (e.event === "entry_committed") printCommit(line);
      else console.log(line());
      // A leader keeps a copy of its state ready for a follower behind its compacted log.
      if (e.event === "log_compacted" && role === "leader") shipper.prepare(Number(e.index));
    },
    onFatal: fatal,
    compaction: { threshold: cfg.snapshotThreshold, retain: cfg.snapshotRetain },
  });
  const server = Deno.serve(
    { port: cfg.port, hostname: cfg.listenHost, ...cfg.tls, onListen: () => {} },
    replicaApp(cfg, driver, peers, receiver, { say, fatal, metrics }).fetch,
  );
  driver.start(cfg.tickMs);
  if (cfg.debug) void startMemoryLog((sample) => say("memory", sample));
  // Followers send nothing to their peers, so they ask who is down-and-unnamed now and then,
  // and keep a stream open to each, ready for their votes should they campaign.
  const meetPeers = () => {
    peers.learn();
    streams.warm(peers.peerUrls());
  };
  meetPeers();
  const naming = setInterval(meetPeers, cfg.electionTimeoutMinMs);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const handedOver = await driver.transferLeadership(cfg.electionTimeoutMinMs * 2);
    say("shutdown", { signal, leadership_handed_over: handedOver });
    clearInterval(naming);
    shipper.close();
    streams.close();
    await driver.stop();
    await server.shutdown();
    await storage.close();
    stateDb.close();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", () => shutdown("SIGTERM"));
  Deno.addSignalListener("SIGINT", () => shutdown("SIGINT"));
}

if (import.meta.main) await startOrExit("replica", () => run(loadConfig(envFrom("process"))));
