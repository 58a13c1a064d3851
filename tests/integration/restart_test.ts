/**
 * A replica restarted over a state database that already holds its history
 * serves the same `/entries` at once and re-applies nothing (real processes).
 * The restart time is printed, never asserted.
 */
import assert from "node:assert/strict";
import { eventually, LocalCluster, testStroke } from "../testing/local_cluster.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "a follower SIGKILLed with thousands of applied entries restarts without re-applying them",
  ...opts,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "wb-restart-" });
  const c = await new LocalCluster({ dir }).start();
  try {
    const leader = await c.waitForLeader();
    const follower = c.replicas.find((r) => r.id !== leader.id)!;
    for (let b = 0; b < 4; b++) {
      await c.propose(Array.from({ length: 1000 }, (_, i) => testStroke(`r${b}-${i}`, i)));
    }
    const target = (await c.status(leader.id))!.commitIndex;
    await c.waitForApplied(target, 20_000);
    const before = await c.entries(follower.id);
    assert.ok(before.length >= 4000);
    // The counter is live (a stuck 0 would pass the check after the restart). Not 4000: under
    // compaction a follower that fell behind on a loaded machine gets part of it as a snapshot,
    // which counts as no applied entries; a leader always keeps a tail after its snapshot point.
    assert.ok(((await c.status(follower.id))!.appliedSinceStart ?? 0) >= 1);

    await c.kill(follower.id);
    const t0 = performance.now();
    await c.restart(follower.id);
    let ready = -1;
    for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
      const st = await c.status(follower.id);
      if (
        st && st.state === "follower" && st.leaderId === leader.id &&
        (st.appliedIndex ?? 0) >= target
      ) {
        ready = performance.now() - t0;
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(ready >= 0, "the restarted follower came back up to date");
    console.log(`  restart of a follower holding ${target} entries: ${ready.toFixed(0)} ms`);

    const st = (await c.status(follower.id))!;
    // A new election would add one no-op; re-applying the history would be thousands.
    assert.ok(
      (st.appliedSinceStart ?? Infinity) <= 1,
      `re-applied ${st.appliedSinceStart} entries after the restart`,
    );
    assert.deepEqual(await c.entries(follower.id), before);

    // The de-duplication index survived too: a retry of a committed id stays one stroke.
    await c.propose([testStroke("r0-0"), testStroke("after-restart")]);
    const after = (await c.status(leader.id))!.commitIndex;
    await c.waitForApplied(after, 10_000);
    const ids = (await c.entries(follower.id)).flatMap((e) => "stroke" in e ? [e.stroke.id] : []);
    assert.equal(ids.filter((id) => id === "r0-0").length, 1);
    assert.ok(ids.includes("after-restart"));
    const log = await Deno.readTextFile(`${dir}/${follower.id}.log`);
    assert.match(log, new RegExp(`event=started .*applied=${target} `));
  } finally {
    await c.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test({
  name: "a replica whose Raft log is lost but whose state database is kept derives it again",
  ...opts,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "wb-restart-" });
  const c = await new LocalCluster({ dir }).start();
  try {
    const leader = await c.waitForLeader();
    const follower = c.replicas.find((r) => r.id !== leader.id)!;
    await c.propose(Array.from({ length: 300 }, (_, i) => testStroke(`l${i}`, i)));
    await c.waitSettled();
    const target = (await c.status(leader.id))!.commitIndex;
    await c.waitForApplied(target);
    await c.kill(follower.id);
    await Deno.remove(`${follower.dataDir}/raft.log`);
    await c.restart(follower.id);
    // A lost log is a new member: the leader demotes, catches up and promotes it first.
    await eventually(
      async () => (await c.status(follower.id))?.recovering === false,
      20_000,
      "the follower is a voter again",
    );
    const [afterLoss] = await c.propose([testStroke("after-loss")]);
    await c.waitForApplied(afterLoss, 20_000);
    assert.deepEqual(await c.entries(follower.id), await c.entries(leader.id));
    const log = await Deno.readTextFile(`${dir}/${follower.id}.log`);
    // Everything it had applied (at least `target`: an entry may commit while it is killed).
    const reset = /event=state_db_reset applied=(\d+) log=0/.exec(log);
    assert.ok(reset && Number(reset[1]) >= target, `${reset?.[0]}, target ${target}`);
  } finally {
    await c.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
