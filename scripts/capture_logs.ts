/**
 * Regenerates logs/election-demo.log, logs/failover-demo.log,
 * logs/sync-log-demo.log and logs/membership-demo.log from real runs of
 * replica processes on 127.0.0.1. Each line is prefixed with the milliseconds
 * since the scenario began; lines starting with `#` are the script's own
 * narration.
 *
 *   deno task logs                    # all of them
 *   deno task logs membership-demo    # only the ones named
 */
import { LocalCluster, testStroke } from "../tests/testing/local_cluster.ts";
import { membershipDemo } from "./membership_demo.ts";

const OUT = new URL("../logs/", import.meta.url).pathname;

/** Runs one scenario on a fresh cluster and writes its log. */
async function scenario(
  name: string,
  fn: (c: LocalCluster, note: (s: string) => void, line: (s: string) => void) => Promise<void>,
): Promise<void> {
  if (Deno.args.length > 0 && !Deno.args.includes(name)) return;
  const dir = await Deno.makeTempDir({ prefix: `wb-${name}-` });
  const lines: string[] = [];
  const t0 = performance.now();
  const stamp = () => `+${(performance.now() - t0).toFixed(0).padStart(5)}ms`;
  const note = (s: string) => lines.push(`${stamp()} # ${s}`);
  const c = new LocalCluster({ dir, onLine: (_id, line) => lines.push(`${stamp()} ${line}`) });
  try {
    await c.start();
    await fn(c, note, (line) => lines.push(`${stamp()} ${line}`));
  } finally {
    await c.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  await Deno.writeTextFile(`${OUT}${name}.log`, lines.join("\n") + "\n");
  console.log(`wrote logs/${name}.log (${lines.length} lines)`);
}

async function proposeMany(c: LocalCluster, prefix: string, batches: number, size: number) {
  for (let b = 0; b < batches; b++) {
    await c.propose(Array.from({ length: size }, (_, i) => testStroke(`${prefix}${b}-${i}`, i)));
  }
}

await Deno.mkdir(OUT, { recursive: true });

await scenario("election-demo", async (c, note) => {
  note(
    "three empty replicas start; they probe each other, find the cluster new, and elect a leader",
  );
  const leader = await c.waitForLeader();
  note(`${leader.id} leads; drawing 3 strokes`);
  await c.propose([testStroke("e1"), testStroke("e2"), testStroke("e3")]);
  note("a follower is isolated by SIGSTOP for 2 s: pre-vote keeps it from bumping the term");
  const follower = c.replicas.find((r) => r.id !== leader.id)!;
  follower.proc.signal("SIGSTOP");
  await new Promise((r) => setTimeout(r, 2000));
  follower.proc.signal("SIGCONT");
  await new Promise((r) => setTimeout(r, 500));
  const st = await c.status(leader.id);
  note(`${leader.id} still leads term ${st?.term} after the follower came back`);
});

await scenario("failover-demo", async (c, note) => {
  const leader = await c.waitForLeader();
  await proposeMany(c, "before", 5, 20);
  note(`100 strokes committed; SIGKILL of the leader ${leader.id} now`);
  const t0 = performance.now();
  await c.kill(leader.id);
  const next = await c.waitForLeader(5000, [leader.id]);
  const [index] = await c.propose([testStroke("after-failover")]);
  note(
    `${next.id} leads; first new stroke committed at index ${index}, ${
      (performance.now() - t0).toFixed(0)
    } ms after the kill`,
  );
  note(`${leader.id} restarts from its disk and rejoins as follower`);
  await c.restart(leader.id);
  await new Promise((r) => setTimeout(r, 1500));
  note(`graceful hand-off: SIGTERM to the leader ${next.id} transfers leadership before it exits`);
  await c.kill(next.id, "SIGTERM");
  const third = await c.waitForLeader(5000, [next.id]);
  note(`${third.id} leads after the hand-off`);
  await c.propose([testStroke("after-handoff")]);
  await c.restart(next.id);
  await new Promise((r) => setTimeout(r, 1000));
});

await scenario("sync-log-demo", async (c, note) => {
  const leader = await c.waitForLeader();
  const follower = c.replicas.find((r) => r.id !== leader.id)!;
  await proposeMany(c, "s", 10, 500);
  note(`5000 strokes committed; ${follower.id} is killed and its data dir wiped (disk loss)`);
  await c.kill(follower.id);
  await c.restart(follower.id, { wipe: true });
  note(`${follower.id} starts empty and recovering: it may not vote until the leader caught it up`);
  const target = (await c.status(leader.id))!.commitIndex;
  const t0 = performance.now();
  while (((await c.status(follower.id))?.commitIndex ?? 0) < target) {
    await new Promise((r) => setTimeout(r, 20));
  }
  note(
    `${follower.id} caught up to index ${target} in ${
      (performance.now() - t0).toFixed(0)
    } ms via /sync-log`,
  );
  await c.propose([testStroke("after-sync")]);
  await new Promise((r) => setTimeout(r, 300));
});

await scenario("membership-demo", membershipDemo);
