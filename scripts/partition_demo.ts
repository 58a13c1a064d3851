/**
 * A real network partition of the leader (the seed's split-brain bonus), checked:
 *
 *   deno task partition:demo [--hold MS] [--keep] [--no-build]
 *
 * Uses the running compose cluster (and the token in its shared volume), or
 * builds the image and brings up the replicas and the gateway on the demo host
 * ports (19001-19003, 18080) and takes them down (`down -v`) at the end unless
 * --keep.
 * `docker network disconnect` cuts the leader off; a watcher inside its
 * container records its /status. Expected: the cut-off leader steps down by
 * itself (check-quorum) and a proposal sent to it never commits; the majority
 * elects a new leader and commits; the cut-off node does not raise its term
 * while alone (pre-vote); after `docker network connect` it rejoins as a
 * follower without bumping the healthy leader's term, and all logs agree.
 */
import { buildImage } from "./build_image.ts";
import {
  allEntries,
  clusterLine,
  compareLogsOf,
  Compose,
  connectGateway,
  CONTAINER_PORTS,
  demoEnv,
  demoStroke,
  findLeader,
  gatewayAddr,
  hostAddr,
  NETWORK,
  probeInside,
  propose,
  REPLICAS,
  Report,
  sh,
  sleep,
  status,
  waitFor,
  withTimeout,
} from "./compose_cluster.ts";
import type { StatusResponse } from "../protocol/mod.ts";

const args = Deno.args;
const holdAt = args.indexOf("--hold");
const holdMs = holdAt >= 0 ? Number(args[holdAt + 1]) : 4000;
if (!Number.isSafeInteger(holdMs) || holdMs < 1000) {
  console.error("partition demo: --hold takes milliseconds, at least 1000");
  Deno.exit(2);
}
const keep = args.includes("--keep");
const noBuild = args.includes("--no-build");
const tag = `part${Date.now().toString(36)}`;
const report = new Report();
const facts: [string, string][] = [];

/** Runs inside the cut-off container: prints each change of its role/term/leader with a timestamp. */
const WATCHER = `
const [port, ms] = Deno.args;
const end = Date.now() + Number(ms);
let last = "";
while (Date.now() < end) {
  try {
    const s = await (await fetch("http://127.0.0.1:" + port + "/status",
      { signal: AbortSignal.timeout(200) })).json();
    const key = s.state + "/" + s.term + "/" + s.leaderId;
    if (key !== last) {
      last = key;
      console.log(JSON.stringify({ t: Date.now(), state: s.state, term: s.term,
        leaderId: s.leaderId, commitIndex: s.commitIndex }));
    }
  } catch { /* keep polling */ }
  await new Promise((r) => setTimeout(r, 20));
}`;

interface Sample {
  t: number;
  state: string;
  term: number;
  leaderId: string | null;
  commitIndex: number;
}

/** Starts the in-container watcher for `ms`; resolves with its samples when it ends. */
async function watchInside(cid: string, port: number, ms: number): Promise<Sample[]> {
  const child = new Deno.Command("docker", {
    args: [
      "exec",
      "-i",
      cid,
      "deno",
      "run",
      "--allow-net=127.0.0.1",
      "-",
      String(port),
      String(ms),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(WATCHER));
  await writer.close();
  const out = await child.output();
  return new TextDecoder().decode(out.stdout).split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

async function insideStatus(cid: string, id: string): Promise<StatusResponse | null> {
  const r = await probeInside(cid, `http://127.0.0.1:${CONTAINER_PORTS[id]}/status`);
  return r.exit === 0 ? r.body as StatusResponse : null;
}

/** Brings the replicas up unless they run already; true when this demo started them. */
async function ensureCluster(compose: Compose, token: string): Promise<boolean> {
  if (alreadyUp) {
    await compose.resolvePorts();
    report.step(`using the running cluster   ${await clusterLine()}`);
    return false;
  }
  if (!noBuild) await buildImage(report.step);
  await compose.run("down", "-v", "--remove-orphans");
  const services = [...REPLICAS, "gateway"];
  report.step(
    `${compose.cmd.join(" ")} up -d ${services.join(" ")} (CLUSTER_TOKEN set: ${token.length > 0})`,
  );
  await compose.run("up", "-d", ...services);
  await compose.resolvePorts();
  report.step(`published on ${REPLICAS.map(hostAddr).join(", ")}, gateway ${gatewayAddr()}`);
  return true;
}

/** When the gateway runs, a stroke sent to it during the cut must be acked (by the majority). */
async function drawThroughGateway(): Promise<string | null> {
  const addr = gatewayAddr();
  const up = addr !== null &&
    await fetch(`http://${addr}/healthz`, { signal: AbortSignal.timeout(500) })
      .then((r) => r.body?.cancel().then(() => r.ok)).catch(() => false);
  if (!up) {
    report.step("gateway not running: skipped the WebSocket stroke during the cut");
    return null;
  }
  const client = await connectGateway(tag);
  const stroke = demoStroke(tag, 2);
  try {
    const index = await withTimeout(client.draw(stroke), 10_000, "gateway ack");
    report.check(true, `gateway acked a stroke during the cut at index ${index}`);
    return stroke.id;
  } catch (e) {
    report.check(false, `gateway stroke during the cut: ${(e as Error).message}`);
    return null;
  } finally {
    await client.close();
  }
}

/** Cuts `old` off; checks the minority side and the majority side while the cut lasts. */
async function partition(cid: string, old: StatusResponse, token: string) {
  const survivors = REPLICAS.filter((id) => id !== old.replicaId);
  const watching = watchInside(cid, CONTAINER_PORTS[old.replicaId], holdMs + 1500);
  await sleep(700); // the watcher's deno is up and has recorded "leader"
  report.step(`docker network disconnect ${NETWORK} ${old.replicaId}`);
  const t0 = Date.now();
  await sh("docker", ["network", "disconnect", NETWORK, cid]);
  const lonely = demoStroke(`${tag}-isolated`, 0);
  const [toIsolated, majority] = await Promise.all([
    probeInside(cid, `http://127.0.0.1:${CONTAINER_PORTS[old.replicaId]}/propose`, {
      body: { strokes: [lonely] },
      timeoutMs: 4000,
      token,
    }),
    waitFor("a majority leader", 20_000, async () => {
      const l = await findLeader(survivors);
      return l && l.term > old.term ? { l, ms: Date.now() - t0 } : null;
    }, 20),
  ]);
  report.check(
    // 1 = an HTTP error answer, 2 = no answer; anything else means the probe itself failed.
    toIsolated.exit === 2 ||
      (toIsolated.exit === 1 && typeof toIsolated.body === "object" && toIsolated.body !== null &&
        "error" in toIsolated.body),
    `proposal to the cut-off ${old.replicaId} not committed (${
      toIsolated.exit === 2 ? "no answer in 4 s" : JSON.stringify(toIsolated.body)
    })`,
  );
  const { l: healthy, ms } = majority;
  report.step(
    `majority elected ${healthy.replicaId} in term ${healthy.term}, ${ms} ms after the cut`,
  );
  const res = await propose(healthy.replicaId, [demoStroke(tag, 1)], token);
  report.check(
    res.ok,
    `majority commits: ${res.ok ? `index ${res.value[0]}` : `HTTP ${res.status} ${res.error}`}`,
  );
  facts.push(["majority leader after", `${ms} ms (${healthy.replicaId}, term ${healthy.term})`]);
  const viaGateway = await drawThroughGateway();
  await sleep(Math.max(0, t0 + holdMs - Date.now()));
  const acked = [`${tag}-0`, `${tag}-1`, ...(viaGateway ? [viaGateway] : [])];
  return { t0, watching, lonely, acked, healthy: (await findLeader(survivors))! };
}

function checkMinority(samples: Sample[], old: StatusResponse, t0: number, healAt: number) {
  for (const s of samples) {
    report.step(
      `  inside ${old.replicaId} at ${s.t - t0 >= 0 ? "+" : ""}${
        s.t - t0
      } ms: ${s.state} term ${s.term} leader ${s.leaderId}`,
    );
  }
  const down = samples.find((s) => s.t >= t0 && s.state !== "leader");
  const stepDownMs = down ? down.t - t0 : -1;
  report.check(
    down !== undefined && stepDownMs <= 3000,
    `cut-off leader stepped down ${stepDownMs} ms after the cut (check-quorum)`,
  );
  const alone = samples.filter((s) => s.t >= t0 && s.t < healAt);
  const maxTerm = Math.max(old.term, ...alone.map((s) => s.term));
  report.check(
    alone.length > 0 && maxTerm === old.term,
    `while cut off its term stayed ${old.term} (pre-vote), highest seen ${maxTerm} over ${alone.length} status changes`,
  );
  facts.push(["old leader stepped down after", `${stepDownMs} ms`]);
}

async function heal(
  cid: string,
  old: StatusResponse,
  healthy: StatusResponse,
  token: string,
) {
  report.step(`docker network connect --alias ${old.replicaId} ${NETWORK} ${old.replicaId}`);
  const healAt = Date.now();
  // Compose gave the container its service name as a network alias; a reconnect must restore it.
  await sh("docker", ["network", "connect", "--alias", old.replicaId, NETWORK, cid]);
  const back = await waitFor(`${old.replicaId} to rejoin`, 20_000, async () => {
    const s = await insideStatus(cid, old.replicaId);
    return s?.state === "follower" && s.leaderId === healthy.replicaId &&
        s.commitIndex >= healthy.commitIndex
      ? s
      : null;
  }, 100);
  const ms = Date.now() - healAt;
  report.step(
    `${old.replicaId} follows ${back.leaderId} in term ${back.term}, commitIndex ${back.commitIndex}, ${ms} ms after the heal`,
  );
  await sleep(2000); // a disruptive rejoin would show up as an election here
  const after = await findLeader();
  report.check(
    after?.replicaId === healthy.replicaId && after.term === healthy.term,
    `healthy leader kept its term: ${healthy.replicaId}@t${healthy.term} before, ${after?.replicaId}@t${after?.term} 2 s after the heal`,
  );
  facts.push(["rejoined as follower after", `${ms} ms`], [
    "term across the heal",
    `${healthy.term} -> ${after?.term}`,
  ]);
  const logs = await Promise.all(REPLICAS.map((id) => allEntries(id, token)));
  const cmp = compareLogsOf(logs);
  report.check(cmp.same, `committed logs identical on all replicas (${cmp.detail})`);
  return { healAt, logs };
}

async function demo(compose: Compose, token: string): Promise<void> {
  const old = await waitFor("a leader", 60_000, () => findLeader(), 100);
  await waitFor("both followers to follow it", 30_000, async () => {
    const all = await Promise.all(REPLICAS.map((id) => status(id)));
    return all.every((s) => s?.leaderId === old.replicaId && s.term === old.term);
  });
  report.step(`leader ${old.replicaId}, term ${old.term}   ${await clusterLine()}`);
  const base = await propose(old.replicaId, [demoStroke(tag, 0)], token);
  report.check(
    base.ok,
    base.ok ? `baseline stroke committed at index ${base.value[0]}` : `baseline: ${base.error}`,
  );
  const cid = await compose.container(old.replicaId);
  const { t0, watching, lonely, acked, healthy } = await partition(cid, old, token);
  const { healAt, logs } = await heal(cid, old, healthy, token);
  checkMinority(await watching, old, t0, healAt);
  const ids = new Set(logs[0].flatMap((e) => ("stroke" in e ? [e.stroke.id] : [])));
  report.check(!ids.has(lonely.id), `the stroke sent to the cut-off leader is in no committed log`);
  report.check(
    acked.every((id) => ids.has(id)),
    `all ${acked.length} acknowledged strokes are committed`,
  );
  report.step(`final: ${await clusterLine()}`);
}

// A running cluster keeps the token it was started with (read from its shared volume unless
// CLUSTER_TOKEN is given); a cluster this demo starts gets a fresh one.
const existing = await Compose.create({});
const running = await existing.runningServices();
const alreadyUp = REPLICAS.every((id) => running.includes(id));
const token = Deno.env.get("CLUSTER_TOKEN") ||
  (alreadyUp ? await existing.sharedToken() : `demo-${crypto.randomUUID()}`);
const compose = await Compose.create(alreadyUp ? {} : demoEnv(token));
let code = 1;
let started = false;
try {
  started = await ensureCluster(compose, token);
  await demo(compose, token);
  code = report.finish("partition demo", facts);
} catch (e) {
  report.check(false, (e as Error).message);
  code = report.finish("partition demo (aborted)", facts);
} finally {
  if (started && !keep) {
    report.step(`${compose.cmd.join(" ")} down -v`);
    await compose.run("down", "-v", "--remove-orphans").catch((e) => console.error(e.message));
  }
}
Deno.exit(code);
