/**
 * Replica configuration from the environment (CONTRACT.md). Every bad value
 * becomes one `ConfigError` line; main prints it and exits.
 */

/** A configuration problem worth one line on stderr. */
export class ConfigError extends Error {}

/** One peer: its replica id and base URL. */
export interface Peer {
  id: string;
  url: string;
}

/** Everything a replica process needs to know. */
export interface ReplicaConfig {
  replicaId: string;
  port: number;
  peers: Peer[];
  dataDir: string;
  electionTimeoutMinMs: number;
  electionTimeoutMaxMs: number;
  heartbeatIntervalMs: number;
  tickMs: number;
  clusterToken: string | null;
  /** URL other processes reach this replica at (for leader hints). */
  advertiseUrl: string;
  debug: boolean;
}

const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

function int(env: Record<string, string | undefined>, key: string, fallback: number): number {
  const raw = env[key];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new ConfigError(`${key} must be a positive integer, got "${raw}"`);
  }
  return n;
}

/**
 * Peer ids come from `id=URL` entries, or from the URL: a host named like a
 * replica (compose service names) or a port 9001-9009 on a local host (the
 * seed's layout, replica N on 900N).
 */
export function parsePeer(item: string): Peer {
  const eq = item.indexOf("=");
  const [id, raw] = eq > 0 ? [item.slice(0, eq), item.slice(eq + 1)] : [null, item];
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`PEERS entry "${item}" is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(`PEERS entry "${item}" must be http(s)`);
  }
  const base = url.origin;
  if (id !== null) {
    if (!ID_PATTERN.test(id)) throw new ConfigError(`PEERS entry "${item}" has a bad id`);
    return { id, url: base };
  }
  if (/^replica\d+$/.test(url.hostname)) return { id: url.hostname, url: base };
  const port = Number(url.port);
  if (port >= 9001 && port <= 9009) return { id: `replica${port - 9000}`, url: base };
  throw new ConfigError(`cannot infer the replica id of "${item}"; write it as id=URL`);
}

function defaultPeers(replicaId: string): string {
  const m = /^replica([1-3])$/.exec(replicaId);
  if (!m) throw new ConfigError(`PEERS is required for REPLICA_ID=${replicaId}`);
  return [1, 2, 3].filter((n) => n !== Number(m[1])).map((n) => `http://127.0.0.1:${9000 + n}`)
    .join(",");
}

/** Reads and checks the configuration. */
export function loadConfig(env: Record<string, string | undefined>): ReplicaConfig {
  const replicaId = env.REPLICA_ID || "replica1";
  if (!ID_PATTERN.test(replicaId)) {
    throw new ConfigError(`REPLICA_ID "${replicaId}" must be 1-64 chars of [A-Za-z0-9_-]`);
  }
  const port = int(env, "PORT", 9001);
  if (port > 65535) throw new ConfigError(`PORT must be at most 65535, got ${port}`);
  const peers = (env.PEERS || defaultPeers(replicaId)).split(",").map((s) => s.trim())
    .filter(Boolean).map(parsePeer);
  if (peers.some((p) => p.id === replicaId)) {
    throw new ConfigError(`PEERS must not include ${replicaId} itself`);
  }
  if (new Set(peers.map((p) => p.id)).size !== peers.length) {
    throw new ConfigError("PEERS has a replica twice");
  }
  const cfg: ReplicaConfig = {
    replicaId,
    port,
    peers,
    dataDir: env.DATA_DIR || `.data/${replicaId}`,
    electionTimeoutMinMs: int(env, "ELECTION_TIMEOUT_MIN", 500),
    electionTimeoutMaxMs: int(env, "ELECTION_TIMEOUT_MAX", 800),
    heartbeatIntervalMs: int(env, "HEARTBEAT_INTERVAL", 150),
    tickMs: int(env, "TICK_MS", 10),
    clusterToken: env.CLUSTER_TOKEN || null,
    advertiseUrl: env.ADVERTISE_URL || `http://127.0.0.1:${port}`,
    debug: env.LOG_LEVEL === "debug",
  };
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

/** Milliseconds to whole ticks (at least one). */
export function toTicks(ms: number, tickMs: number): number {
  return Math.max(1, Math.round(ms / tickMs));
}
