/** Starts a fake cluster and a gateway in-process for one test, and tears both down. */
import type { ClusterStatus } from "../../protocol/mod.ts";
import { type Gateway, type GatewayOptions, startGateway } from "../../gateway/gateway.ts";
import { createLogger } from "../../common/log.ts";
import { FakeCluster, type FakeClusterOptions } from "./fake_cluster.ts";
import { GatewayClient } from "../../gateway/client.ts";

/** A running fake cluster + gateway. */
export interface Harness {
  fake: FakeCluster;
  gateway: Gateway;
  /** Every log line the gateway wrote (all levels). */
  logLines: string[];
  connect(board?: string, since?: number): Promise<GatewayClient>;
  status(): Promise<ClusterStatus>;
  close(): Promise<void>;
}

/** Options for one test's setup. */
export interface HarnessOptions {
  cluster?: FakeClusterOptions;
  gateway?: Partial<GatewayOptions>;
}

/** Starts both; `LOG=1` also prints the gateway's log lines. */
export function setup(opts: HarnessOptions = {}): Harness {
  const fake = FakeCluster.start(opts.cluster);
  const logLines: string[] = [];
  const print = Deno.env.get("LOG") === "1";
  const gateway = startGateway({
    replicaUrls: fake.urls,
    clusterToken: opts.cluster?.token,
    port: 0,
    hostname: "127.0.0.1",
    log: createLogger("gateway", "debug", (line) => {
      logLines.push(line);
      if (print) console.log(line);
    }),
    cluster: { refreshIntervalMs: 100 },
    stream: { pollWaitMs: 2000 },
    ...opts.gateway,
  });
  const clients: GatewayClient[] = [];
  const base = `127.0.0.1:${gateway.port}`;
  return {
    fake,
    gateway,
    logLines,
    async connect(board = "default", since?: number) {
      const client = await GatewayClient.connect(`ws://${base}/ws`, { board, since });
      clients.push(client);
      return client;
    },
    async status() {
      return await (await fetch(`http://${base}/status`)).json();
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      // Whatever a test did, the gateway must never have sent a client anything off-protocol.
      const violations = clients.flatMap((c) => c.violations);
      await gateway.close();
      await fake.close();
      if (violations.length > 0) throw new Error(`protocol violations: ${violations.join("; ")}`);
    },
  };
}
