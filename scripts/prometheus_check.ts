/**
 * `deno task prometheus:check`: a real Prometheus scraping a real cluster. Starts three
 * replicas and a gateway on free loopback ports, draws strokes through the gateway, runs
 * Debian's `/usr/bin/prometheus` (temp storage, a free port, 1 s scrapes) on all four
 * `/metrics`, then asks its HTTP API what it saw: `up`, terms and roles, commit indexes, the
 * strokes acked, and latency quantiles from the histograms. Prints it; exits 1 when a target is
 * not up or a metric is missing or wrong.
 */
import {
  freePorts,
  LocalCluster,
  testStroke,
  waitForHttp,
} from "../tests/testing/local_cluster.ts";
import { Proc } from "../tests/testing/supervisor.ts";
import { GatewayClient } from "../gateway/client.ts";
import { Prometheus, PROMETHEUS_BIN, prometheusInstalled } from "../tests/testing/prometheus.ts";

const STROKES = 60;

const problems: string[] = [];
const check = (ok: boolean, what: string) => {
  console.log(`  ${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) problems.push(what);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

if (!prometheusInstalled()) {
  console.error(
    `prometheus:check: no Prometheus at ${PROMETHEUS_BIN} (apt-get install prometheus)`,
  );
  Deno.exit(2);
}

const dir = await Deno.makeTempDir({ prefix: "wb-promcheck-" });
const cluster = new LocalCluster({ dir });
const [gatewayPort] = freePorts(1);
const gateway = new Proc({
  name: "gateway",
  task: "gateway",
  env: { GATEWAY_PORT: String(gatewayPort), REPLICA_URLS: cluster.urls().join(",") },
});
let prom: Prometheus | null = null;
try {
  await cluster.start();
  gateway.start();
  const leader = await cluster.waitForLeader(20_000);
  await waitForHttp(`http://127.0.0.1:${gatewayPort}/healthz`, 20_000);
  console.log(`cluster: ${cluster.urls().join(" ")}, leader ${leader.id}; gateway :${gatewayPort}`);

  const client = await GatewayClient.connect(`ws://127.0.0.1:${gatewayPort}/ws?board=prom`);
  const ids = Array.from({ length: STROKES }, (_, i) => `prom-${i}`);
  for (const [i, id] of ids.entries()) client.sendStroke(testStroke(id, i));
  await client.waitForAcks(ids, 30_000);
  console.log(`drew ${STROKES} strokes through the gateway, all acked`);

  const replicaTargets = cluster.replicas.map((r) => `127.0.0.1:${r.port}`);
  prom = await Prometheus.start([
    { job: "replica", targets: replicaTargets },
    { job: "gateway", targets: [`127.0.0.1:${gatewayPort}`] },
  ]);
  await waitForHttp(`${prom.url}/-/ready`, 30_000);
  console.log(`prometheus ${prom.url} (storage ${prom.dir}/data), scraping every 1 s`);

  // Two scrapes at least, so that rate() has two points.
  const deadline = Date.now() + 30_000;
  let targets = await prom.targets();
  while (Date.now() < deadline) {
    targets = await prom.targets();
    const up = await prom.query("up == 1");
    const counted = await prom.query("count_over_time(up[1m])");
    if (up.length === 4 && counted.every((s) => Number(s.value[1]) >= 3)) break;
    await sleep(500);
  }
  console.log("\ntargets:");
  for (const t of targets) {
    console.log(
      `  ${t.job.padEnd(8)} ${t.instance.padEnd(16)} ${t.health}${t.error ? " " + t.error : ""}`,
    );
  }
  // More strokes while Prometheus watches, so the rates are not zero.
  const more = Array.from({ length: STROKES }, (_, i) => `prom-late-${i}`);
  for (const [i, id] of more.entries()) client.sendStroke(testStroke(id, i));
  await client.waitForAcks(more, 30_000);
  await client.close();
  await sleep(2500);

  console.log("\nwhat Prometheus saw:");
  const one = async (expr: string) => {
    const got = await prom!.query(expr);
    for (const s of got) {
      const labels = Object.entries(s.metric).filter(([k]) => k !== "__name__" && k !== "job")
        .map(([k, v]) => `${k}=${v}`).join(" ");
      console.log(`  ${expr}  {${labels}}  ${s.value[1]}`);
    }
    if (got.length === 0) console.log(`  ${expr}  (no data)`);
    return got;
  };
  const up = await one("up");
  check(up.length === 4 && up.every((s) => s.value[1] === "1"), "all four targets up");
  const terms = await one("raft_term");
  check(
    terms.length === 3 && terms.every((s) => Number(s.value[1]) >= 1),
    "raft_term on 3 replicas",
  );
  const leaders = await one("sum(raft_is_leader)");
  check(leaders.length === 1 && leaders[0].value[1] === "1", "exactly one leader");
  const commits = await one("min(raft_commit_index)");
  check(Number(commits[0]?.value[1]) >= 2 * STROKES, `every replica committed >= ${2 * STROKES}`);
  const acked = await one("gateway_strokes_acked_total");
  check(Number(acked[0]?.value[1]) === 2 * STROKES, `gateway acked ${2 * STROKES}`);
  await one("gateway_ws_clients");
  const ackP99 = await one(
    "histogram_quantile(0.99, sum by (le) (rate(gateway_ack_latency_seconds_bucket[1m])))",
  );
  check(Number.isFinite(Number(ackP99[0]?.value[1])), "p99 ack latency is a number");
  const commitP50 = await one(
    "histogram_quantile(0.5, sum by (le) (rate(raft_commit_latency_seconds_bucket[1m])))",
  );
  check(Number.isFinite(Number(commitP50[0]?.value[1])), "p50 commit latency is a number");
  const fsync = await one(
    "histogram_quantile(0.99, sum by (le) (rate(raft_fsync_latency_seconds_bucket[1m])))",
  );
  check(Number.isFinite(Number(fsync[0]?.value[1])), "p99 fsync latency is a number");
  await one("sum by (instance) (raft_elections_won_total)");
  await one("histogram_quantile(0.99, sum by (le) (rate(gateway_fanout_lag_seconds_bucket[1m])))");
} catch (e) {
  problems.push(String(e));
  console.error(`prometheus:check: ${e instanceof Error ? e.message : e}`);
  if (prom) console.error(prom.output.slice(-10).join("\n"));
} finally {
  await prom?.stop();
  await gateway.kill();
  await cluster.stop();
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
console.log(
  problems.length === 0
    ? "\nprometheus:check: ok"
    : `\nprometheus:check: ${problems.length} problem(s)`,
);
Deno.exit(problems.length === 0 ? 0 : 1);
