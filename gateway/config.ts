/** Gateway configuration from the environment (CONTRACT.md: GATEWAY_PORT, REPLICA_URLS, CLUSTER_TOKEN). */
import type { LogLevel } from "./log.ts";

/** Everything `main.ts` needs to start a gateway. */
export interface GatewayConfig {
  port: number;
  replicaUrls: string[];
  clusterToken: string | undefined;
  logLevel: LogLevel;
}

/** Bad configuration; `main.ts` prints its message on one line and exits 1. */
export class ConfigError extends Error {}

const DEFAULT_REPLICA_URLS = "http://127.0.0.1:9001,http://127.0.0.1:9002,http://127.0.0.1:9003";
const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/** Reads and validates the configuration; throws `ConfigError` with a one-line reason. */
export function loadConfig(env: (name: string) => string | undefined): GatewayConfig {
  const token = env("CLUSTER_TOKEN");
  if (token && !/^[\x21-\x7e]+$/.test(token)) {
    throw new ConfigError("CLUSTER_TOKEN must be printable ASCII without spaces");
  }
  return {
    port: parsePort(env("GATEWAY_PORT") ?? "8080"),
    replicaUrls: parseReplicaUrls(env("REPLICA_URLS") ?? DEFAULT_REPLICA_URLS),
    clusterToken: token || undefined,
    logLevel: parseLogLevel(env("LOG_LEVEL") ?? "info"),
  };
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) {
    throw new ConfigError(`GATEWAY_PORT must be an integer 1-65535, got "${text}"`);
  }
  return port;
}

/** Normalizes to `scheme://host:port[/path]` without a trailing slash, so paths can be appended. */
function parseReplicaUrls(text: string): string[] {
  const urls: string[] = [];
  for (const part of text.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    let url: URL;
    try {
      url = new URL(part);
    } catch {
      throw new ConfigError(`REPLICA_URLS: "${part}" is not a URL`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new ConfigError(`REPLICA_URLS: "${part}" must be an http:// or https:// URL`);
    }
    if (url.search || url.hash || url.username) {
      throw new ConfigError(`REPLICA_URLS: "${part}" must not carry a query, fragment or user`);
    }
    const normalized = `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
    if (urls.includes(normalized)) {
      throw new ConfigError(`REPLICA_URLS lists "${normalized}" twice`);
    }
    urls.push(normalized);
  }
  if (urls.length === 0) throw new ConfigError("REPLICA_URLS must list at least one replica URL");
  return urls;
}

function parseLogLevel(text: string): LogLevel {
  const level = LOG_LEVELS.find((l) => l === text.toLowerCase());
  if (!level) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}`);
  return level;
}
