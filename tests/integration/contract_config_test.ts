/**
 * The contract's configuration, exactly as the seed's compose file writes it:
 * PEERS as plain URLs (here on random ports, never 900N), data dirs in a
 * temporary directory outside the repository, each replica started through
 * `deno task replica` with nothing but the contract's variables, and a
 * gateway in front. A leader is elected and a stroke is acked; after a
 * restart in which one replica stays down, the other two elect a leader
 * without knowing its id, name it once it is up, and it catches up.
 */
import assert from "node:assert/strict";
import { GatewayClient } from "../../gateway/client.ts";
import { eventually, testStroke, waitForHttp } from "../testing/local_cluster.ts";
import { startClusterWithGateways } from "../testing/cluster_with_gateways.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

const status = (url: string) =>
  fetch(`${url}/status`, { signal: AbortSignal.timeout(1000) }).then((r) => r.json());

Deno.test({
  name: "plain-URL peers on any port, data dirs anywhere: a leader, an acked stroke, a late peer",
  ...opts,
}, async () => {
  const lines: string[] = [];
  // LocalCluster sets exactly the contract's variables: REPLICA_ID, PORT, PEERS as plain URLs on
  // random ports, DATA_DIR in the temp dir.
  const stack = await startClusterWithGateways({
    prefix: "wb-contract-",
    subdir: "data",
    onLine: (_, l) => lines.push(l),
  });
  const replicas = stack.cluster.replicas.map((r) => r.proc);
  const urls = stack.cluster.urls();
  const [gateway] = stack.gateways;
  let client: GatewayClient | null = null;
  try {
    const leaderOf = async (group: string[]) =>
      (await Promise.all(group.map(status))).some((s) => s.state === "leader");
    await eventually(() => leaderOf(urls), 15_000, "a leader of three");
    await waitForHttp(`${gateway.http}/healthz`);
    client = await GatewayClient.connect(`${gateway.ws}?board=contract`);
    client.sendStroke(testStroke("contract-1"));
    await client.waitForAcks(["contract-1"], 15_000);

    // All three stop; replica1 and replica2 come back while replica3 stays
    // down, so at their start they can name only each other.
    await Promise.all(replicas.map((r) => r.kill()));
    lines.length = 0;
    replicas[0].start();
    replicas[1].start();
    await eventually(() => leaderOf(urls.slice(0, 2)), 15_000, "a leader of two");
    client.sendStroke(testStroke("contract-2"));
    await client.waitForAcks(["contract-2"], 15_000);

    replicas[2].start();
    await eventually(
      async () => {
        const s = await status(urls[2]);
        return s.leaderId !== null && s.appliedIndex >= 4;
      },
      15_000,
      "the late replica follows and catches up",
    );
    client.sendStroke(testStroke("contract-3"));
    await client.waitForAcks(["contract-3"], 15_000);
    const named = () => lines.filter((l) => /event=peer_identified id=replica3/.test(l)).length;
    // The leader names it at once (it sends to it); the follower within its naming interval.
    await eventually(() => Promise.resolve(named() >= 2), 5_000, "both peers name replica3");
    // Nothing refused, and no Deno.serve notice about request.signal (the replica opts in to
    // the new behaviour: a long-poll's waiter is released by its own timer or a disconnect).
    const noise = /NotCapable|PermissionDenied|error|legacy behavior/i;
    assert.ok(!lines.some((l) => noise.test(l)), lines.join("\n"));
  } finally {
    await client?.close();
    await stack.stop();
  }
});
