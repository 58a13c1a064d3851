/**
 * `GET /metrics` of three real replicas and a real gateway, parsed with the strict text-format
 * parser: every family the contract names is there, and the values move with what the cluster
 * does (strokes drawn raise commit indexes and ack counts, a SIGKILLed leader raises the
 * survivors' term and elections won). The endpoint stays open under a cluster token, as
 * `/status` does. With Debian's Prometheus installed, a second test has it scrape all four.
 */
import assert from "node:assert/strict";
import { eventually, testStroke, waitForHttp } from "../testing/local_cluster.ts";
import { startClusterWithGateways } from "../testing/cluster_with_gateways.ts";
import { GatewayClient } from "../../gateway/client.ts";
import { type Family, parseMetrics, sumOf, valueOf } from "../testing/prom_text.ts";
import { Prometheus, prometheusInstalled } from "../testing/prometheus.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const TOKEN = "metrics-test-token";

async function scrape(base: string): Promise<Map<string, Family>> {
  const res = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5000) });
  assert.equal(res.status, 200, `${base}/metrics answered ${res.status}`);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  return parseMetrics(await res.text());
}

const REPLICA_FAMILIES: [string, Family["type"]][] = [
  ["raft_term", "gauge"],
  ["raft_role", "gauge"],
  ["raft_is_leader", "gauge"],
  ["raft_commit_index", "gauge"],
  ["raft_applied_index", "gauge"],
  ["raft_log_length", "gauge"],
  ["raft_snapshot_index", "gauge"],
  ["raft_elections_started_total", "counter"],
  ["raft_elections_won_total", "counter"],
  ["raft_proposals_received_total", "counter"],
  ["raft_proposals_committed_total", "counter"],
  ["raft_commit_latency_seconds", "histogram"],
  ["raft_fsync_latency_seconds", "histogram"],
  ["raft_snapshots_sent_total", "counter"],
  ["raft_snapshot_sent_bytes", "histogram"],
  ["raft_snapshots_installed_total", "counter"],
  ["raft_snapshot_installed_bytes", "histogram"],
  ["raft_peer_rpc_errors_total", "counter"],
  ["replica_http_refused_total", "counter"],
];

const GATEWAY_FAMILIES: [string, Family["type"]][] = [
  ["gateway_ws_clients", "gauge"],
  ["gateway_boards", "gauge"],
  ["gateway_ws_messages_in_total", "counter"],
  ["gateway_ws_messages_out_total", "counter"],
  ["gateway_strokes_proposed_total", "counter"],
  ["gateway_strokes_acked_total", "counter"],
  ["gateway_ack_latency_seconds", "histogram"],
  ["gateway_fanout_lag_seconds", "histogram"],
  ["gateway_messages_refused_total", "counter"],
  ["gateway_ws_closed_total", "counter"],
  ["gateway_replay_reads_total", "counter"],
];

function assertFamilies(where: string, fam: Map<string, Family>, want: [string, string][]) {
  for (const [name, type] of want) {
    assert.equal(fam.get(name)?.type, type, `${where}: ${name} should be a ${type}`);
    assert.ok(fam.get(name)!.help.length > 0, `${where}: ${name} has no HELP`);
  }
}

async function draw(client: GatewayClient, prefix: string, n: number): Promise<void> {
  const ids = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  for (const [i, id] of ids.entries()) client.sendStroke(testStroke(id, i));
  await client.waitForAcks(ids, 30_000);
}

Deno.test(
  { name: "metrics: strict format, values move with strokes and a leader kill", ...opts },
  async () => {
    // A small threshold, so that the strokes below compact the log and a wiped replica needs a
    // snapshot.
    const env = { SNAPSHOT_THRESHOLD: "32" };
    const stack = await startClusterWithGateways({ prefix: "wb-metrics-", token: TOKEN, env });
    const { cluster } = stack;
    const [{ http: gw, ws }] = stack.gateways;
    try {
      const leader = await stack.ready(20_000);

      // Open without the token (like /status), while everything else still needs it.
      const before = await scrape(leader.url);
      assertFamilies(leader.id, before, REPLICA_FAMILIES);
      assert.equal(valueOf(before, "raft_is_leader"), 1);
      assert.equal(valueOf(before, "raft_role", { role: "leader" }), 1);
      assert.equal(valueOf(before, "raft_role", { role: "follower" }), 0);
      const denied = await fetch(`${leader.url}/entries`);
      await denied.body?.cancel();
      assert.equal(denied.status, 401);
      const refused = await scrape(leader.url);
      assert.equal(
        valueOf(refused, "replica_http_refused_total", { route: "/entries", status: "401" }),
        1,
      );

      const gw0 = await scrape(gw);
      assertFamilies("gateway", gw0, GATEWAY_FAMILIES);
      const client = await GatewayClient.connect(`${ws}?board=metrics`);
      await draw(client, "m", 40);
      client.send({ type: "stroke", stroke: { id: "bad", x0: "no" } });
      await eventually(() => client.errors().length > 0, 10_000, "an error for a bad stroke");

      const after = await scrape(leader.url);
      const commitBefore = valueOf(before, "raft_commit_index")!;
      assert.ok(valueOf(after, "raft_commit_index")! >= commitBefore + 40, "commit index grew");
      assert.ok(valueOf(after, "raft_log_length")! >= valueOf(after, "raft_commit_index")!);
      assert.ok(
        valueOf(after, "raft_proposals_committed_total")! -
            (valueOf(before, "raft_proposals_committed_total") ?? 0) >= 40,
      );
      assert.ok(valueOf(after, "raft_commit_latency_seconds_count")! >= 40);
      assert.ok(valueOf(after, "raft_fsync_latency_seconds_count")! > 0);

      const gw1 = await scrape(gw);
      assert.equal(valueOf(gw1, "gateway_ws_clients"), 1);
      assert.equal(valueOf(gw1, "gateway_boards"), 1);
      assert.equal(valueOf(gw1, "gateway_strokes_acked_total"), 40);
      assert.equal(valueOf(gw1, "gateway_ack_latency_seconds_count"), 40);
      assert.ok(valueOf(gw1, "gateway_ws_messages_in_total")! >= 41);
      assert.ok(valueOf(gw1, "gateway_ws_messages_out_total")! >= 41, "acks and strokes went out");
      assert.ok(valueOf(gw1, "gateway_fanout_lag_seconds_count")! > 0, "fan-out lag observed");
      assert.ok(sumOf(gw1, "gateway_messages_refused_total") >= 1, "the bad stroke was counted");

      // Kill the leader: the survivors elect, the new leader's counters say so.
      const termBefore = valueOf(after, "raft_term")!;
      const survivors = cluster.replicas.filter((r) => r.id !== leader.id);
      const wonBefore = new Map<string, number>();
      for (const r of survivors) {
        wonBefore.set(r.id, valueOf(await scrape(r.url), "raft_elections_won_total")!);
      }
      await cluster.kill(leader.id);
      const next = await cluster.waitForLeader(20_000, [leader.id]);
      const nextFam = await scrape(next.url);
      assert.ok(valueOf(nextFam, "raft_term")! > termBefore, "term went up");
      assert.equal(valueOf(nextFam, "raft_is_leader"), 1);
      // Events are counted once their Ready is persisted, so the role (read live) may show
      // first. At least one win: a split vote may make it win twice.
      await eventually(
        async () => {
          const f = await scrape(next.url);
          return valueOf(f, "raft_elections_won_total")! >= wonBefore.get(next.id)! + 1 &&
            valueOf(f, "raft_elections_started_total", { kind: "vote" })! >= 1;
        },
        10_000,
        "the new leader counted its election and its win",
      );
      await draw(client, "n", 60);
      await eventually(
        async () => {
          const f = await scrape(next.url);
          return sumOf(f, "raft_peer_rpc_errors_total") > 0;
        },
        10_000,
        "the new leader counts failed RPCs to the dead one",
      );
      const gw2 = await scrape(gw);
      assert.equal(valueOf(gw2, "gateway_strokes_acked_total"), 100);

      // Past the threshold: the log was compacted; the killed replica, wiped, gets a snapshot.
      // (Eventually: the leader keeps what a follower it still counts as active may need.)
      await eventually(
        async () => {
          const f = await scrape(next.url);
          return valueOf(f, "raft_snapshot_index")! > 0 &&
            valueOf(f, "raft_log_compactions_total")! >= 1;
        },
        20_000,
        "the leader compacted its log",
      );
      await cluster.restart(leader.id, { wipe: true });
      await eventually(
        async () => {
          const f = await scrape(leader.url);
          return valueOf(f, "raft_snapshots_installed_total", { taken: "true" })! >= 1 &&
            valueOf(f, "raft_snapshot_installed_bytes_count")! >= 1;
        },
        30_000,
        "the wiped replica installed a snapshot",
      );
      const sender = await scrape((await cluster.waitForLeader(20_000)).url);
      assert.ok(sumOf(sender, "raft_snapshots_sent_total") >= 1, "the leader counted it sent");
      assert.ok(valueOf(sender, "raft_snapshot_sent_bytes_count")! >= 1);
      await client.close();
      await eventually(
        async () => valueOf(await scrape(gw), "gateway_ws_clients") === 0,
        10_000,
        "client gone",
      );
    } finally {
      await stack.stop();
    }
  },
);

Deno.test({
  name: "metrics: a real Prometheus scrapes three replicas and the gateway",
  ignore: !prometheusInstalled(),
  ...opts,
}, async () => {
  const stack = await startClusterWithGateways({ prefix: "wb-metrics-prom-" });
  const { cluster } = stack;
  const [{ port, ws }] = stack.gateways;
  let prom: Prometheus | null = null;
  try {
    await stack.ready(20_000);
    const client = await GatewayClient.connect(`${ws}?board=prom`);
    await draw(client, "p", 20);
    prom = await Prometheus.start([
      { job: "replica", targets: cluster.replicas.map((r) => `127.0.0.1:${r.port}`) },
      { job: "gateway", targets: [`127.0.0.1:${port}`] },
    ]);
    await waitForHttp(`${prom.url}/-/ready`, 30_000);
    const p = prom;
    await eventually(async () => (await p.query("up == 1")).length === 4, 30_000, "4 targets up");
    const terms = await p.query("raft_term");
    assert.equal(terms.length, 3);
    const acked = await p.query("gateway_strokes_acked_total");
    assert.equal(acked[0]?.value[1], "20");
    const commits = await p.query("min(raft_commit_index)");
    assert.ok(Number(commits[0].value[1]) >= 20);
    await eventually(
      async () => (await p.query("count_over_time(up[1m]) >= 2")).length === 4,
      30_000,
      "two scrapes of each target",
    );
    await draw(client, "q", 20);
    await eventually(
      async () => {
        const q = await p.query(
          "histogram_quantile(0.9, sum by (le) (rate(gateway_ack_latency_seconds_bucket[1m])))",
        );
        return q.length === 1 && Number.isFinite(Number(q[0].value[1]));
      },
      30_000,
      "an ack latency quantile from the histogram",
    );
    await client.close();
  } finally {
    await prom?.stop();
    await stack.stop();
  }
});
