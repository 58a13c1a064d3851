/** `deno task gateway`: reads the configuration, starts the gateway, stops it on SIGINT/SIGTERM. */
import { envFrom, startOrExit } from "../common/config.ts";
import { createLogger } from "../common/log.ts";
import { loadConfig } from "./config.ts";
import { startGateway } from "./gateway.ts";
import { startMemoryLog } from "../common/memory_log.ts";

await startOrExit("gateway", () => {
  const config = loadConfig(envFrom("process"));
  const log = createLogger("gateway", config.logLevel);
  const gateway = startGateway({
    replicaUrls: config.replicaUrls,
    clusterToken: config.clusterToken,
    port: config.port,
    tls: config.tls,
    log,
  });
  if (config.logLevel === "debug") void startMemoryLog((sample) => log.debug("memory", sample));
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => {
      // A client that never reads can hold a graceful close open; do not wait for it forever.
      setTimeout(() => Deno.exit(0), 2000);
      gateway.close().finally(() => Deno.exit(0));
    });
  }
});
