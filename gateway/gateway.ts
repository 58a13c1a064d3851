/** Wires cluster discovery, proposer, commit stream, sessions and routes into one server. */
import { ReplicaClient } from "../replica/client.ts";
import { PeerStreams } from "../replica/peer_stream.ts";
import { createApp } from "./app.ts";
import { AckTimes, ClusterEvents } from "./cluster_events.ts";
import { Cluster, type ClusterOptions } from "./cluster.ts";
import { CommitStream, type CommitStreamOptions } from "./commit_stream.ts";
import type { TlsFiles } from "../common/config.ts";
import type { Logger } from "../common/log.ts";
import { HistoryReader, type HistoryReaderOptions } from "./history_reader.ts";
import { Hub, type HubDeps } from "./hub.ts";
import { Proposer, type ProposerOptions } from "./proposer.ts";
import { BoardDirectory } from "./boards.ts";
import { ViewTokens } from "./view_token.ts";
import { CloseCode, DEFAULT_LIMITS, type SessionLimits } from "./session_limits.ts";
import { GatewayMetrics } from "./metrics.ts";

/** Everything a gateway needs; the tuning fields exist for tests. */
export interface GatewayOptions {
  replicaUrls: string[];
  clusterToken?: string;
  port: number;
  hostname?: string;
  /** Certificate and key: the gateway then serves wss:// and https:// only. */
  tls?: TlsFiles | null;
  log: Logger;
  limits?: Partial<SessionLimits>;
  cluster?: Partial<
    Pick<ClusterOptions, "statusTimeoutMs" | "refreshIntervalMs" | "membersIntervalMs">
  >;
  proposer?: Partial<Omit<ProposerOptions, "cluster" | "client" | "log">>;
  stream?: Partial<Pick<CommitStreamOptions, "pollWaitMs" | "batchLimit" | "cacheEntries">>;
  history?: Partial<Pick<HistoryReaderOptions, "pageLimit" | "maxConcurrent" | "timeoutMs">>;
  helloGraceMs?: HubDeps["helloGraceMs"];
}

/** A running gateway. */
export interface Gateway {
  port: number;
  hub: Hub;
  cluster: Cluster;
  stream: CommitStream;
  history: HistoryReader;
  proposer: Proposer;
  metrics: GatewayMetrics;
  /** Closes clients (1001), stops the loops, then the server. */
  close(): Promise<void>;
}

/** How long a stream to a replica may take to open before proposals are POSTed meanwhile. */
const STREAM_OPEN_TIMEOUT_MS = 1000;
/** How often streams to replicas that have none (new members, restarted ones) are opened. */
const STREAM_WARM_MS = 500;

/** Starts a gateway; resolves once it listens. */
export function startGateway(opts: GatewayOptions): Gateway {
  const { log } = opts;
  // Proposals to the leader over its peer stream while it is open (one HTTP request per batch saved).
  const streams = new PeerStreams(
    opts.clusterToken ?? null,
    STREAM_OPEN_TIMEOUT_MS,
    (event, f) => log.debug(event, f),
  );
  const client = new ReplicaClient(opts.clusterToken, undefined, streams);
  // Read at scrape time, once everything below exists.
  const metrics = new GatewayMetrics({
    clients: () => hub.clientCount,
    boards: () => hub.clientsByBoard().size,
    lastIndex: () => stream.lastIndex,
    leaderKnown: () => cluster.leader !== null,
  });
  const cluster: Cluster = new Cluster({
    urls: opts.replicaUrls,
    client,
    log,
    ...opts.cluster,
    onLeaderChange: () => {
      stream.preferLeader();
      hub.broadcast({ type: "cluster", status: status() });
    },
  });
  const proposer = new Proposer({ cluster, client, log, ...opts.proposer });
  const stream: CommitStream = new CommitStream({
    cluster,
    client,
    log,
    ...opts.stream,
    onCommitted: (boards) => {
      metrics.seen(stream.lastIndex);
      hub.notify(boards);
    },
  });
  const history = new HistoryReader({ cluster, client, log, ...opts.history });
  const acks = new AckTimes();
  const hub: Hub = new Hub({
    stream,
    history: { page: metrics.countReads((from, signal) => history.page(from, signal)) },
    // One timing per ack feeds both the Prometheus histogram and the dashboard's window.
    proposer: {
      submitItem: metrics.timeSubmit((item) => proposer.submitItem(item), (ms) => acks.record(ms)),
    },
    metrics,
    helloGraceMs: opts.helloGraceMs,
    log,
    limits: { ...DEFAULT_LIMITS, ...opts.limits },
    clusterStatus: () => status(),
  });
  const status = () => cluster.status(hub.clientCount, stream.lastIndex);
  const boards = new BoardDirectory(cluster, client);
  const events = new ClusterEvents({
    status,
    committedIndex: () => stream.lastIndex,
    boards: () => boards.list(hub.clientsByBoard()),
    watchLeader: (fn) => cluster.watchLeader(fn),
    acks,
  });
  const app = createApp({
    hub,
    cluster,
    stream,
    log,
    boards,
    viewTokens: new ViewTokens(opts.clusterToken),
    metrics,
    events,
  });
  const server = Deno.serve({
    port: opts.port,
    hostname: opts.hostname ?? "0.0.0.0",
    ...opts.tls,
    onListen: ({ port }) =>
      log.info("listening", { port, tls: !!opts.tls, replicas: opts.replicaUrls.join(",") }),
  }, app.fetch);
  cluster.start();
  stream.start();
  // A stream to every replica, not only the leader's: the first proposal to a new leader then
  // needs no fresh connection.
  const warming = setInterval(() => streams.warm(cluster.urls), STREAM_WARM_MS);
  return {
    port: server.addr.port,
    hub,
    cluster,
    stream,
    history,
    proposer,
    metrics,
    async close() {
      hub.closeAll(CloseCode.goingAway, "gateway shutting down");
      events.close();
      cluster.stop();
      stream.stop();
      proposer.stop();
      clearInterval(warming);
      streams.close();
      await server.shutdown();
    },
  };
}
