/**
 * The seed's failover demo on the real compose cluster, checked end to end:
 *
 *   deno task compose:demo [--graceful] [--direct] [--keep] [--no-build]
 *
 * Builds the image, `up -d`, waits for a leader, draws through the gateway's
 * WebSocket (by POST /propose to the leader with --direct, or when the
 * gateway is not up, and says so), kills the leader's container (`docker
 * kill`; `--graceful` uses `docker stop`, which lets it hand leadership over)
 * while strokes keep coming, measures how long until the new term commits,
 * draws more, starts the old leader again and checks it caught up (its
 * /entries equal the leader's).
 * A second WebSocket client watches: it must see every acked stroke exactly
 * once, in index order. Ends with `down -v` (unless --keep); exits 1 when
 * any expectation failed. Needs a Docker engine. Publishes on the demo host
 * ports 19001-19003, 18080, 13000 (REPLICA1_HOST_PORT... override them), so a
 * `deno task start` cluster on the usual ports is left alone.
 */
import { buildImage } from "./build_image.ts";
import {
  allEntries,
  clusterLine,
  compareLogsOf,
  Compose,
  connectGateway,
  demoEnv,
  demoStroke,
  findLeader,
  gatewayAddr,
  hostAddr,
  propose,
  REPLICAS,
  Report,
  sh,
  sleep,
  status,
  waitFor,
  withTimeout,
} from "./compose_cluster.ts";
import type { GatewayClient } from "../gateway/client.ts";
import type { StatusResponse, Stroke } from "../protocol/mod.ts";

const graceful = Deno.args.includes("--graceful");
const keep = Deno.args.includes("--keep");
const noBuild = Deno.args.includes("--no-build");
const direct = Deno.args.includes("--direct");
const token = Deno.env.get("CLUSTER_TOKEN") || `demo-${crypto.randomUUID()}`;
const tag = `demo${Date.now().toString(36)}`;
const report = new Report();
const facts: [string, string][] = [];
let strokeCount = 0;
const nextStroke = () => demoStroke(tag, strokeCount++);

/** Draws through the gateway when `client` is set, else proposes to the current leader. */
async function draw(client: GatewayClient | null, n: number): Promise<Map<string, number>> {
  const strokes = Array.from({ length: n }, nextStroke);
  const acked = new Map<string, number>();
  if (client) {
    const indexes = await withTimeout(
      Promise.all(strokes.map((s) => client.draw(s))),
      20_000,
      `acks for ${n} strokes`,
    );
    strokes.forEach((s, i) => acked.set(s.id, indexes[i]));
    return acked;
  }
  const leader = await waitFor("a leader", 20_000, () => findLeader());
  const res = await propose(leader.replicaId, strokes, token, 10_000);
  if (!res.ok) throw new Error(`propose: HTTP ${res.status} ${res.error}`);
  strokes.forEach((s, i) => acked.set(s.id, res.value[i]));
  return acked;
}

/**
 * Keeps sending a stroke every 100 ms from the failure on, until the new
 * leader is known and a stroke sent after that is acked. Every stroke sent
 * must still be acked (the gateway retries). Returns each ack's time after t0.
 */
async function drawThroughFailover(
  client: GatewayClient | null,
  t0: number,
  newLeaderSeen: () => boolean,
) {
  let done = false;
  const sent: Promise<[string, { index: number; ms: number }]>[] = [];
  while (!done && performance.now() - t0 < 30_000) {
    const s = nextStroke();
    const afterElection = newLeaderSeen();
    const p = client ? client.draw(s) : proposeAnywhere(s);
    sent.push(p.then((index) => {
      if (afterElection) done = true;
      return [s.id, { index, ms: performance.now() - t0 }];
    }));
    await sleep(100);
  }
  return new Map(await withTimeout(Promise.all(sent), 30_000, "acks after failover"));
}

/** Direct mode: proposes to whichever replica leads, retrying until it commits. */
async function proposeAnywhere(s: Stroke): Promise<number> {
  for (;;) {
    const leader = await findLeader();
    if (leader) {
      const res = await propose(leader.replicaId, [s], token, 3000).catch(() => null);
      if (res?.ok) return res.value[0];
    }
    await sleep(100);
  }
}

async function gatewayReady(): Promise<boolean> {
  try {
    await waitFor("the gateway to see a leader", 30_000, async () => {
      const addr = gatewayAddr();
      if (!addr) return false;
      const res = await fetch(`http://${addr}/healthz`, { signal: AbortSignal.timeout(500) })
        .catch(() => null);
      return res?.ok && (await res.json()).leaderId;
    }, 200);
    return true;
  } catch {
    return false;
  }
}

async function failover(compose: Compose, client: GatewayClient | null, old: StatusResponse) {
  const survivors = REPLICAS.filter((id) => id !== old.replicaId);
  const how = graceful ? "stop" : "kill";
  report.step(
    `docker ${how} ${old.replicaId} (leader, term ${old.term}, commitIndex ${old.commitIndex})`,
  );
  const cid = await compose.container(old.replicaId);
  const t0 = performance.now();
  let seen = false;
  const [, { l, ms }, acks] = await Promise.all([
    sh("docker", graceful ? ["stop", "-t", "3", cid] : ["kill", cid]),
    waitFor("a new leader", 30_000, async () => {
      const l = await findLeader(survivors);
      seen = !!l && l.term > old.term;
      return seen ? { l: l!, ms: performance.now() - t0 } : null;
    }, 20),
    drawThroughFailover(client, t0, () => seen),
  ]);
  report.step(
    `new leader ${l.replicaId} in term ${l.term}, seen ${ms.toFixed(0)} ms after the ${how}`,
  );
  // Which acks the new term committed: a graceful stop lets the old leader commit a few first.
  const terms = new Map(
    (await allEntries(l.replicaId, token)).flatMap((e) => "stroke" in e ? [[e.index, e.term]] : []),
  );
  const ackMs = [...acks.values()];
  const oldTerm = ackMs.filter((a) => terms.get(a.index) === old.term);
  const firstNew = Math.min(
    ...ackMs.filter((a) => terms.get(a.index)! > old.term).map((a) => a.ms),
  );
  report.check(
    Number.isFinite(firstNew),
    `first stroke committed in the new term ${firstNew.toFixed(0)} ms after the ${how}; ` +
      `all ${acks.size} strokes sent meanwhile acked (${oldTerm.length} still by the old leader)`,
  );
  facts.push(
    [`leader ${graceful ? "stopped" : "killed"}`, `${old.replicaId} (term ${old.term})`],
    ["new leader seen after", `${ms.toFixed(0)} ms (${l.replicaId}, term ${l.term})`],
    ["first commit in new term after", `${firstNew.toFixed(0)} ms`],
    ["strokes sent during failover", `${acks.size}, all acked`],
  );
  const acked = new Map([...acks].map(([id, a]) => [id, a.index]));
  return { newLeader: l, acked };
}

async function rejoin(compose: Compose, old: StatusResponse) {
  report.step(`docker start ${old.replicaId}`);
  const t0 = performance.now();
  await sh("docker", ["start", await compose.container(old.replicaId)]);
  const leaderCommit = (await findLeader())!.commitIndex;
  const caughtUp = await waitFor(`${old.replicaId} to catch up`, 60_000, async () => {
    const s = await status(old.replicaId);
    return s && s.state === "follower" && s.commitIndex >= leaderCommit ? s : null;
  });
  const ms = performance.now() - t0;
  report.step(
    `${old.replicaId} back as follower of ${caughtUp.leaderId} in term ${caughtUp.term}, commitIndex ${caughtUp.commitIndex}, ${
      ms.toFixed(0)
    } ms after docker start`,
  );
  facts.push(["old leader caught up after", `${ms.toFixed(0)} ms (container start included)`]);
}

async function compareLogs(): Promise<void> {
  await sleep(500); // let the last heartbeat carry the final commit index to everyone
  const logs = await Promise.all(REPLICAS.map((id) => allEntries(id, token)));
  const cmp = compareLogsOf(logs);
  report.check(cmp.same, `committed logs identical on all replicas (${cmp.detail})`);
  facts.push(["committed entries per replica", logs.map((l) => l.length).join(" / ")]);
}

function checkWatcher(watcher: GatewayClient | null, acked: Map<string, number>): void {
  if (!watcher) return;
  const missing = [...acked].filter(([id, index]) => watcher.indexOf(id) !== index);
  const { violations } = watcher;
  report.check(
    missing.length === 0 && violations.length === 0 && !watcher.closedByServer,
    `watching client saw all ${acked.size} acked strokes at their acked index, ` +
      `protocol violations (repeats, order, shape): ${violations.length}, socket kept: ${!watcher
        .closedByServer}${missing.length ? `, ${missing.length} missing` : ""}`,
  );
}

async function demo(compose: Compose): Promise<void> {
  report.step(`${compose.cmd.join(" ")} up -d (CLUSTER_TOKEN set: ${token.length} chars)`);
  await compose.run("up", "-d");
  await compose.resolvePorts();
  report.step(`published on ${REPLICAS.map(hostAddr).join(", ")}, gateway ${gatewayAddr()}`);
  const first = await waitFor("a leader", 60_000, () => findLeader(), 100);
  report.step(`leader ${first.replicaId}, term ${first.term}   ${await clusterLine()}`);
  const unauth = await fetch(`http://${hostAddr("replica1")}/entries?from=1`);
  await unauth.body?.cancel();
  report.check(unauth.status === 401, `/entries without the token: HTTP ${unauth.status}`);

  const viaGateway = !direct && await gatewayReady();
  if (!viaGateway) {
    report.step(`${direct ? "--direct" : "gateway not ready"}: drawing by POST /propose instead`);
  }
  const drawer = viaGateway ? await connectGateway(tag) : null;
  const watcher = viaGateway ? await connectGateway(tag) : null;
  facts.push([
    "strokes sent via",
    viaGateway ? "gateway WebSocket" : "POST /propose to the leader",
  ]);

  const acked = await draw(drawer, 20);
  report.step(
    `20 strokes acked, indexes ${Math.min(...acked.values())}..${Math.max(...acked.values())}`,
  );
  const leader = await waitFor("a leader", 10_000, () => findLeader());
  const { newLeader, acked: during } = await failover(compose, drawer, leader);
  const after = await draw(drawer, 20);
  report.step(
    `20 more strokes acked by the new leader ${newLeader.replicaId}, up to index ${
      Math.max(...after.values())
    }`,
  );
  await rejoin(compose, leader);
  const all = new Map([...acked, ...during, ...after]);
  await compareLogs();
  const committed = new Set(
    (await allEntries(newLeader.replicaId, token)).flatMap((e) =>
      "stroke" in e ? [e.stroke.id] : []
    ),
  );
  const lost = [...all.keys()].filter((id) => !committed.has(id));
  report.check(
    lost.length === 0,
    `every acked stroke is in the log (${all.size} acked, ${lost.length} lost)`,
  );
  await sleep(300);
  checkWatcher(watcher, all);
  await drawer?.close();
  await watcher?.close();
  report.step(`final: ${await clusterLine()}`);
}

const compose = await Compose.create(demoEnv(token));
let code = 1;
try {
  if (!noBuild) await buildImage(report.step);
  await compose.run("down", "-v", "--remove-orphans");
  await demo(compose);
  code = report.finish("compose demo", facts);
} catch (e) {
  report.check(false, (e as Error).message);
  code = report.finish("compose demo (aborted)", facts);
} finally {
  if (!keep) {
    report.step(`${compose.cmd.join(" ")} down -v`);
    await compose.run("down", "-v", "--remove-orphans").catch((e) => console.error(e.message));
  }
}
Deno.exit(code);
