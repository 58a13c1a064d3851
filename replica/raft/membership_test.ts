/**
 * Membership changes on the in-memory network (the real core in the real
 * driver): a new replica joins as a learner, is caught up (by a snapshot
 * when the log was compacted) and promoted; learners never count towards a
 * quorum; changes go one at a time; a removed member stops campaigning; a
 * configuration that is truncated away stops being in force.
 */
import assert from "node:assert/strict";
import { Network, stroke } from "../../tests/testing/raft_network.ts";
import { type Member, MembershipError, singleServerChange } from "./membership.ts";
import type { RaftNode } from "./node.ts";

const ELECTION_MAX = 20;

function members(...spec: string[]): Member[] {
  // "a" is a voter, "~d" a learner.
  return spec.map((s) => ({
    id: s.replace("~", ""),
    url: s.replace("~", ""),
    voter: !s.startsWith("~"),
  }));
}

async function cluster(ids = ["a", "b", "c"], compaction?: { threshold: number; retain: number }) {
  const net = new Network(ids, { compaction });
  await net.campaign("a");
  assert.equal(net.node("a").status().role, "leader");
  // The no-op of the term commits: the leader may change the configuration.
  await net.tick(1);
  return net;
}

async function draw(net: Network, leader: string, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i++) await net.propose(leader, stroke(`s${i}`));
}

function voters(n: RaftNode): string[] {
  return n.members().filter((m) => m.voter).map((m) => m.id).sort();
}

function refusal(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof MembershipError) return e.code;
    throw e;
  }
  return "accepted";
}

Deno.test("singleServerChange: one voter or one learner at a time", () => {
  const abc = members("a", "b", "c");
  assert.equal(singleServerChange(abc, members("a", "b", "c", "~d")), null);
  assert.equal(singleServerChange(abc, members("a", "b", "c", "d")), null);
  assert.equal(singleServerChange(abc, members("a", "b")), null);
  assert.equal(singleServerChange(members("a", "b", "c", "~d"), abc), null);
  assert.match(singleServerChange(abc, members("a", "b", "c", "d", "e"))!, /one voter/);
  assert.match(singleServerChange(abc, members("a"))!, /one voter/);
  assert.match(singleServerChange(abc, members("a", "b", "d"))!, /one voter/);
  assert.match(singleServerChange(abc, members("a", "b", "c", "~d", "~e"))!, /one member/);
  assert.match(singleServerChange(abc, abc)!, /unchanged/);
  assert.match(singleServerChange(members("a"), members("~a"))!, /no voter/);
  assert.match(singleServerChange(abc, [...abc, ...members("a")])!, /twice/);
});

Deno.test("a joining replica is added as a learner, caught up, then promoted to voter", async () => {
  const net = await cluster();
  await draw(net, "a", 0, 30);
  const d = net.join("d");
  assert.equal(d.status().voter, false);
  // It waits: a JOIN replica never campaigns on its own.
  await net.tick(ELECTION_MAX * 3, ["d"]);
  assert.equal(d.status().role, "follower");
  assert.equal(d.status().term, 0);
  const a = net.node("a");
  a.proposeMembers([...a.members(), { id: "d", url: "d", voter: false }]);
  await net.stabilize();
  assert.deepEqual(voters(a), ["a", "b", "c"], "added as a learner first");
  assert.equal(d.status().commitIndex, a.status().commitIndex, "the learner is caught up");
  await net.tick(2);
  assert.deepEqual(voters(a), ["a", "b", "c", "d"], "promoted once caught up");
  await net.tick(2);
  for (const id of ["a", "b", "c", "d"]) {
    assert.deepEqual(voters(net.node(id)), ["a", "b", "c", "d"], id);
    assert.equal(net.node(id).status().commitIndex, a.status().commitIndex, id);
  }
  assert.equal(d.status().voter, true);
  // Four voters: two down leave no majority, so nothing commits.
  net.crash("b");
  net.crash("c");
  const [{ index }] = await net.propose("a", stroke("lost"));
  await net.tick(3);
  assert.ok(a.status().commitIndex < index, "a and d are not a majority of four");
});

Deno.test("a learner's acks never count towards a quorum, and it never campaigns", async () => {
  const net = await cluster();
  const d = net.join("d");
  const a = net.node("a");
  // With b and c down the change cannot commit: d stays a learner (no promotion over it).
  net.crash("b");
  net.crash("c");
  a.proposeMembers([...a.members(), { id: "d", url: "d", voter: false }]);
  await net.stabilize();
  const [{ index }] = await net.propose("a", stroke("x"));
  assert.equal(d.status().lastIndex, index, "the learner holds the entry");
  assert.ok(a.status().commitIndex < index, "a leader and a learner are not a majority of three");
  assert.deepEqual(voters(a), ["a", "b", "c"], "nothing is promoted over an uncommitted change");
  // The leader steps down (check-quorum counts voters only); the learner never campaigns.
  await net.tick(ELECTION_MAX * 4);
  assert.notEqual(a.status().role, "leader");
  assert.equal(d.status().role, "follower");
});

Deno.test("changes go one at a time, and only once the leader committed in its term", async () => {
  const net = new Network(["a", "b", "c"]);
  await net.campaign("a");
  const a = net.node("a");
  const plusD = [...a.members(), { id: "d", url: "d", voter: false }];
  // Elected, but the no-op of its term is not committed yet (thesis 4.1's pitfall).
  if (a.status().commitIndex < a.status().lastIndex) {
    assert.equal(refusal(() => a.proposeMembers(plusD)), "no_commit_in_term");
  }
  await net.tick(1);
  assert.equal(
    refusal(() => a.proposeMembers([...a.members(), ...members("d", "e")])),
    "invalid",
  );
  net.isolate("b");
  net.isolate("c");
  assert.equal(refusal(() => a.proposeMembers(plusD)), "accepted");
  const plusE = [...plusD, { id: "e", url: "e", voter: false }];
  assert.equal(refusal(() => a.proposeMembers(plusE)), "in_progress");
  assert.equal(
    refusal(() => a.proposeMembers(a.members().filter((m) => m.id !== "a"))),
    "in_progress",
  );
  net.recover();
  await net.tick(2);
  assert.equal(
    refusal(() => a.proposeMembers(a.members().filter((m) => m.id !== "a"))),
    "invalid",
    "the leader does not remove itself",
  );
  assert.throws(() => a.propose([{ config: { members: plusE } }]), MembershipError);
});

Deno.test("a removed voter is out of every majority and never campaigns again", async () => {
  const net = await cluster();
  const a = net.node("a");
  a.proposeMembers(a.members().filter((m) => m.id !== "c"));
  await net.tick(2);
  for (const id of ["a", "b", "c"]) assert.deepEqual(voters(net.node(id)), ["a", "b"], id);
  // Two voters: a and b commit without c; c hears nothing more and stays quiet.
  net.crash("b");
  await net.tick(1);
  const [{ index }] = await net.propose("a", stroke("needs-b"));
  await net.tick(2);
  assert.ok(a.status().commitIndex < index, "c no longer counts");
  net.start("b");
  await net.tick(ELECTION_MAX * 4);
  assert.ok(
    net.node("a").status().commitIndex >= index || net.node("b").status().commitIndex >= index,
  );
  assert.notEqual(net.node("c").status().role, "leader");
  assert.ok(!["preCandidate", "candidate"].includes(net.node("c").status().role));
});

Deno.test("a configuration that is truncated away is no longer in force", async () => {
  const net = await cluster();
  const a = net.node("a");
  // a appends a change that only it holds, then loses leadership to b.
  net.isolate("a");
  a.proposeMembers([...a.members(), { id: "d", url: "d", voter: false }]);
  await net.stabilize();
  assert.deepEqual(a.members().map((m) => m.id), ["a", "b", "c", "d"], "in force once appended");
  await net.tick(ELECTION_MAX * 4, ["b", "c"]);
  const next = ["b", "c"].find((id) => net.node(id).status().role === "leader")!;
  assert.ok(next, "b or c took over");
  await net.propose(next, stroke("b1"));
  net.recover();
  await net.tick(ELECTION_MAX * 2);
  assert.equal(net.node(next).status().role, "leader");
  assert.deepEqual(a.members().map((m) => m.id), ["a", "b", "c"], "the old one is back");
  assert.equal(a.status().configIndex, 0);
});

Deno.test("the configuration survives compaction, a restart, and travels in a snapshot", async () => {
  const net = await cluster(["a", "b", "c"], { threshold: 20, retain: 5 });
  const a = net.node("a");
  a.proposeMembers(a.members().filter((m) => m.id !== "c"));
  await net.tick(2);
  await draw(net, "a", 0, 60);
  assert.ok(a.status().snapshotIndex > a.status().configIndex, "the change was compacted away");
  net.crash("a");
  const restarted = net.start("a");
  assert.deepEqual(voters(restarted), ["a", "b"], "read back from the snapshot point");
  await net.tick(ELECTION_MAX * 4);
  const leader = net.leader()!;
  const d = net.join("d");
  leader.proposeMembers([...leader.members(), { id: "d", url: "d", voter: false }]);
  await net.stabilize();
  await net.tick(3);
  assert.ok(d.status().snapshotIndex > 0, "d was caught up by a snapshot");
  assert.deepEqual(voters(d), ["a", "b", "d"]);
});

Deno.test("a learner's lease on a leader that is gone lapses: it grants pre-votes", async () => {
  // Found by the simulator: a learner reset its election timer at every
  // timeout without campaigning, so it kept its leader's lease forever and
  // refused every pre-vote with leader_alive, even from a voter that needed
  // its vote (a leader that promoted it, the promotion not yet replicated).
  // (A learner that joined empty is also still recovering and refuses votes for that
  // reason; a demoted voter on its own disk is the learner whose lease matters.)
  const net = await cluster();
  const a = net.node("a");
  a.proposeMembers(a.members().map((m) => m.id === "c" ? { ...m, voter: false } : m));
  // Delivered but no tick yet: the leader promotes caught-up learners on its ticks.
  await net.stabilize();
  const d = net.node("c");
  assert.equal(d.status().voter, false);
  net.crash("a");
  net.crash("b");
  await net.tick(ELECTION_MAX * 3, ["c"]);
  const last = d.status().lastIndex;
  d.step({
    type: "requestVote",
    from: "b",
    to: "c",
    term: d.status().term + 1,
    lastLogIndex: last,
    lastLogTerm: d.status().term,
    preVote: true,
    transfer: false,
    reqId: 1,
  });
  const rd = d.ready();
  const answer = [...rd.messages, ...rd.messagesAfterPersist].find((m) =>
    m.type === "requestVoteResponse"
  );
  d.advance(rd);
  assert.ok(answer?.type === "requestVoteResponse" && answer.voteGranted, "pre-vote granted");
});

Deno.test("a follower that installs a snapshot takes the configuration it holds", async () => {
  // Found by the simulator: the configuration travelled with the snapshot and was dropped.
  const net = await cluster(["a", "b", "c"], { threshold: 20, retain: 5 });
  const a = net.node("a");
  net.crash("c");
  net.join("d");
  a.proposeMembers([...a.members(), { id: "d", url: "d", voter: false }]);
  await net.stabilize();
  await net.tick(2);
  assert.deepEqual(voters(a), ["a", "b", "c", "d"]);
  // Down for longer than an election timeout: c no longer holds compaction back (compaction.ts).
  await net.tick(ELECTION_MAX + 1);
  await draw(net, "a", 0, 60);
  assert.ok(a.status().snapshotIndex > a.status().configIndex, "the change was compacted away");
  // PEERS as it was at bootstrap: only what c installs can tell it of d.
  const c = net.start("c", { peers: ["a", "b"] });
  await net.tick(ELECTION_MAX);
  assert.ok(c.status().snapshotIndex > 0, "c was caught up by a snapshot");
  assert.deepEqual(voters(c), ["a", "b", "c", "d"]);
});

Deno.test("a snapshot without configurations restores the bootstrap one, not the log's", async () => {
  // Found by the simulator: the receiver kept its current configuration, an
  // uncommitted change of its own that the snapshot's log never held.
  const net = await cluster(["a", "b", "c"], { threshold: 20, retain: 5 });
  const a = net.node("a");
  net.isolate("a");
  a.proposeMembers([...a.members(), { id: "d", url: "d", voter: false }]);
  await net.stabilize();
  await net.tick(ELECTION_MAX * 4, ["b", "c"]);
  const next = ["b", "c"].find((id) => net.node(id).status().role === "leader")!;
  assert.ok(next, "b or c took over");
  await draw(net, next, 0, 60);
  net.recover();
  await net.tick(ELECTION_MAX * 2);
  assert.ok(a.status().snapshotIndex > 0, "a was caught up by a snapshot");
  assert.deepEqual(a.members().map((m) => m.id).sort(), ["a", "b", "c"]);
});

Deno.test("a wiped replica counts the probe answers of members its PEERS lacks", async () => {
  // Found by the simulator: it probed the members answers named, then
  // dropped their answers as a stranger's, and never learnt its term.
  const net = await cluster();
  const a = net.node("a");
  net.join("d");
  a.proposeMembers([...a.members(), { id: "d", url: "d", voter: false }]);
  await net.stabilize();
  await net.tick(2);
  assert.deepEqual(voters(a), ["a", "b", "c", "d"]);
  net.crash("c", true);
  // PEERS as it was at bootstrap: d is learnt from the answers.
  const c = net.start("c", { peers: ["a", "b"] });
  await net.tick(ELECTION_MAX * 2);
  assert.equal(c.status().term, a.status().term, "c learnt the cluster's term");
  assert.equal(c.status().commitIndex, a.status().commitIndex, "and was caught up");
});
