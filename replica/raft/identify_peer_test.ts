/**
 * Peers configured by URL and identified later (`identifyPeer`), and
 * messages from replicas that are not members: their votes and answers move nothing, their
 * leadership is followed (it may come from a configuration not received yet).
 */
import assert from "node:assert/strict";
import { RaftNode } from "./node.ts";
import { seeded } from "../../tests/testing/raft_network.ts";
import { type Message, RaftInvariantError } from "./types.ts";

const URL_B = "http://10.0.0.2:9002";

function node(peers: string[], term = 1): RaftNode {
  return new RaftNode({
    id: "a",
    peers,
    electionTicksMin: 10,
    electionTicksMax: 20,
    heartbeatTicks: 2,
    random: seeded(3),
  }, { hardState: { term, votedFor: "", recovering: false }, entries: [] });
}

function drain(n: RaftNode): Message[] {
  const rd = n.ready();
  n.advance(rd);
  return [...rd.messages, ...rd.messagesAfterPersist];
}

function voteFor(
  from: string,
  to: string,
  term: number,
  preVote: boolean,
  granted = true,
): Message {
  return { type: "requestVoteResponse", from, to, term, voteGranted: granted, preVote };
}

/** Campaigns `n` through its pre-vote with the granted pre-vote of `from`; returns the real vote requests. */
function campaign(n: RaftNode, from: string): Message[] {
  for (let i = 0; i < 25 && n.status().role === "follower"; i++) n.tick();
  drain(n);
  n.step(voteFor(from, "a", n.status().term + 1, true));
  return drain(n);
}

Deno.test("identifyPeer: votes, progress and messages follow the peer to its id", () => {
  const n = node([URL_B, "c"]);
  const requests = campaign(n, URL_B);
  assert.ok(requests.some((m) => m.to === URL_B), "asked the peer under its URL");
  n.identifyPeer(URL_B, "b");
  // Its URL is a stranger now; its id is the member.
  n.step(voteFor(URL_B, "a", n.status().term, false));
  assert.equal(n.status().role, "candidate", "an answer under the old name is dropped");
  n.step(voteFor("b", "a", n.status().term, false));
  assert.equal(n.status().role, "leader");
  const appends = drain(n).filter((m) => m.type === "appendEntries");
  assert.deepEqual(appends.map((m) => m.to).sort(), ["b", "c"]);
  assert.deepEqual(Object.keys(n.status().progress).sort(), ["b", "c"]);
});

Deno.test("identifyPeer: the vote and the leader of the term are renamed too", () => {
  const n = node([URL_B, "c"]);
  n.step({
    type: "heartbeat",
    from: URL_B,
    to: "a",
    term: 2,
    leaderCommit: 0,
    reqId: 1,
  });
  drain(n);
  assert.equal(n.status().leaderId, URL_B);
  n.identifyPeer(URL_B, "b");
  assert.equal(n.status().leaderId, "b");
  assert.equal(n.status().votedFor, "b");
  const rd = n.ready();
  assert.deepEqual(rd.hardState, { term: 2, votedFor: "b", recovering: false }, "persisted");
  assert.deepEqual(rd.softState, { role: "follower", leaderId: "b" });
});

Deno.test("identifyPeer: refuses this node's id, another peer's id and unknown names", () => {
  const n = node([URL_B, "c"]);
  for (const [from, to] of [[URL_B, "a"], [URL_B, "c"], ["http://nobody", "d"]]) {
    assert.throws(() => n.identifyPeer(from, to), (e: unknown) => {
      assert.ok(e instanceof Error && !(e instanceof RaftInvariantError), String(e));
      return true;
    });
  }
  assert.deepEqual(n.status().progress, {});
  n.identifyPeer(URL_B, "b");
  assert.throws(() => n.identifyPeer(URL_B, "x"), /no peer is known as/);
});

Deno.test("a stranger's vote request is refused and changes neither term nor leader", () => {
  const n = node(["b", "c"], 3);
  n.step({
    type: "requestVote",
    from: "z",
    to: "a",
    term: 9,
    lastLogIndex: 5,
    lastLogTerm: 9,
    preVote: false,
    transfer: true,
    reqId: 1,
  });
  const answers = drain(n);
  assert.deepEqual(answers.map((m) => [m.type, m.to, m.term, m.reqId]), [
    ["requestVoteResponse", "z", 3, 1],
  ]);
  assert.ok(answers.every((m) => !("voteGranted" in m && m.voteGranted)));
  const st = n.status();
  assert.deepEqual([st.term, st.votedFor, st.leaderId, st.lastIndex, st.role], [
    3,
    "",
    null,
    0,
    "follower",
  ]);
});

Deno.test("a leader this node does not know yet (added by a configuration it lacks) is followed", () => {
  const n = node(["b", "c"], 3);
  n.step({
    type: "appendEntries",
    from: "z",
    to: "a",
    term: 9,
    prevLogIndex: 0,
    prevLogTerm: 0,
    entries: [{ index: 1, term: 9, noop: true }],
    leaderCommit: 1,
    bulk: false,
    reqId: 2,
  });
  const [answer] = drain(n);
  assert.ok(answer.type === "appendEntriesResponse" && answer.success);
  const st = n.status();
  assert.deepEqual([st.term, st.leaderId, st.lastIndex, st.commitIndex], [9, "z", 1, 1]);
});

Deno.test("a stranger's answers are dropped: its vote elects nobody", () => {
  const n = node(["b", "c"]);
  campaign(n, "b");
  assert.equal(n.status().role, "candidate");
  const term = n.status().term;
  n.step(voteFor("z", "a", term, false));
  n.step(voteFor("y", "a", term + 5, false, false));
  assert.equal(n.status().role, "candidate");
  assert.equal(n.status().term, term);
});

Deno.test("identifyPeer on a leader: the follower's progress moves to its id", () => {
  const n = node([URL_B, "c"]);
  campaign(n, URL_B);
  n.step(voteFor(URL_B, "a", n.status().term, false));
  assert.equal(n.status().role, "leader");
  drain(n);
  n.identifyPeer(URL_B, "b");
  assert.deepEqual(Object.keys(n.status().progress).sort(), ["b", "c"]);
  n.step({
    type: "appendEntriesResponse",
    from: "b",
    to: "a",
    term: n.status().term,
    success: true,
    matchIndex: 1,
    logLength: 1,
    rejectIndex: 0,
    hintIndex: 0,
    hintTerm: 0,
    bulk: false,
    incarnation: 1,
    epoch: 0,
  });
  assert.equal(n.status().progress.b.matchIndex, 1);
  assert.equal(n.status().commitIndex, 1, "b's ack counts towards the majority");
});
