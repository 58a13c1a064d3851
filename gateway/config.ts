/**
 * Gateway configuration from the environment (CONTRACT.md: GATEWAY_PORT, REPLICA_URLS,
 * CLUSTER_TOKEN; extensions: CLUSTER_TOKEN_FILE, TLS_CERT and TLS_KEY).
 */
import {
  ConfigError,
  type Env,
  type LogLevel,
  logLevel,
  port,
  tls,
  type TlsFiles,
  token,
  urlList,
} from "../common/config.ts";

/** Everything `main.ts` needs to start a gateway. */
export interface GatewayConfig {
  port: number;
  replicaUrls: string[];
  clusterToken: string | undefined;
  logLevel: LogLevel;
  /** Serve wss:// (and https://) with these, or plain ws:// when null. */
  tls: TlsFiles | null;
}

const DEFAULT_REPLICA_URLS = "http://127.0.0.1:9001,http://127.0.0.1:9002,http://127.0.0.1:9003";

/** Reads and validates the configuration; throws `ConfigError` with a one-line reason. */
export function loadConfig(env: Env): GatewayConfig {
  const replicaUrls = urlList(env("REPLICA_URLS") ?? DEFAULT_REPLICA_URLS, "REPLICA_URLS");
  if (replicaUrls.length === 0) {
    throw new ConfigError("REPLICA_URLS must list at least one replica URL");
  }
  return {
    port: port(env, "GATEWAY_PORT", 8080),
    replicaUrls,
    clusterToken: token(env) ?? undefined,
    logLevel: logLevel(env),
    tls: tls(env),
  };
}
