/**
 * One test per rule of the Raft paper (Ongaro & Ousterhout 2014) that the
 * core implements, in the manner of etcd's raft_paper_test.go.
 */
import assert from "node:assert/strict";
import { RaftNode } from "./node.ts";
import { Network, seeded, stroke } from "../../tests/testing/raft_network.ts";
import type { LogEntry, Message } from "./types.ts";

const CFG = {
  electionTicksMin: 10,
  electionTicksMax: 20,
  heartbeatTicks: 2,
  random: seeded(7),
};

function member(id: string, peers: string[], entries: LogEntry[] = [], term = 0): RaftNode {
  return new RaftNode({ id, peers, ...CFG }, {
    hardState: { term, votedFor: "", recovering: false },
    entries,
  });
}

function entries(terms: number[]): LogEntry[] {
  return terms.map((term, i) => ({ index: i + 1, term, noop: true }));
}

function drain(n: RaftNode): Message[] {
  const rd = n.ready();
  n.advance(rd);
  return [...rd.messages, ...rd.messagesAfterPersist];
}

function append(
  from: string,
  to: string,
  term: number,
  prevLogIndex: number,
  prevLogTerm: number,
  es: LogEntry[],
  leaderCommit = 0,
): Message {
  return {
    type: "appendEntries",
    from,
    to,
    term,
    prevLogIndex,
    prevLogTerm,
    entries: es,
    leaderCommit,
    bulk: false,
    reqId: 1,
  };
}

Deno.test("5.1: a replica that sees a higher term adopts it and becomes follower", async () => {
  const net = new Network(["a", "b", "c"]);
  await net.campaign("a");
  const a = net.node("a");
  assert.equal(a.status().role, "leader");
  a.step(append("b", "a", a.status().term + 5, 0, 0, []));
  assert.equal(a.status().role, "follower");
  assert.equal(a.status().term, 6);
  assert.equal(a.status().leaderId, "b");
});

Deno.test("5.1: a request with a stale term is refused and the answer carries the current term", () => {
  const n = member("a", ["b", "c"], [], 5);
  n.step(append("b", "a", 3, 0, 0, entries([1])));
  const [resp] = drain(n);
  assert.equal(resp.type, "appendEntriesResponse");
  assert.equal(resp.term, 5);
  assert.equal((resp as { success: boolean }).success, false);
  assert.equal(n.status().lastIndex, 0);
});

Deno.test("5.2: after an election timeout a follower runs a pre-vote, then campaigns with term+1 voting for itself", () => {
  const n = member("a", ["b", "c"], [], 2);
  for (let i = 0; i < CFG.electionTicksMax && n.status().role === "follower"; i++) n.tick();
  assert.equal(n.status().role, "preCandidate");
  assert.equal(n.status().term, 2, "pre-vote must not bump the term");
  const pre = drain(n).filter((m) => m.type === "requestVote");
  assert.equal(pre.length, 2);
  assert.ok(pre.every((m) => m.type === "requestVote" && m.preVote && m.term === 3));
  n.step({
    type: "requestVoteResponse",
    from: "b",
    to: "a",
    term: 3,
    voteGranted: true,
    preVote: true,
  });
  assert.equal(n.status().role, "candidate");
  assert.equal(n.status().term, 3);
  assert.equal(n.status().votedFor, "a");
  const rd = n.ready();
  assert.deepEqual(rd.hardState, { term: 3, votedFor: "a", recovering: false });
  // The new term is not durable yet: the requests wait for the fsync.
  assert.deepEqual(rd.messages, []);
  assert.ok(
    rd.messagesAfterPersist.some((m) => m.type === "requestVote" && !m.preVote && m.term === 3),
  );
});

Deno.test("5.2: a candidate with a majority of votes becomes leader and appends a no-op of its term", async () => {
  const net = new Network(["a", "b", "c"]);
  await net.campaign("a");
  const st = net.node("a").status();
  assert.equal(st.role, "leader");
  assert.equal(net.disks.get("a")!.entries.at(-1)!.term, st.term);
  assert.ok("noop" in net.disks.get("a")!.entries.at(-1)!);
  for (const id of ["b", "c"]) assert.equal(net.node(id).status().leaderId, "a");
});

Deno.test("5.2: a candidate that hears from a leader of its term steps back to follower", () => {
  const n = member("a", ["b", "c"], [], 1);
  for (let i = 0; i < CFG.electionTicksMax; i++) n.tick();
  n.step({
    type: "requestVoteResponse",
    from: "b",
    to: "a",
    term: 2,
    voteGranted: true,
    preVote: true,
  });
  assert.equal(n.status().role, "candidate");
  n.step(append("c", "a", 2, 0, 0, []));
  assert.equal(n.status().role, "follower");
  assert.equal(n.status().leaderId, "c");
});

Deno.test("5.2: one vote per term, persisted before the answer leaves", () => {
  const n = member("a", ["b", "c"], [], 1);
  const vote = (from: string): Message => ({
    type: "requestVote",
    from,
    to: "a",
    term: 2,
    lastLogIndex: 0,
    lastLogTerm: 0,
    preVote: false,
    transfer: false,
    reqId: 9,
  });
  n.step(vote("b"));
  const rd = n.ready();
  assert.deepEqual(rd.hardState, { term: 2, votedFor: "b", recovering: false });
  assert.deepEqual(rd.messages, [], "a vote promises what is being persisted");
  assert.deepEqual(
    rd.messagesAfterPersist.map((m) => (m as { voteGranted: boolean }).voteGranted),
    [true],
  );
  n.advance(rd);
  n.step(vote("c"));
  assert.deepEqual(drain(n).map((m) => (m as { voteGranted: boolean }).voteGranted), [false]);
  // The same candidate asking again (a retry) gets the same answer.
  n.step(vote("b"));
  assert.deepEqual(drain(n).map((m) => (m as { voteGranted: boolean }).voteGranted), [true]);
});

Deno.test("5.2: election timeouts are randomized within the bounds and re-drawn each election", () => {
  const n = member("a", ["b", "c"]);
  const timeouts = new Set<number>();
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < CFG.electionTicksMax; i++) n.tick();
    n.step({
      type: "requestVoteResponse",
      from: "b",
      to: "a",
      term: n.status().term + 1,
      voteGranted: true,
      preVote: true,
    });
    const rd = n.ready();
    n.advance(rd);
    for (const e of rd.events) {
      if (e.event === "election_started") timeouts.add(e.timeoutTicks as number);
    }
  }
  assert.ok(timeouts.size > 3, `timeouts ${[...timeouts]}`);
  for (const t of timeouts) assert.ok(t >= CFG.electionTicksMin && t <= CFG.electionTicksMax);
});

Deno.test("5.3: a proposal is replicated at once, committed on a majority, and applied everywhere", async () => {
  const net = new Network(["a", "b", "c"]);
  await net.campaign("a");
  net.cut("a", "c");
  const [{ index }] = await net.propose("a", stroke("s1"));
  // No tick happened: replication started on the proposal, not on a heartbeat.
  assert.equal(net.node("a").status().commitIndex, index);
  assert.equal(net.node("b").status().lastIndex, index);
  net.recover();
  // The append to c was lost: the leader notices the stalled pipeline at a heartbeat and re-probes.
  await net.tick(CFG.heartbeatTicks * 3);
  for (const id of ["a", "b", "c"]) {
    assert.ok(net.applied.get(id)!.some((e) => e.index === index && "stroke" in e), id);
  }
});

Deno.test("5.3: idle followers learn the commit index from heartbeats", async () => {
  const net = new Network(["a", "b", "c"]);
  await net.campaign("a");
  await net.propose("a", stroke("s1"));
  const commit = net.node("a").status().commitIndex;
  await net.tick(CFG.heartbeatTicks * 2);
  for (const id of ["b", "c"]) assert.equal(net.node(id).status().commitIndex, commit);
});

Deno.test("5.3: a follower refuses entries whose previous entry does not match", () => {
  const n = member("b", ["a", "c"], entries([1, 1]), 2);
  n.step(append("a", "b", 2, 2, 2, entries([1, 1, 2]).slice(2)));
  const [resp] = drain(n);
  assert.equal(resp.type, "appendEntriesResponse");
  assert.equal((resp as { success: boolean }).success, false);
  assert.equal(n.status().lastIndex, 2);
});

Deno.test("5.3: conflicting entries are truncated and replaced by the leader's", () => {
  const n = member("b", ["a", "c"], entries([1, 1, 1, 1]), 2);
  const leaderLog = entries([1, 2, 2]);
  n.step(append("a", "b", 2, 1, 1, leaderLog.slice(1)));
  const rd = n.ready();
  assert.deepEqual(rd.entries.map((e) => [e.index, e.term]), [[2, 2], [3, 2]]);
  n.advance(rd);
  assert.equal(n.status().lastIndex, 3);
});

Deno.test("5.3: the leader backs a diverged follower up one term per round trip", async () => {
  // Follower holds 50 entries of term 2 and 50 of term 3 that the leader never had.
  const common = entries([1, 1, 1]);
  const followerLog = [
    ...common,
    ...entries(Array(100).fill(0).map((_, i) => (i < 50 ? 2 : 3)))
      .map((e) => ({ ...e, index: e.index + 3 })),
  ];
  const leaderLog = [...common, ...entries([4, 4]).map((e) => ({ ...e, index: e.index + 3 }))];
  const net = new Network(["a", "b", "c"]);
  net.disks.set("a", {
    hardState: { term: 4, votedFor: "a", recovering: false },
    entries: leaderLog,
  });
  net.disks.set("b", {
    hardState: { term: 4, votedFor: "a", recovering: false },
    entries: followerLog,
  });
  net.disks.set("c", {
    hardState: { term: 4, votedFor: "a", recovering: false },
    entries: leaderLog,
  });
  for (const id of net.ids) net.start(id);
  await net.campaign("a");
  const toB = net.sent.filter((m) => m.type === "appendEntries" && m.to === "b");
  assert.ok(toB.length <= 4, `took ${toB.length} appends to converge`);
  assert.deepEqual(
    net.disks.get("b")!.entries.map((e) => e.term),
    net.disks.get("a")!.entries.map((e) => e.term),
  );
});

Deno.test("5.4.1: a vote is refused to a candidate whose log is less up to date", () => {
  const n = member("a", ["b", "c"], entries([1, 2, 2]), 2);
  const ask = (lastLogIndex: number, lastLogTerm: number): boolean => {
    n.step({
      type: "requestVote",
      from: "b",
      to: "a",
      term: 3,
      lastLogIndex,
      lastLogTerm,
      preVote: true,
      transfer: false,
    });
    return (drain(n)[0] as { voteGranted: boolean }).voteGranted;
  };
  assert.equal(ask(5, 1), false, "older last term loses even with a longer log");
  assert.equal(ask(2, 2), false, "same last term, shorter log");
  assert.equal(ask(3, 2), true, "same log");
  assert.equal(ask(1, 3), true, "newer last term wins");
});

Deno.test("5.4.2 (Figure 8): an entry of an older term is not committed by counting replicas", () => {
  // a holds entry 2 of term 2 (also on b) and wins term 4 with b's vote.
  const a = member("a", ["b", "c"], entries([1, 2]), 3);
  for (let i = 0; i < CFG.electionTicksMax; i++) a.tick();
  a.step({
    type: "requestVoteResponse",
    from: "b",
    to: "a",
    term: 4,
    voteGranted: true,
    preVote: true,
  });
  a.step({
    type: "requestVoteResponse",
    from: "b",
    to: "a",
    term: 4,
    voteGranted: true,
    preVote: false,
  });
  assert.equal(a.status().role, "leader");
  drain(a); // persists the no-op (index 3, term 4)
  const ack = (matchIndex: number): Message => ({
    type: "appendEntriesResponse",
    from: "b",
    to: "a",
    term: 4,
    success: true,
    matchIndex,
    logLength: matchIndex,
    rejectIndex: 0,
    hintIndex: 0,
    hintTerm: 0,
    bulk: false,
    incarnation: 1,
    epoch: 0,
  });
  a.step(ack(2));
  assert.equal(a.status().commitIndex, 0, "entry 2 is on a majority but of term 2: no commit");
  a.step(ack(3));
  assert.equal(a.status().commitIndex, 3, "the no-op of term 4 commits, and entry 2 with it");
});
