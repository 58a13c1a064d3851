/**
 * The driver obeys the core's Ready: answers leave only once their Ready is
 * durable, what may leave early does, and a failing core is fatal. (The
 * simulator runs this driver under faults; these are the plain cases.)
 */
import assert from "node:assert/strict";
import { SimClock } from "../tests/testing/sim_clock.ts";
import { type Clock, Driver, type Storage } from "./driver.ts";
import { RaftNode } from "./raft/node.ts";
import { seeded } from "../tests/testing/raft_network.ts";
import type { Message, RequestMessage, ResponseMessage } from "./raft/types.ts";
import { StateDb } from "./state_db.ts";

/** A disk whose fsyncs complete when the test says so. */
class ManualDisk implements Storage {
  saved = 0;
  pending: (() => void)[] = [];
  save(): void {
    this.saved++;
  }
  sync(mustSync: boolean): Promise<void> | void {
    if (!mustSync) return;
    return new Promise((resolve) => this.pending.push(resolve));
  }
  rewrite(): void {
    throw new Error("these tests never compact");
  }
}

function setup(peers = ["b", "c"]) {
  const disk = new ManualDisk();
  const sent: RequestMessage[] = [];
  const fatal: unknown[] = [];
  const node = new RaftNode({
    id: "a",
    peers,
    electionTicksMin: 10,
    electionTicksMax: 20,
    heartbeatTicks: 2,
    random: seeded(1),
  }, { hardState: { term: 1, votedFor: "", recovering: false }, entries: [] });
  const clock = new SimClock(0);
  const driver = new Driver(node, {
    storage: disk,
    transport: { send: (m) => sent.push(m) },
    stateMachine: new StateDb(":memory:"),
    clock,
    onEvent: () => {},
    onFatal: (e) => fatal.push(e),
  });
  return { disk, sent, fatal, node, driver, clock };
}

const turn = () => new Promise((r) => setTimeout(r, 0));

Deno.test("driver: an ack leaves only once the entries it acknowledges are durable", async () => {
  const { disk, driver } = setup();
  const answers: ResponseMessage[] = [];
  driver.request({
    type: "appendEntries",
    from: "b",
    to: "a",
    term: 1,
    prevLogIndex: 0,
    prevLogTerm: 0,
    entries: [{ index: 1, term: 1, noop: true }],
    leaderCommit: 0,
    bulk: false,
  }, (m) => answers.push(m));
  await turn();
  assert.equal(disk.saved, 1);
  assert.equal(disk.pending.length, 1, "fsync running");
  assert.deepEqual(answers, [], "no ack before the fsync");
  disk.pending.shift()!();
  await turn();
  const [ack] = answers as Message[];
  assert.ok(ack.type === "appendEntriesResponse" && ack.success && ack.matchIndex === 1);
  assert.equal(driver.backlog().unanswered, 0);
});

Deno.test("driver: a leader's appends leave while its own fsync runs", async () => {
  const { disk, sent, node, driver, clock } = setup(["b"]);
  driver.start(10);
  for (let ms = 10; ms < 300 && !sent.some((m) => m.type === "requestVote"); ms += 10) {
    clock.advance(ms);
    await turn();
  }
  const preVote = sent.find((m) => m.type === "requestVote")!;
  assert.ok(preVote.type === "requestVote" && preVote.preVote, "a pre-vote leaves at once");
  driver.receive({
    type: "requestVoteResponse",
    from: "b",
    to: "a",
    term: preVote.term,
    voteGranted: true,
    preVote: true,
  });
  await turn();
  assert.equal(disk.pending.length, 1, "the new term is being persisted");
  assert.ok(!sent.some((m) => m.type === "requestVote" && !m.preVote), "vote request waits");
  disk.pending.shift()!();
  await turn();
  driver.receive({
    type: "requestVoteResponse",
    from: "b",
    to: "a",
    term: node.status().term,
    voteGranted: true,
    preVote: false,
  });
  await turn();
  assert.equal(node.status().role, "leader");
  assert.equal(disk.pending.length, 1, "the leader's first entry is being persisted");
  assert.ok(sent.some((m) => m.type === "appendEntries" && m.entries.length === 1), "sent anyway");
});

Deno.test("driver: a failure of the core is fatal, not swallowed", async () => {
  const { fatal, driver } = setup();
  driver.receive({ type: "heartbeat", from: "b", to: "z", term: 1, leaderCommit: 0 });
  await turn();
  assert.equal(fatal.length, 1);
  assert.match(String(fatal[0]), /message for z stepped into a/);
});

/** A one-node cluster whose driver runs and has made it leader. */
async function soleLeader() {
  const { disk, node, driver, clock } = setup([]);
  driver.start(10);
  for (let ms = 10; ms < 500 && node.status().role !== "leader"; ms += 10) {
    clock.advance(ms);
    while (disk.pending.length) disk.pending.shift()!();
    await turn();
  }
  assert.equal(node.status().role, "leader");
  /** Completes every fsync for a few turns, so that what was proposed commits. */
  const settle = async () => {
    for (let i = 0; i < 20; i++) {
      while (disk.pending.length) disk.pending.shift()!();
      await turn();
    }
  };
  return { node, driver, settle };
}

Deno.test("driver: a stroke is one per (board, id): the same id on another board is another stroke", async () => {
  const { driver, settle } = await soleLeader();
  const stroke = (board: string) => ({
    id: "same",
    board,
    x0: 0,
    y0: 0,
    x1: 1,
    y1: 1,
    color: "#000000",
    width: 1,
  });
  const commit = async (p: Promise<number[]>) => {
    await settle();
    return await p;
  };
  const [a] = await commit(driver.propose([stroke("a")], 60_000));
  const [b] = await commit(driver.propose([stroke("b")], 60_000));
  const [again] = await commit(driver.propose([stroke("a")], 60_000));
  assert.notEqual(a, b, "board b's stroke is its own entry");
  assert.equal(again, a, "a retry on board a is acked with the first index");
});

Deno.test("driver: a second copy of an id in the log is acked with the first copy's index", async () => {
  const { node, driver, settle } = await soleLeader();
  const stroke = { id: "twice", x0: 0, y0: 0, x1: 1, y1: 1, color: "#000000", width: 1 };
  // The first copy is in the log but not yet applied (as one a deposed leader appended, which
  // this one commits): the driver's id check cannot see it, so the proposal appends another.
  const [first] = node.propose([{ stroke }]);
  const proposed = driver.propose([stroke], 60_000);
  await settle();
  const [acked] = await proposed;
  assert.equal(node.status().commitIndex, first.index + 1, "both copies committed");
  assert.equal(acked, first.index, "the copy that counts is the first");
});

Deno.test("driver: a slow fsync holds back neither heartbeat answers nor a leader's heartbeats", async () => {
  // A follower whose disk hangs on an fsync still answers its leader's heartbeats.
  const follower = setup();
  const answers: Message[] = [];
  const append = (prev: number, leaderCommit: number) => ({
    type: "appendEntries" as const,
    from: "b",
    to: "a",
    term: 1,
    prevLogIndex: prev,
    prevLogTerm: prev === 0 ? 0 : 1,
    entries: [{ index: prev + 1, term: 1, noop: true as const }],
    leaderCommit,
    bulk: false,
  });
  follower.driver.request(append(0, 0), (m) => answers.push(m));
  await turn();
  assert.equal(follower.disk.pending.length, 1, "the first fsync hangs");
  follower.driver.request(
    { type: "heartbeat", from: "b", to: "a", term: 1, leaderCommit: 0 },
    (m) => answers.push(m),
  );
  await turn();
  assert.deepEqual(answers.map((m) => m.type), ["heartbeatResponse"], "answered meanwhile");
  assert.equal(follower.disk.pending.length, 1);
  follower.disk.pending.shift()!();
  await turn();
  assert.deepEqual(answers.map((m) => m.type), ["heartbeatResponse", "appendEntriesResponse"]);

  // A leader whose own fsync hangs keeps sending heartbeats.
  const leader = setup(["b"]);
  const { disk, sent, node, driver, clock } = leader;
  driver.start(10);
  let ms = 10;
  const step = async () => {
    clock.advance(ms += 10);
    await turn();
  };
  while (!sent.some((m) => m.type === "requestVote" && m.preVote)) await step();
  const grant = (preVote: boolean) =>
    driver.receive({
      type: "requestVoteResponse",
      from: "b",
      to: "a",
      term: preVote ? node.status().term + 1 : node.status().term,
      voteGranted: true,
      preVote,
    });
  grant(true);
  await turn();
  disk.pending.shift()!(); // the new term is durable
  await turn();
  grant(false);
  await turn();
  assert.equal(node.status().role, "leader");
  assert.equal(disk.pending.length, 1, "the no-op's fsync hangs");
  const before = sent.filter((m) => m.type === "heartbeat").length;
  for (let i = 0; i < 10; i++) await step(); // 100 ms: more than one heartbeat interval (20 ms)
  const heartbeats = sent.filter((m) => m.type === "heartbeat").length - before;
  assert.ok(heartbeats >= 2, `heartbeats while the fsync hangs: ${heartbeats}`);
  assert.equal(disk.pending.length, 1, "still the same fsync");
});

Deno.test("driver: one tick per tickMs of clock time, late ones made up, 3 at most at once", () => {
  for (const [lateBy, forMs, expected] of [[1.5, 600, 60], [10, 1000, 30]]) {
    const { node, clock } = setup();
    let ticks = 0;
    const tick = node.tick.bind(node);
    node.tick = () => (ticks++, tick());
    // A timer that fires `lateBy` times slower than asked, as a busy event loop's does.
    const late: Clock = {
      now: () => clock.now(),
      setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
      setInterval: (fn, ms) => clock.setInterval(fn, ms * lateBy),
      clear: (id) => clock.clear(id),
    };
    const driver = new Driver(node, {
      storage: new ManualDisk(),
      transport: { send: () => {} },
      stateMachine: new StateDb(":memory:"),
      clock: late,
      onEvent: () => {},
      onFatal: (e) => {
        throw e;
      },
    });
    driver.start(10);
    clock.advance(forMs);
    assert.equal(ticks, expected, `${lateBy}x late`);
  }
});
