/**
 * Compaction and snapshots on the in-memory network (the real core in the
 * real driver): logs are compacted past a threshold, a follower behind the
 * compacted prefix gets the leader's state machine, a restart reads the
 * compacted disk, and a snapshot that would roll a follower back is ignored.
 */
import assert from "node:assert/strict";
import { Network, stroke } from "../../tests/testing/raft_network.ts";
import type { LogEntry } from "./types.ts";

const COMPACTION = { threshold: 20, retain: 5 };
const ELECTION_MAX = 20;

async function cluster(): Promise<Network> {
  const net = new Network(["a", "b", "c"], { compaction: COMPACTION });
  await net.campaign("a");
  assert.equal(net.node("a").status().role, "leader");
  return net;
}

async function draw(net: Network, leader: string, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i++) await net.propose(leader, stroke(`s${i}`));
}

function ids(entries: LogEntry[]): string[] {
  return entries.flatMap((e) => "stroke" in e ? [e.stroke.id] : []);
}

function assertSameHistory(net: Network, expected: number): void {
  const a = net.applied.get("a")!;
  for (const id of net.live()) {
    const applied = net.applied.get(id)!;
    assert.deepEqual(applied.map((e) => [e.index, e.term]), a.map((e) => [e.index, e.term]), id);
    assert.equal(new Set(ids(applied)).size, expected, `${id} holds every stroke once`);
  }
}

Deno.test("compaction: past the threshold every log drops all but the retained tail", async () => {
  const net = await cluster();
  await draw(net, "a", 0, 60);
  await net.tick(4);
  for (const id of ["a", "b", "c"]) {
    const st = net.node(id).status();
    assert.ok(st.snapshotIndex > 0, `${id} compacted`);
    assert.ok(st.appliedIndex - st.snapshotIndex < COMPACTION.threshold, `${id} keeps a short log`);
    const disk = net.disks.get(id)!;
    assert.equal(disk.snapshot?.index, st.snapshotIndex, `${id}'s disk names the snapshot point`);
    assert.equal(disk.entries[0]?.index, st.snapshotIndex + 1, `${id}'s disk holds only the tail`);
  }
  assertSameHistory(net, 60);
});

Deno.test("snapshot: a follower behind the compacted prefix is caught up from the leader's state machine", async () => {
  const net = await cluster();
  await draw(net, "a", 0, 5);
  net.crash("c");
  await net.tick(12); // down past an election timeout: the leader stops keeping its entries
  await draw(net, "a", 5, 80);
  assert.ok(net.node("a").status().snapshotIndex > 10, "the leader compacted what c lacks");
  net.start("c");
  await net.tick(ELECTION_MAX);
  assert.ok(
    net.sent.some((m) => m.type === "installSnapshot" && m.to === "c"),
    "c got a snapshot",
  );
  const c = net.node("c").status();
  assert.equal(c.commitIndex, net.node("a").status().commitIndex);
  assertSameHistory(net, 85);
  // And it keeps replicating from the log after the snapshot.
  await draw(net, "a", 85, 3);
  await net.tick(2);
  assertSameHistory(net, 88);
});

Deno.test("snapshot: a wiped follower after compaction rejoins through a snapshot", async () => {
  const net = await cluster();
  await draw(net, "a", 0, 70);
  net.crash("b", true);
  net.start("b");
  await net.tick(ELECTION_MAX * 2);
  assert.equal(net.node("b").status().recovering, false, "caught up, b may vote again");
  assertSameHistory(net, 70);
});

Deno.test("restart: a replica restarts from its compacted log and its state machine, re-applying nothing", async () => {
  const net = await cluster();
  await draw(net, "a", 0, 50);
  await net.tick(2);
  const before = net.applied.get("b")!.length;
  net.crash("b");
  const b = net.start("b");
  assert.equal(b.status().snapshotIndex, net.disks.get("b")!.snapshot!.index);
  assert.equal(b.status().appliedIndex, before, "the state machine is where it was");
  await net.tick(ELECTION_MAX);
  await draw(net, "a", 50, 2);
  await net.tick(2);
  assertSameHistory(net, 52);
});

Deno.test("snapshot: a late snapshot below the follower's commit is ignored, never rolling it back", async () => {
  const net = await cluster();
  await draw(net, "a", 0, 5);
  net.crash("c");
  await draw(net, "a", 5, 60);
  net.start("c");
  await net.tick(ELECTION_MAX);
  // A copy of the leader's state machine as it was at 40 arrives late, after c went past it.
  const stale = net.applied.get("a")!.slice(0, 40);
  const term = net.node("a").status().term;
  await draw(net, "a", 65, 30);
  await net.tick(2);
  const before = net.node("c").status();
  assert.ok(before.commitIndex > 40);
  const answer = await net.drivers.get("c")!.installSnapshot({
    type: "installSnapshot",
    from: "a",
    to: "c",
    term,
    snapshotIndex: 40,
    snapshotTerm: stale[39].term,
  }, stale);
  await net.stabilize();
  const after = net.node("c").status();
  assert.equal(answer.type === "installSnapshotResponse" && answer.matchIndex, before.commitIndex);
  assert.equal(after.commitIndex, before.commitIndex, "commit did not go back");
  assert.equal(after.snapshotIndex, before.snapshotIndex, "the log was not replaced");
  assertSameHistory(net, 95);
});

Deno.test("snapshot: one from a deposed leader's term is refused and changes nothing", async () => {
  const net = await cluster();
  await draw(net, "a", 0, 40);
  const old = { term: net.node("a").status().term };
  // b takes over in a later term.
  net.isolate("a");
  await net.tick(ELECTION_MAX * 3, ["b", "c"]);
  const leader = net.leader()!;
  assert.notEqual(leader.id, "a");
  const st = net.node("c").status();
  await net.deliver({
    type: "installSnapshot",
    from: "a",
    to: "c",
    term: old.term,
    snapshotIndex: 1,
    snapshotTerm: old.term,
    reqId: 20_000,
  });
  const now = net.node("c").status();
  assert.equal(now.term, st.term);
  assert.equal(now.commitIndex, st.commitIndex);
  assert.equal(now.snapshotIndex, st.snapshotIndex);
});
