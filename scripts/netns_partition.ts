/**
 * The seed's split-brain bonus, literally: three replicas as three hosts (network namespaces,
 * 10.77.0.1-3, each listening on its own address, port 9001 on all three), a gateway and
 * clients outside on the bridge (10.77.0.254), and the leader cut off from its peers by
 * iptables DROP rules on its own host:
 *
 *   sudo deno task partition:netns [--hold MS]
 *   sudo deno task partition:netns --cleanup   # what a killed (SIGKILL) run left behind
 *
 * Expected, and checked: the majority elects a new leader (term up) while strokes drawn
 * through the gateway keep committing; the old leader steps down by itself (check-quorum),
 * does not raise its term while alone (pre-vote), and acknowledges nothing: a proposal sent
 * straight to it is refused or times out and is never committed. After the rules are removed
 * it rejoins as a follower without disturbing the leader's term, catches up, all logs are
 * equal and every acked stroke is there once. Prints what it saw and writes it to
 * logs/partition-demo.log. Namespaces, links and rules are removed whatever happens.
 * (`deno task partition:demo` is the same story with Docker networks.)
 */
import { GatewayClient } from "../gateway/client.ts";
import { ReplicaClient } from "../replica/client.ts";
import type { StatusResponse } from "../protocol/mod.ts";
import { startDrawing } from "../tests/testing/drawing.ts";
import { freePorts, testStroke, waitForHttp } from "../tests/testing/local_cluster.ts";
import { type Host, NetnsLab, ROOT_ADDR } from "../tests/testing/netns.ts";
import { parseMetrics, sumOf, valueOf } from "../tests/testing/prom_text.ts";
import { Proc } from "../tests/testing/supervisor.ts";

const LOG_FILE = "logs/partition-demo.log";
const PORT = 9001;
const holdAt = Deno.args.indexOf("--hold");
const holdMs = holdAt >= 0 ? Number(Deno.args[holdAt + 1]) : 4000;
if (!Number.isSafeInteger(holdMs) || holdMs < 1000) {
  console.error("partition:netns: --hold takes milliseconds, at least 1000");
  Deno.exit(2);
}

/** The narrative: timed lines on stdout, kept for the log file. */
const t0 = performance.now();
const out: string[] = [];
const failures: string[] = [];
const say = (line: string) => {
  const text = `[${((performance.now() - t0) / 1000).toFixed(2).padStart(6)} s] ${line}`;
  console.log(text);
  out.push(text);
};
const check = (ok: boolean, what: string) => {
  say(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures.push(what);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const token = crypto.randomUUID();
const client = new ReplicaClient(token, 500);
const lab = new NetnsLab(3);
const urlOf = (h: Host) => `http://${h.addr}:${PORT}`;
const dir = await Deno.makeTempDir({ prefix: "wb-netns-" });
const replicaLogs = new Map<string, string[]>();
const replicas = lab.hosts.map((h) =>
  new Proc({
    name: h.name,
    task: "replica",
    wrap: lab.exec(h),
    env: {
      REPLICA_ID: h.name,
      PORT: String(PORT),
      LISTEN_HOST: h.addr,
      ADVERTISE_URL: urlOf(h),
      PEERS: lab.hosts.filter((o) => o !== h).map(urlOf).join(","),
      DATA_DIR: `${dir}/${h.name}`,
      CLUSTER_TOKEN: token,
    },
    onLine: (l) => {
      const lines = replicaLogs.get(h.name) ?? [];
      replicaLogs.set(h.name, lines);
      lines.push(l);
    },
  })
);
const [gatewayPort] = freePorts(1);
const gateway = new Proc({
  name: "gateway",
  task: "gateway",
  env: {
    GATEWAY_PORT: String(gatewayPort),
    REPLICA_URLS: lab.hosts.map(urlOf).join(","),
    CLUSTER_TOKEN: token,
  },
});

async function statuses(): Promise<Map<string, StatusResponse | null>> {
  const all = await Promise.all(lab.hosts.map((h) => client.status(urlOf(h))));
  return new Map(lab.hosts.map((h, i) => [h.name, all[i]]));
}

/** Polls every 20 ms until `pick` returns something; null at the deadline. */
async function until<T>(pick: () => Promise<T | null>, timeoutMs: number): Promise<T | null> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const v = await pick();
    if (v !== null) return v;
    await sleep(20);
  }
  return null;
}

async function metricsOf(h: Host) {
  const res = await fetch(`${urlOf(h)}/metrics`, { signal: AbortSignal.timeout(2000) });
  return parseMetrics(await res.text());
}

let cleaning: Promise<void> | null = null;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await gateway.kill();
    await Promise.all(replicas.map((p) => p.kill()));
    await lab.teardown();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  })();
  return cleaning;
}
// A client's wait that fails once its socket is gone must not end the run before the cleanup.
globalThis.addEventListener("unhandledrejection", (e) => {
  e.preventDefault();
  if (cleaning) return;
  failures.push(String(e.reason));
  say(`FAIL ${e.reason instanceof Error ? e.reason.message : e.reason}`);
});
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(sig, () => {
    say(`${sig}: cleaning up`);
    cleanup().finally(() => Deno.exit(130));
  });
}

if (Deno.args.includes("--cleanup")) {
  await cleanup();
  const left = await lab.leftovers();
  console.log(left.length === 0 ? "partition:netns: nothing left" : `left: ${left.join("; ")}`);
  Deno.exit(left.length === 0 ? 0 : 1);
}

const facts: [string, string][] = [];
try {
  await lab.setup().catch((e) => {
    throw new Error(`cannot build the namespaces (run as root): ${(e as Error).message}`);
  });
  say(
    `hosts: ${lab.hosts.map((h) => `${h.name}=${h.ns}/${h.addr}`).join(", ")}; bridge ${ROOT_ADDR}`,
  );
  for (const p of replicas) p.start();
  const first = await until(async () => {
    const sts = [...(await statuses()).values()];
    const l = sts.find((s) => s?.state === "leader");
    return l && sts.every((s) => s?.term === l.term) ? l : null;
  }, 30_000);
  if (!first) throw new Error("no leader within 30 s");
  say(
    `leader ${first.replicaId} in term ${first.term} (elected over the bridge, port ${PORT} on each host)`,
  );
  gateway.start();
  await waitForHttp(`http://127.0.0.1:${gatewayPort}/healthz`, 20_000);
  const wsUrl = `ws://127.0.0.1:${gatewayPort}/ws?board=netns`;
  const clients = [await GatewayClient.connect(wsUrl), await GatewayClient.connect(wsUrl)];
  const drawing = startDrawing(clients);
  await sleep(1500);
  say(`two clients drawing through the gateway: ${drawing.ackedAt.length} strokes acked so far`);

  // The cut: the leader's host drops everything from and to its two peers.
  const leading = await until(async () => {
    const sts = [...(await statuses()).values()];
    return sts.find((s) => s?.state === "leader") ?? null;
  }, 10_000);
  const old = lab.hosts.find((h) => h.name === (leading ?? first).replicaId)!;
  const peers = lab.hosts.filter((h) => h !== old);
  const before = (await statuses()).get(old.name)!;
  const tCut = performance.now();
  await lab.cut(old, peers);
  say(`CUT: iptables on ${old.ns} (${old.addr}): ${(await lab.rules(old)).join(" ; ")}`);
  const direct = client.propose(urlOf(old), [testStroke("direct-to-old-leader")], {
    timeoutMs: 12_000,
  }).then((r) => ({ r, ms: performance.now() - tCut }));

  let oldMaxTerm = before.term;
  const watchOld = (async () => {
    let steppedDownMs: number | null = null;
    let commitAtStepDown = -1;
    while (performance.now() - tCut < holdMs + 500) {
      const s = await client.status(urlOf(old));
      if (s) {
        oldMaxTerm = Math.max(oldMaxTerm, s.term);
        if (steppedDownMs === null && s.state !== "leader") {
          steppedDownMs = performance.now() - tCut;
          commitAtStepDown = s.commitIndex;
        }
      }
      await sleep(20);
    }
    return { steppedDownMs, commitAtStepDown };
  })();
  const elected = await until(async () => {
    const sts = await Promise.all(peers.map((h) => client.status(urlOf(h))));
    return sts.find((s) => s?.state === "leader" && s.term > before.term) ?? null;
  }, 20_000);
  const electMs = performance.now() - tCut;
  check(
    elected !== null,
    `the majority elected ${elected?.replicaId} in term ${elected?.term} (${
      electMs.toFixed(0)
    } ms after the cut)`,
  );
  const { steppedDownMs, commitAtStepDown } = await watchOld;
  check(
    steppedDownMs !== null,
    `the old leader ${old.name} stepped down by itself after ${
      steppedDownMs?.toFixed(0)
    } ms (check-quorum)`,
  );
  check(
    oldMaxTerm === before.term,
    `alone, ${old.name} stayed in term ${before.term} (highest seen ${oldMaxTerm}: pre-vote)`,
  );
  const { r: directReply, ms: directMs } = await direct;
  check(
    !directReply.ok,
    `a proposal sent straight to ${old.name} was not acked: ${
      directReply.ok
        ? "acked at " + directReply.value
        : `${directReply.status || "no answer"} ${directReply.error}`
    } after ${directMs.toFixed(0)} ms`,
  );
  const duringCut = drawing.ackedAt.filter((t) => t > tCut).length;
  check(
    duringCut > 0,
    `${duringCut} strokes acked through the gateway while ${old.name} was cut off`,
  );
  const oldSt = await client.status(urlOf(old));
  // The majority's leader now (a split vote there may have moved it on from `elected`).
  const leaderSt = await until(async () => {
    const sts = await Promise.all(peers.map((h) => client.status(urlOf(h))));
    return sts.find((s) => s?.state === "leader") ?? null;
  }, 5000);
  if (!leaderSt) throw new Error("the majority has no leader before the heal");
  say(
    `during the cut: ${old.name} ${oldSt?.state} (pre-candidate: asks, never raises its term) ` +
      `term ${oldSt?.term} commit ${oldSt?.commitIndex}; ${leaderSt?.replicaId} leader term ` +
      `${leaderSt?.term} commit ${leaderSt?.commitIndex}`,
  );
  check(
    oldSt?.commitIndex === commitAtStepDown,
    `${old.name} committed nothing alone (commit ${commitAtStepDown} at its step-down, ` +
      `${oldSt?.commitIndex} at the end of the cut)`,
  );
  const gap = (() => {
    const marks = [tCut, ...drawing.ackedAt.filter((t) => t > tCut).sort((a, b) => a - b)];
    return Math.max(0, ...marks.slice(1).map((t, i) => t - marks[i]));
  })();

  // Heal: the rules go; the old leader hears the new term and follows.
  const tHeal = performance.now();
  const commitAtHeal = (await client.status(urlOf(
    lab.hosts.find((h) => h.name === leaderSt.replicaId)!,
  )))
    ?.commitIndex ?? leaderSt.commitIndex;
  await lab.heal(old);
  say(`HEAL: rules on ${old.ns} flushed (${(await lab.rules(old)).length} left)`);
  const caughtUp = await until(async () => {
    const sts = await statuses();
    const o = sts.get(old.name);
    const l = sts.get(leaderSt.replicaId);
    // Drawing goes on, so "caught up" is: following, and holding all that was committed by
    // the heal (the live tail moves on every few milliseconds).
    return o && l && o.state === "follower" && o.leaderId === l.replicaId && o.term === l.term &&
        o.commitIndex >= commitAtHeal
      ? o
      : null;
  }, 20_000);
  const catchUpMs = performance.now() - tHeal;
  check(
    caughtUp !== null,
    `${old.name} follows ${leaderSt.replicaId} again, caught up past ${commitAtHeal} (commit ${caughtUp?.commitIndex}, ${
      catchUpMs.toFixed(0)
    } ms after the heal)`,
  );
  await sleep(1500);
  await drawing.stop();
  const after = await statuses();
  const finalLeader = [...after.values()].find((s) => s?.state === "leader");
  check(
    finalLeader?.replicaId === leaderSt.replicaId && finalLeader?.term === leaderSt.term,
    `the rejoin was quiet: ${finalLeader?.replicaId} still leads in term ${finalLeader?.term}`,
  );

  // Logs: the same on all three, each acked stroke once, the direct proposal nowhere.
  const acked = drawing.sent.filter((id) => clients.some((c) => c.acks().has(id)));
  const commit = Math.max(...[...after.values()].map((s) => s?.commitIndex ?? 0));
  await until(async () => {
    const sts = [...(await statuses()).values()];
    return sts.every((s) => (s?.appliedIndex ?? 0) >= commit) ? true : null;
  }, 10_000);
  const logs = await Promise.all(lab.hosts.map((h) => client.allEntries(urlOf(h))));
  const texts = logs.map((l) => JSON.stringify(l.entries));
  check(
    texts.every((t) => t === texts[0]),
    `all three logs equal (${logs[0].entries.length} entries)`,
  );
  const ids = logs[0].entries.flatMap((e) => "stroke" in e ? [e.stroke.id] : []);
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  check(
    acked.every((id) => counts.get(id) === 1),
    `each of the ${acked.length} acked strokes is in the log exactly once`,
  );
  check(
    !counts.has("direct-to-old-leader"),
    "the stroke sent to the cut-off leader was never committed",
  );

  const m = await Promise.all(lab.hosts.map(metricsOf));
  for (const [i, h] of lab.hosts.entries()) {
    say(
      `metrics ${h.name}: raft_term ${valueOf(m[i], "raft_term")}, elections won ${
        valueOf(m[i], "raft_elections_won_total")
      }, ` +
        `peer RPC errors ${sumOf(m[i], "raft_peer_rpc_errors_total")}, commit ${
          valueOf(m[i], "raft_commit_index")
        }`,
    );
  }
  // The old leader's own account: the first line of each kind, from its step-down on.
  const shown = new Set<string>();
  for (const l of replicaLogs.get(old.name) ?? []) {
    const kind = / event=(stepped_down|became_follower|pre_vote_started|leader_known)/.exec(l);
    if (!kind || shown.has(kind[1]) || (shown.size === 0 && kind[1] !== "stepped_down")) continue;
    shown.add(kind[1]);
    say(`  ${l}`);
  }
  facts.push(
    ["leader cut off", `${old.name} (${old.addr}), term ${before.term}`],
    ["new leader after", `${electMs.toFixed(0)} ms (${elected?.replicaId}, term ${elected?.term})`],
    ["old leader stepped down after", `${steppedDownMs?.toFixed(0)} ms`],
    ["old leader's term while alone", `${oldMaxTerm} (was ${before.term})`],
    [
      "proposal straight to it",
      directReply.ok
        ? "ACKED (wrong)"
        : `refused (${directReply.status || "timeout"}) after ${directMs.toFixed(0)} ms`,
    ],
    [
      "strokes acked during the cut",
      `${duringCut} in ${holdMs} ms; longest gap ${gap.toFixed(0)} ms`,
    ],
    ["caught up after heal", `${catchUpMs.toFixed(0)} ms`],
    ["strokes acked in all", `${acked.length}, each once; logs equal`],
  );
} catch (e) {
  failures.push(String(e));
  say(`FAIL ${e instanceof Error ? e.message : e}`);
} finally {
  await cleanup();
  const left = await lab.leftovers().catch((e) => [String(e)]);
  check(
    left.length === 0,
    `cleaned up: namespaces, veths, bridge and rules removed${
      left.length ? " (left: " + left.join("; ") + ")" : ""
    }`,
  );
}
out.push("", "=== iptables partition (network namespaces) ===");
const width = Math.max(0, ...facts.map(([k]) => k.length));
for (const [k, v] of facts) out.push(`  ${k.padEnd(width)}  ${v}`);
out.push(
  failures.length === 0
    ? "  result: all expectations held"
    : `  result: ${failures.length} FAILED: ${failures.join("; ")}`,
);
console.log(out.slice(out.lastIndexOf("")).join("\n"));
await Deno.writeTextFile(
  LOG_FILE,
  `# deno task partition:netns (${new Date().toISOString()})\n` + out.join("\n") + "\n",
);
console.log(`(written to ${LOG_FILE})`);
Deno.exit(failures.length === 0 ? 0 : 1);
