/**
 * Replica configuration from the environment (CONTRACT.md). `PEERS` is the
 * seed's list of plain URLs (any host, any port); which replica answers at
 * which URL is learnt at run time (see peers.ts). `id=URL` items are an
 * accepted extension that names the peer up front.
 */
import { isReplicaId } from "../protocol/mod.ts";
import {
  ConfigError,
  type Env,
  isLoopbackHost,
  port,
  positiveInt,
  tls,
  type TlsFiles,
  token,
  url,
} from "../common/config.ts";

/** One configured peer: its base URL and, when written as `id=URL`, its id. */
export interface PeerSpec {
  url: string;
  id: string | null;
}

/** Everything a replica process needs to know. */
export interface ReplicaConfig {
  replicaId: string;
  port: number;
  peers: PeerSpec[];
  dataDir: string;
  electionTimeoutMinMs: number;
  electionTimeoutMaxMs: number;
  heartbeatIntervalMs: number;
  tickMs: number;
  clusterToken: string | null;
  /** Address to listen on: loopback unless there is a token (see `listenHost`). */
  listenHost: string;
  /** Certificate and key to serve HTTPS with, or null for plain HTTP. */
  tls: TlsFiles | null;
  /** URL other processes reach this replica at (for leader hints). */
  advertiseUrl: string;
  /** Compact the log once this many applied entries are past its snapshot point (SNAPSHOT_THRESHOLD). */
  snapshotThreshold: number;
  /** Applied entries the log keeps after compacting (a quarter of the threshold). */
  snapshotRetain: number;
  /** JOIN=1: a new replica that waits until a leader adds it (CONTRACT.md, Membership). */
  join: boolean;
  debug: boolean;
}

/** Parses one `PEERS` item: a plain URL, or `id=URL`. */
export function parsePeer(item: string): PeerSpec {
  const eq = item.indexOf("=");
  const named = eq > 0 && !item.slice(0, eq).includes("/");
  const id = named ? item.slice(0, eq) : null;
  if (id !== null && !isReplicaId(id)) {
    throw new ConfigError(`PEERS: "${item}" has a bad id (1-64 chars of [A-Za-z0-9_-])`);
  }
  return { id, url: url(named ? item.slice(eq + 1) : item, "PEERS", ["http", "https"]) };
}

/** The seed's layout when nothing is configured: replica N of three on 127.0.0.1:900N. */
function defaultPeers(replicaId: string): string {
  const m = /^replica([1-3])$/.exec(replicaId);
  if (!m) throw new ConfigError(`PEERS is required for REPLICA_ID=${replicaId}`);
  return [1, 2, 3].filter((n) => n !== Number(m[1])).map((n) => `http://127.0.0.1:${9000 + n}`)
    .join(",");
}

/**
 * LISTEN_HOST. The peer RPCs can rewrite the log, so without a token they must not be reachable
 * from another host (CONTRACT.md): the default is 127.0.0.1, and a non-loopback address is
 * refused. With a token the default is every interface, as peers on other hosts need.
 */
export function listenHost(env: Env, clusterToken: string | null): string {
  const host = env("LISTEN_HOST") ?? (clusterToken ? "0.0.0.0" : "127.0.0.1");
  if (!/^[A-Za-z0-9.:_-]+$/.test(host)) {
    throw new ConfigError(`LISTEN_HOST "${host}" must be an IP address or a host name`);
  }
  if (!clusterToken && !isLoopbackHost(host)) {
    throw new ConfigError(
      `LISTEN_HOST=${host} needs CLUSTER_TOKEN (or CLUSTER_TOKEN_FILE): without a token a replica serves loopback only`,
    );
  }
  return host;
}

/** Reads and checks the configuration. */
export function loadConfig(env: Env): ReplicaConfig {
  const replicaId = env("REPLICA_ID") ?? "replica1";
  if (!isReplicaId(replicaId)) {
    throw new ConfigError(`REPLICA_ID "${replicaId}" must be 1-64 chars of [A-Za-z0-9_-]`);
  }
  const listen = port(env, "PORT", 9001);
  const rawPeers = env("PEERS") ?? defaultPeers(replicaId);
  const peers = rawPeers.split(",").map((s) => s.trim()).filter(Boolean).map(parsePeer);
  if (new Set(peers.map((p) => p.url)).size !== peers.length) {
    throw new ConfigError("PEERS lists a URL twice");
  }
  const ids = peers.map((p) => p.id).filter((id) => id !== null);
  if (ids.includes(replicaId)) throw new ConfigError(`PEERS must not include ${replicaId} itself`);
  if (new Set(ids).size !== ids.length) throw new ConfigError("PEERS names a replica id twice");
  const clusterToken = token(env);
  const tlsFiles = tls(env);
  const host = listenHost(env, clusterToken);
  // Bound to one address, the replica is reachable at that one only; a wildcard includes loopback.
  const ownHost = host === "0.0.0.0" || host === "::"
    ? "127.0.0.1"
    : host.includes(":")
    ? `[${host}]`
    : host;
  const defaultAdvertise = `${tlsFiles ? "https" : "http"}://${ownHost}:${listen}`;
  const cfg: ReplicaConfig = {
    replicaId,
    port: listen,
    peers,
    dataDir: env("DATA_DIR") ?? `.data/${replicaId}`,
    electionTimeoutMinMs: positiveInt(env, "ELECTION_TIMEOUT_MIN", 500),
    electionTimeoutMaxMs: positiveInt(env, "ELECTION_TIMEOUT_MAX", 800),
    heartbeatIntervalMs: positiveInt(env, "HEARTBEAT_INTERVAL", 150),
    tickMs: positiveInt(env, "TICK_MS", 10),
    clusterToken,
    listenHost: host,
    tls: tlsFiles,
    advertiseUrl: url(env("ADVERTISE_URL") ?? defaultAdvertise, "ADVERTISE_URL", ["http", "https"]),
    snapshotThreshold: 0,
    snapshotRetain: 0,
    join: flag(env, "JOIN"),
    debug: env("LOG_LEVEL") === "debug",
  };
  // etcd compacts every 10,000 entries by default; 8,192 keeps the heap's log tail a few MiB.
  cfg.snapshotThreshold = positiveInt(env, "SNAPSHOT_THRESHOLD", 8192);
  cfg.snapshotRetain = Math.floor(cfg.snapshotThreshold / 4);
  if (cfg.electionTimeoutMaxMs < cfg.electionTimeoutMinMs) {
    throw new ConfigError("ELECTION_TIMEOUT_MAX must be >= ELECTION_TIMEOUT_MIN");
  }
  if (cfg.heartbeatIntervalMs >= cfg.electionTimeoutMinMs) {
    throw new ConfigError("HEARTBEAT_INTERVAL must be below ELECTION_TIMEOUT_MIN");
  }
  if (cfg.tickMs > cfg.heartbeatIntervalMs) {
    throw new ConfigError("TICK_MS must be at most HEARTBEAT_INTERVAL");
  }
  return cfg;
}

/** A 0/1 switch; anything else is refused rather than guessed. */
function flag(env: Env, name: string): boolean {
  const v = env(name);
  if (v === undefined || v === "" || v === "0") return false;
  if (v === "1") return true;
  throw new ConfigError(`${name} must be 1 or 0`);
}

/** Milliseconds to whole ticks (at least one). */
export function toTicks(ms: number, tickMs: number): number {
  return Math.max(1, Math.round(ms / tickMs));
}
