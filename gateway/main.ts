/** `deno task gateway`: reads the configuration, starts the gateway, stops it on SIGINT/SIGTERM. */
import { ConfigError, loadConfig } from "./config.ts";
import { startGateway } from "./gateway.ts";
import { createLogger } from "./log.ts";

function fail(message: string): never {
  console.error(`[gateway] error: ${message}`);
  Deno.exit(1);
}

let config;
try {
  config = loadConfig((name) => Deno.env.get(name));
} catch (e) {
  fail(e instanceof ConfigError ? e.message : String(e));
}

let gateway;
try {
  gateway = startGateway({
    replicaUrls: config.replicaUrls,
    clusterToken: config.clusterToken,
    port: config.port,
    log: createLogger(config.logLevel),
  });
} catch (e) {
  fail(e instanceof Deno.errors.AddrInUse ? `port ${config.port} is already in use` : String(e));
}

const running = gateway;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => {
    // A client that never reads can hold a graceful close open; do not wait for it forever.
    setTimeout(() => Deno.exit(0), 2000);
    running.close().finally(() => Deno.exit(0));
  });
}
