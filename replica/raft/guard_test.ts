/**
 * One request must not wedge or kill a replica (issue 9, item 1): a request
 * that contradicts what the replica knows is refused and changes nothing,
 * and the core never produces a term or index its own decoders refuse.
 */
import assert from "node:assert/strict";
import { MAX_INDEX } from "../../protocol/validate.ts";
import { RaftNode } from "./node.ts";
import { Network, seeded, stroke } from "../../tests/testing/raft_network.ts";
import { INDEX_LIMIT, type LogEntry, type Message } from "./types.ts";

/** reqIds of hand-made requests, far from the network's own: their answers are taken off the network. */
let forged = 1e9;

/** A 3-node cluster whose log spans two terms, all of it committed everywhere. */
async function twoTerms(): Promise<{ net: Network; leader: string; follower: string }> {
  const net = new Network(["a", "b", "c"]);
  await net.campaign("a");
  await net.propose("a", stroke("s1"));
  net.crash("a");
  for (let i = 0; i < 200 && !net.leader(); i++) await net.tick();
  const leader = net.leader()!.id;
  net.start("a");
  await net.propose(leader, stroke("s2"));
  await net.tick(10);
  const follower = ["b", "c"].find((id) => id !== leader)!;
  const st = net.node(follower).status();
  assert.equal(st.commitIndex, 4, "set-up: four entries committed on the follower");
  assert.deepEqual(net.disks.get(follower)!.entries.map((e) => e.term), [1, 1, st.term, st.term]);
  return { net, leader, follower };
}

/** What a refused request must leave as it was. */
function snapshot(net: Network, id: string) {
  const { role, term, votedFor, leaderId, commitIndex, lastIndex } = net.node(id).status();
  const disk = net.disks.get(id)!;
  return { role, term, votedFor, leaderId, commitIndex, lastIndex, disk: structuredClone(disk) };
}

/** Delivers a hand-made request to its addressee and returns the one answer. */
async function forge(net: Network, m: Message): Promise<Message> {
  const reqId = ++forged;
  const answers = net.hold((a) => a.reqId === reqId && a.from === m.to);
  await net.deliver({ ...m, reqId });
  assert.equal(answers.length, 1, "a request gets exactly one answer");
  return answers[0];
}

function append(
  from: string,
  to: string,
  term: number,
  prev: [number, number],
  entries: LogEntry[],
): Message {
  const [prevLogIndex, prevLogTerm] = prev;
  return {
    type: "appendEntries",
    from,
    to,
    term,
    prevLogIndex,
    prevLogTerm,
    entries,
    leaderCommit: 0,
    bulk: false,
  };
}

const forgedEntry = (index: number, term: number): LogEntry => ({
  index,
  term,
  stroke: { id: "forged", x0: 0, y0: 0, x1: 1, y1: 1, color: "#000000", width: 1 },
});

async function assertRefusedUnchanged(
  net: Network,
  id: string,
  m: Message,
): Promise<void> {
  const before = snapshot(net, id);
  const answer = await forge(net, m);
  assert.equal(answer.type, `${m.type}Response`);
  assert.equal(answer.term, before.term, "the refusal carries our term");
  assert.ok(
    "success" in answer ? !answer.success : "voteGranted" in answer && !answer.voteGranted,
    "refused",
  );
  assert.deepEqual(snapshot(net, id), before, "nothing changed");
}

Deno.test("a forged append in the current term with the leader's id that would overwrite a committed entry is refused and changes nothing", async () => {
  const { net, leader, follower } = await twoTerms();
  const term = net.node(follower).status().term;
  await assertRefusedUnchanged(
    net,
    follower,
    append(leader, follower, term, [1, 1], [forgedEntry(2, term)]),
  );
  // The replica is alive and still follows the real leader.
  await net.propose(leader, stroke("s3"));
  await net.tick(5);
  assert.equal(net.node(follower).status().commitIndex, 5);
});

Deno.test("the same forged append at term+5 is refused without moving the term", async () => {
  const { net, leader, follower } = await twoTerms();
  const term = net.node(follower).status().term;
  await assertRefusedUnchanged(
    net,
    follower,
    append(leader, follower, term + 5, [1, 1], [forgedEntry(2, term + 5)]),
  );
});

Deno.test("an append at term+5 whose prevLogTerm differs from ours at a committed index is refused without change", async () => {
  const { net, leader, follower } = await twoTerms();
  const term = net.node(follower).status().term;
  // Index 2 is committed with term 1 here: no leader of a later term can have another term there.
  await assertRefusedUnchanged(net, follower, append(leader, follower, term + 5, [2, term], []));
});

Deno.test("an append whose entries cannot be a leader's log (a term above its own) is refused without change", async () => {
  const { net, leader, follower } = await twoTerms();
  const term = net.node(follower).status().term;
  await assertRefusedUnchanged(
    net,
    follower,
    append(leader, follower, term, [4, term], [forgedEntry(5, term + 100)]),
  );
});

Deno.test("a second leader of the current term is refused, by the leader and by its followers", async () => {
  const net = new Network(["a", "b", "c"]);
  await net.campaign("a");
  const term = net.node("a").status().term;
  await assertRefusedUnchanged(net, "a", {
    type: "heartbeat",
    from: "b",
    to: "a",
    term,
    leaderCommit: 0,
  });
  await assertRefusedUnchanged(net, "c", append("b", "c", term, [1, term], []));
  assert.equal(net.node("a").status().role, "leader");
});

Deno.test("a heartbeat with a huge leaderCommit commits nothing beyond what this term's leader verified", async () => {
  const { net, leader, follower } = await twoTerms();
  const term = net.node(follower).status().term;
  // After a restart nothing is verified yet: the follower holds 4 entries and knows no commit.
  net.crash(follower);
  net.start(follower);
  assert.equal(net.node(follower).status().commitIndex, 0);
  const answer = await forge(net, {
    type: "heartbeat",
    from: leader,
    to: follower,
    term,
    leaderCommit: 2 ** 40,
  });
  assert.ok(answer.type === "heartbeatResponse" && answer.success);
  assert.equal(net.node(follower).status().commitIndex, 0);
});

Deno.test("a forged requestVote with a huge term from a non-member is refused without change", async () => {
  const net = new Network(["a", "b", "c"]);
  await net.campaign("a");
  await assertRefusedUnchanged(net, "b", {
    type: "requestVote",
    from: "mallory",
    to: "b",
    term: INDEX_LIMIT - 1,
    lastLogIndex: INDEX_LIMIT - 1,
    lastLogTerm: INDEX_LIMIT - 1,
    preVote: false,
    transfer: true,
  });
});

Deno.test("a term at or above 2^48 is refused without change, even from a member", async () => {
  const net = new Network(["a", "b", "c"]);
  await net.campaign("a");
  await assertRefusedUnchanged(net, "b", append("a", "b", INDEX_LIMIT, [0, 0], []));
  await assertRefusedUnchanged(net, "b", {
    type: "requestVote",
    from: "c",
    to: "b",
    term: 2 ** 53 - 1,
    lastLogIndex: 9,
    lastLogTerm: 9,
    preVote: false,
    transfer: true,
  });
});

Deno.test("the core's bound on terms and indexes is the decoders' bound", () => {
  assert.equal(INDEX_LIMIT, MAX_INDEX);
});

Deno.test("a node at the last term the decoders accept never campaigns or pre-votes beyond it", () => {
  const last = INDEX_LIMIT - 1;
  const n = new RaftNode({
    id: "a",
    peers: ["b", "c"],
    electionTicksMin: 10,
    electionTicksMax: 20,
    heartbeatTicks: 2,
    random: seeded(3),
  }, { hardState: { term: last, votedFor: "", recovering: false }, entries: [] });
  const sent: Message[] = [];
  const events: string[] = [];
  const drain = () => {
    const rd = n.ready();
    n.advance(rd);
    sent.push(...rd.messages, ...rd.messagesAfterPersist);
    events.push(...rd.events.map((e) => e.event));
  };
  for (let i = 0; i < 100; i++) {
    n.tick();
    drain();
  }
  n.step({ type: "timeoutNow", from: "b", to: "a", term: last, reqId: 1 });
  drain();
  assert.ok(sent.every((m) => m.term < INDEX_LIMIT), "every message has a term a decoder accepts");
  assert.ok(!sent.some((m) => m.type === "requestVote"), "no (pre-)vote is asked for");
  const ans = sent.find((m) => m.type === "timeoutNowResponse");
  assert.ok(ans?.type === "timeoutNowResponse" && !ans.success, "a transfer is declined");
  assert.equal(n.status().term, last);
  assert.equal(n.status().role, "follower");
  assert.ok(events.includes("campaign_refused"));
});
