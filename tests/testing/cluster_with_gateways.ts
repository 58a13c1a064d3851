/**
 * The setup of the integration tests that talk to real processes as clients do: replica
 * processes (a LocalCluster) in a fresh temporary folder and gateway processes in front of
 * them, with the cluster's token. Tests keep their own waits and timeouts; `ready` is the
 * common one (a leader, every gateway answering).
 */
import {
  type ClusterOptions,
  freePorts,
  LocalCluster,
  type ReplicaProc,
  startGateway,
  waitForHttp,
} from "./local_cluster.ts";
import type { Proc } from "./supervisor.ts";

/** One gateway process and where to reach it. */
export interface GatewayProc {
  port: number;
  /** `http://127.0.0.1:{port}`, for /healthz, /metrics and the other HTTP routes. */
  http: string;
  /** `ws://127.0.0.1:{port}/ws`, without query. */
  ws: string;
  proc: Proc;
}

/** What to start: the LocalCluster's options without `dir`, plus the folder and gateway count. */
export interface ClusterWithGatewaysOptions extends Omit<ClusterOptions, "dir"> {
  /** Prefix of the temporary folder. */
  prefix: string;
  /** Subfolder for the replicas' data dirs and logs (default: the temporary folder itself). */
  subdir?: string;
  /** How many gateways (default 1). */
  gateways?: number;
}

/** Running replicas and gateways; `stop` ends them and removes the folder. */
export interface ClusterWithGateways {
  cluster: LocalCluster;
  gateways: GatewayProc[];
  /** Waits for a leader and for every gateway's /healthz (each up to `timeoutMs`); the leader. */
  ready(timeoutMs?: number): Promise<ReplicaProc>;
  stop(): Promise<void>;
}

/** Starts the replicas, then the gateways on free ports; nothing is left running if it throws. */
export async function startClusterWithGateways(
  o: ClusterWithGatewaysOptions,
): Promise<ClusterWithGateways> {
  const { prefix, subdir, gateways: count = 1, ...clusterOpts } = o;
  const dir = await Deno.makeTempDir({ prefix });
  const cluster = new LocalCluster({ ...clusterOpts, dir: subdir ? `${dir}/${subdir}` : dir });
  const gateways: GatewayProc[] = [];
  const stop = async () => {
    // Gateways first: a gateway outliving the replicas only logs and retries.
    for (const g of gateways) await g.proc.kill();
    await cluster.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    await cluster.start();
    for (const port of freePorts(count)) {
      const proc = startGateway(port, cluster.urls(), o.token);
      gateways.push({
        port,
        http: `http://127.0.0.1:${port}`,
        ws: `ws://127.0.0.1:${port}/ws`,
        proc,
      });
    }
  } catch (e) {
    await stop();
    throw e;
  }
  const ready = async (timeoutMs = 10_000) => {
    const leader = await cluster.waitForLeader(timeoutMs);
    for (const g of gateways) await waitForHttp(`${g.http}/healthz`, timeoutMs);
    return leader;
  };
  return { cluster, gateways, ready, stop };
}
