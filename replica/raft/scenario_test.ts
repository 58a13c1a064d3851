/**
 * Scenario tests on the in-memory network: pre-vote, check-quorum, leadership
 * transfer, bulk catch-up, disk loss, batching and pipelining, and the loud
 * assertions on impossible states.
 */
import assert from "node:assert/strict";
import { RaftNode } from "./node.ts";
import { RaftLog } from "./log.ts";
import { Network, stroke } from "../../tests/testing/raft_network.ts";
import { NotLeaderError, RaftInvariantError } from "./types.ts";

const ELECTION_MAX = 20;

async function elected(net: Network, id = "a"): Promise<void> {
  await net.campaign(id);
  assert.equal(net.node(id).status().role, "leader");
}

Deno.test("pre-vote: an isolated replica does not bump its term, and on healing does not depose the leader", async () => {
  const net = new Network(["a", "b", "c"]);
  await elected(net);
  const term = net.node("a").status().term;
  net.isolate("c");
  await net.tick(ELECTION_MAX * 5);
  assert.equal(net.node("c").status().term, term, "pre-votes failed, so no term was bumped");
  net.recover();
  await net.tick(ELECTION_MAX * 2);
  assert.equal(net.node("a").status().role, "leader");
  assert.equal(net.node("a").status().term, term);
});

Deno.test("check-quorum: a leader cut off from the majority steps down within an election timeout and commits nothing", async () => {
  const net = new Network(["a", "b", "c"]);
  await elected(net);
  net.isolate("a");
  const before = net.node("a").status().commitIndex;
  const [{ index }] = net.node("a").propose([stroke("lost")]);
  let ticks = 0;
  while (net.node("a").status().role === "leader" && ticks < 100) {
    await net.tick(1, ["a"]);
    ticks++;
  }
  assert.equal(net.node("a").status().role, "follower");
  assert.ok(ticks <= ELECTION_MAX, `stepped down after ${ticks} ticks`);
  assert.equal(net.node("a").status().commitIndex, before);
  assert.ok(!net.applied.get("a")!.some((e) => e.index === index));
  // The majority elects a new leader; the healed old leader follows it.
  await net.tick(ELECTION_MAX * 3, ["b", "c"]);
  net.recover();
  await net.tick(ELECTION_MAX * 2);
  const leader = net.leader()!;
  assert.notEqual(leader.id, "a");
  assert.equal(net.node("a").status().leaderId, leader.id);
});

Deno.test("transfer: the target is caught up, campaigns at once, and wins without an election timeout", async () => {
  const net = new Network(["a", "b", "c"]);
  await elected(net);
  net.cut("a", "b");
  await net.propose("a", stroke("s1"), stroke("s2"));
  net.recover();
  net.node("a").transferLeadership("b");
  assert.throws(() => net.node("a").propose([stroke("x")]), NotLeaderError);
  await net.stabilize();
  // Less than an election timeout (10 ticks) even though b first has to notice its lost append.
  let ticks = 0;
  while (net.node("b").status().role !== "leader" && ticks < 9) {
    await net.tick();
    ticks++;
  }
  assert.equal(net.node("b").status().role, "leader");
  assert.equal(net.node("a").status().leaderId, "b");
  const ids = net.applied.get("b")!.flatMap((e) => ("stroke" in e ? [e.stroke.id] : []));
  assert.deepEqual(ids, ["s1", "s2"]);
});

Deno.test("transfer: the best target is a follower that answers, not a more caught-up one that is down", async () => {
  const net = new Network(["a", "b", "c"]);
  await elected(net);
  // b holds everything; c missed the last entries, then b goes down.
  net.cut("a", "c");
  await net.propose("a", stroke("s1"));
  net.recover();
  net.crash("b");
  await net.tick(ELECTION_MAX * 2, ["a", "c"]);
  assert.equal(net.node("a").bestTransferTarget(), "c");
  net.node("a").transferLeadership(net.node("a").bestTransferTarget()!);
  await net.tick(ELECTION_MAX, ["a", "c"]);
  assert.equal(net.node("c").status().role, "leader");
});

Deno.test("sync-log: a far-behind follower gets committed entries in bulk, then follows normally", async () => {
  const net = new Network(["a", "b", "c"], {
    config: { syncThreshold: 100, maxEntriesPerSync: 500 },
  });
  await elected(net);
  net.crash("c");
  for (let i = 0; i < 20; i++) {
    await net.propose("a", ...Array.from({ length: 100 }, (_, j) => stroke(`s${i}-${j}`)));
  }
  net.start("c");
  await net.tick(ELECTION_MAX);
  const bulk = net.sent.filter((m) => m.type === "appendEntries" && m.to === "c" && m.bulk);
  assert.ok(bulk.length >= 4, `${bulk.length} bulk messages`);
  assert.equal(net.node("c").status().lastIndex, net.node("a").status().lastIndex);
  await net.propose("a", stroke("after"));
  await net.tick(2);
  assert.equal(net.node("c").status().commitIndex, net.node("a").status().commitIndex);
});

Deno.test("the seed's catch-up: a restarted empty follower is refused, then synced from index 0", async () => {
  const net = new Network(["a", "b", "c"], { config: { syncThreshold: 10 } });
  await elected(net);
  for (let i = 0; i < 30; i++) await net.propose("a", stroke(`s${i}`));
  net.crash("c", true);
  net.start("c");
  await net.tick(ELECTION_MAX);
  const first = net.sent.find((m) => m.type === "appendEntries" && m.to === "c" && m.bulk);
  assert.ok(first && first.type === "appendEntries");
  assert.equal(first.prevLogIndex, 0);
  assert.equal(net.node("c").status().lastIndex, net.node("a").status().lastIndex);
  // Replaced through the log: a learner while it caught up, a voter again on its new disk.
  assert.equal(net.node("c").status().recovering, false);
  const c = net.node("a").members().find((m) => m.id === "c")!;
  assert.deepEqual([c.voter, c.disk], [true, "c-disk4"]);
});

Deno.test("disk loss: a wiped voter is demoted, caught up and promoted with its new disk", async () => {
  const net = new Network(["a", "b", "c"]);
  await elected(net);
  await net.propose("a", stroke("s1"));
  net.crash("c", true);
  net.start("c");
  const events: string[] = [];
  const configs = () =>
    net.node("a").members().map((m) => `${m.id}${m.voter ? "" : "~"}${m.disk ? "@" + m.disk : ""}`)
      .join(",");
  for (let i = 0; i < ELECTION_MAX * 2; i++) {
    await net.tick(1);
    if (events.at(-1) !== configs()) events.push(configs());
  }
  assert.deepEqual(events, ["a,b,c", "a,b,c~", "a,b,c@c-disk4"], "demoted, then promoted");
  // While it was fresh nothing it said counted: a and b alone committed.
  assert.equal(net.node("c").status().recovering, false);
  assert.equal(net.node("c").status().commitIndex, net.node("a").status().commitIndex);
});

Deno.test("disk loss: a wiped replica votes for nobody until a leader caught it up", async () => {
  // a and b commit entries while c is down; b then loses its disk; a is down.
  const net = new Network(["a", "b", "c"]);
  await elected(net);
  net.crash("c");
  await net.propose("a", stroke("s1"), stroke("s2"));
  const committed = net.node("a").status().commitIndex;
  net.crash("a");
  net.crash("b", true);
  net.start("b");
  net.start("c");
  await net.tick(ELECTION_MAX * 10);
  assert.equal(net.leader(), undefined, "c lacks committed entries and b may not vote for it");
  assert.equal(net.node("b").status().recovering, true);
  net.start("a");
  await net.tick(ELECTION_MAX * 10);
  const leader = net.leader()!;
  assert.equal(leader.id, "a");
  assert.ok(net.node("b").status().commitIndex >= committed);
  assert.equal(net.node("b").status().recovering, false, "made a voter again");
});

Deno.test("disk loss: a wiped replica cannot vote twice in one term", async () => {
  const net = new Network(["a", "b", "c"]);
  await elected(net);
  const term = net.node("a").status().term;
  net.crash("b", true);
  net.start("b");
  await net.tick(ELECTION_MAX);
  const b = net.node("b").status();
  assert.equal(b.recovering, false);
  assert.equal(b.term, term);
  assert.equal(b.votedFor, "a", "following the leader of the term counts as its vote");
  await net.deliver({
    type: "requestVote",
    from: "c",
    to: "b",
    term,
    lastLogIndex: 99,
    lastLogTerm: term,
    preVote: false,
    transfer: true,
    reqId: 0,
  });
  const answer = net.sent.findLast((m) => m.type === "requestVoteResponse" && m.from === "b");
  assert.ok(answer && answer.type === "requestVoteResponse" && !answer.voteGranted);
});

/** The leader rule of recovery.ts undone: a voter's acks count whatever disk or freshness it reports. */
class CountsFreshAcks extends RaftNode {
  protected override countsDisk(): boolean {
    return true;
  }
}

/**
 * c leads term 1, then stalls (a paused process); a and b move on to term 2
 * and commit x. b loses its disk; a is cut off; c wakes up and reaches b
 * and proposes "stale" at x's index. Returns the network and x's index.
 */
async function staleLeaderMeetsWipedReplica(nodeClass?: typeof RaftNode) {
  const net = new Network(["a", "b", "c"], { nodeClass });
  await elected(net, "c");
  net.isolate("c");
  await net.tick(ELECTION_MAX * 3, ["a", "b"]);
  const leader = net.leader()!;
  assert.notEqual(leader.id, "c");
  await net.propose(leader.id, stroke("x"));
  const committed = net.node(leader.id).status().commitIndex;
  net.crash("b", true);
  net.start("b");
  net.recover();
  net.isolate("a");
  net.node("c").propose([stroke("stale")]);
  await net.tick(ELECTION_MAX, ["b", "c"]);
  return { net, committed };
}

Deno.test("mutant: a leader that counts a wiped replica's acks commits over a later term's commit", async () => {
  const { net } = await staleLeaderMeetsWipedReplica(CountsFreshAcks);
  // Committed on c and the wiped b alone, at an index where term 2 committed something else.
  assert.ok(net.applied.get("c")!.some((e) => "stroke" in e && e.stroke.id === "stale"));
});

Deno.test("disk loss (simulator seed 50): a wiped replica does not help a stale leader commit", async () => {
  const { net, committed } = await staleLeaderMeetsWipedReplica();
  assert.equal(net.node("b").status().recovering, true, "b follows c but is still fresh");
  assert.ok(
    net.node("c").status().commitIndex < committed + 1,
    "the stale leader committed nothing: b's acks do not count",
  );
  assert.ok(!net.applied.get("c")!.some((e) => "stroke" in e && e.stroke.id === "stale"));
  // Once a answers, the cluster of term 2 goes on, replaces b, and converges on x.
  net.recover();
  await net.tick(ELECTION_MAX * 4);
  const ids = (id: string) =>
    net.applied.get(id)!.flatMap((e) => ("stroke" in e ? [e.stroke.id] : []));
  for (const id of net.ids) assert.ok(ids(id).includes("x"), `${id} applied x`);
  assert.ok(!ids("a").includes("stale") || ids("a").indexOf("stale") > ids("a").indexOf("x"));
});

Deno.test("fresh cluster: empty replicas prove together that nothing exists, then elect", async () => {
  const net = new Network(["a", "b", "c"], { fresh: true });
  await net.tick(ELECTION_MAX * 5);
  const leader = net.leader();
  assert.ok(leader, "a leader was elected");
  for (const id of net.ids) assert.equal(net.node(id).status().recovering, false);
});

Deno.test("batching: proposals made between two readies go out in one append per follower", async () => {
  const net = new Network(["a", "b", "c"]);
  await elected(net);
  const a = net.node("a");
  const sentBefore = net.sent.length;
  for (let i = 0; i < 200; i++) a.propose([stroke(`s${i}`)]);
  await net.stabilize();
  const appends = net.sent.slice(sentBefore).filter((m) => m.type === "appendEntries");
  const withEntries = appends.filter((m) => m.type === "appendEntries" && m.entries.length > 0);
  assert.equal(withEntries.length, 2, "one batch per follower");
});

Deno.test("pipelining: several appends are in flight per follower before any answer", async () => {
  const net = new Network(["a", "b", "c"], { config: { maxEntriesPerAppend: 10, maxInflight: 4 } });
  await elected(net);
  const a = net.node("a");
  for (let i = 0; i < 100; i++) a.propose([stroke(`s${i}`)]);
  const rd = a.ready();
  // The leader's appends leave before its own fsync (thesis 10.2.1).
  assert.deepEqual(rd.messagesAfterPersist, []);
  const toB = rd.messages.filter((m) => m.type === "appendEntries" && m.to === "b");
  assert.equal(toB.length, 4, "maxInflight messages of maxEntriesPerAppend each");
  a.advance(rd);
});

Deno.test("assertions: truncating committed entries, committing past the log, applying past commit", () => {
  const log = new RaftLog([{ index: 1, term: 1, noop: true }, { index: 2, term: 1, noop: true }]);
  log.commitTo(2);
  assert.throws(
    () => log.maybeAppend(1, 1, [{ index: 2, term: 2, noop: true }]),
    RaftInvariantError,
  );
  assert.throws(() => log.commitTo(3), RaftInvariantError);
  assert.throws(() => log.appliedTo(3), RaftInvariantError);
  const net = new Network(["a", "b", "c"]);
  const a = net.node("a");
  a.tick();
  a.ready();
  assert.throws(() => a.ready(), RaftInvariantError);
});
