/**
 * Where the log is compacted: the pure rule, then the thrash it prevents on
 * the in-memory network (a follower that just got a snapshot must not need
 * another one because the leader compacted meanwhile).
 */
import assert from "node:assert/strict";
import { Network, stroke } from "../../tests/testing/raft_network.ts";
import { compactionIndex } from "./compaction.ts";
import type { FollowerProgress } from "./types.ts";

const LIMITS = { threshold: 20, retain: 5 };

function follower(
  matchIndex: number,
  mode: FollowerProgress["mode"] = "replicate",
  recentlyActive = true,
): FollowerProgress {
  return { matchIndex, nextIndex: matchIndex + 1, mode, inflight: 0, recentlyActive };
}

Deno.test("compactionIndex: below the threshold nothing, past it all but the retained tail", () => {
  assert.equal(compactionIndex(LIMITS, { applied: 119, snapshot: 100 }, []), null);
  assert.equal(compactionIndex(LIMITS, { applied: 120, snapshot: 100 }, []), 115);
  assert.equal(compactionIndex(LIMITS, { applied: 120, snapshot: 100 }, [follower(120)]), 115);
});

Deno.test("compactionIndex: an active follower keeps what it has not matched yet", () => {
  assert.equal(compactionIndex(LIMITS, { applied: 150, snapshot: 100 }, [follower(130)]), 130);
  // Too little to gain for a rewrite of the log: wait until the follower moves on.
  assert.equal(compactionIndex(LIMITS, { applied: 150, snapshot: 100 }, [follower(110)]), null);
});

Deno.test("compactionIndex: a snapshot on its way keeps everything after the snapshot point", () => {
  const receiving = follower(0, "snapshot");
  assert.equal(compactionIndex(LIMITS, { applied: 150, snapshot: 100 }, [receiving]), null);
});

Deno.test("compactionIndex: a follower that is down or far behind does not pin the log forever", () => {
  const down = follower(0, "probe", false);
  assert.equal(compactionIndex(LIMITS, { applied: 150, snapshot: 100 }, [down]), 145);
  // Active but 4 thresholds behind: it gets a snapshot rather than an ever longer log.
  const far = follower(0, "snapshot");
  assert.equal(compactionIndex(LIMITS, { applied: 200, snapshot: 100 }, [far]), 120);
  assert.equal(
    compactionIndex({ ...LIMITS, maxRetained: 30 }, { applied: 200, snapshot: 100 }, [
      far,
    ]),
    170,
  );
});

Deno.test("compaction: writes during a snapshot transfer do not make the follower need another one", async () => {
  const net = new Network(["a", "b", "c"], {
    compaction: LIMITS,
    snapshotAtSend: true,
  });
  await net.campaign("a");
  for (let i = 0; i < 5; i++) await net.propose("a", stroke(`s${i}`));
  net.crash("c", true);
  await net.tick(12); // down for longer than an election timeout: c pins nothing
  for (let i = 5; i < 60; i++) await net.propose("a", stroke(`s${i}`));
  assert.ok(net.node("a").status().snapshotIndex > 5, "the leader compacted what c lacks");
  // c comes back empty; its snapshot is copied at once but takes a while to arrive.
  const inFlight = net.hold((m) => m.type === "installSnapshot" && m.to === "c");
  net.start("c");
  await net.tick(30);
  assert.equal(inFlight.length, 1, "a snapshot is on its way to c");
  // Sustained writes meanwhile, with c answering heartbeats (recently active).
  for (let i = 60; i < 120; i++) {
    await net.propose("a", stroke(`s${i}`));
    if (i % 10 === 0) await net.tick(1);
  }
  await net.release(inFlight);
  await net.tick(30);
  const snapshots = net.sent.filter((m) => m.type === "installSnapshot" && m.to === "c");
  assert.equal(snapshots.length, 1, "c caught up from the log after its one snapshot");
  const a = net.node("a").status();
  assert.equal(net.node("c").status().appliedIndex, a.appliedIndex);
  // Once c has caught up the leader compacts again.
  for (let i = 120; i < 150; i++) await net.propose("a", stroke(`s${i}`));
  await net.tick(2);
  assert.ok(net.node("a").status().snapshotIndex > a.snapshotIndex, "the leader compacts again");
});
