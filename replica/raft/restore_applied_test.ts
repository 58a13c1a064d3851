/**
 * A restart with the state machine already applied to A (etcd's
 * `Config.Applied`): entries up to A are never handed out again, the commit
 * index starts at A, and later commits continue from A + 1.
 */
import assert from "node:assert/strict";
import { RaftNode } from "./node.ts";
import { seeded } from "../../tests/testing/raft_network.ts";
import { type LogEntry, RaftInvariantError } from "./types.ts";

const CFG = { electionTicksMin: 10, electionTicksMax: 20, heartbeatTicks: 2, random: seeded(3) };

function log(n: number): LogEntry[] {
  return Array.from({ length: n }, (_, i) => ({ index: i + 1, term: 1, noop: true as const }));
}

function restart(entries: LogEntry[], applied?: number): RaftNode {
  return new RaftNode({ id: "a", peers: ["b", "c"], ...CFG }, {
    hardState: { term: 1, votedFor: "b", recovering: false },
    entries,
    applied,
  });
}

Deno.test("restore: entries up to the applied index are never handed out again", () => {
  const n = restart(log(5), 3);
  const st = n.status();
  assert.equal(st.commitIndex, 3, "applied entries were committed: commit starts there");
  assert.equal(st.appliedIndex, 3);
  if (n.hasReady()) {
    const rd = n.ready();
    assert.deepEqual(rd.committedEntries, []);
    n.advance(rd);
  }
  // The leader of term 1 tells it everything is committed: only 4 and 5 are new.
  n.step({
    type: "appendEntries",
    from: "b",
    to: "a",
    term: 1,
    prevLogIndex: 5,
    prevLogTerm: 1,
    entries: [],
    leaderCommit: 5,
    bulk: false,
    reqId: 1,
  });
  const rd = n.ready();
  assert.deepEqual(rd.committedEntries.map((e) => e.index), [4, 5]);
  n.advance(rd);
  assert.equal(n.status().appliedIndex, 5);
});

Deno.test("restore: without an applied index the committed prefix is re-delivered from 1", () => {
  const n = restart(log(5));
  assert.equal(n.status().commitIndex, 0);
  n.step({
    type: "appendEntries",
    from: "b",
    to: "a",
    term: 1,
    prevLogIndex: 5,
    prevLogTerm: 1,
    entries: [],
    leaderCommit: 5,
    bulk: false,
    reqId: 1,
  });
  assert.deepEqual(n.ready().committedEntries.map((e) => e.index), [1, 2, 3, 4, 5]);
});

Deno.test("restore: an applied index beyond the restored log is refused loudly", () => {
  assert.throws(() => restart(log(2), 3), RaftInvariantError);
  assert.throws(() => restart(log(2), -1), RaftInvariantError);
  assert.throws(() => restart(log(2), 1.5), RaftInvariantError);
});

Deno.test("restore: an applied index makes the committed prefix safe from truncation", () => {
  const n = restart(log(5), 4);
  // A (bogus) leader that would overwrite applied entry 4 with another term: the core refuses it
  // or stops loudly, and never hands out a rewrite of an applied entry.
  try {
    n.step({
      type: "appendEntries",
      from: "b",
      to: "a",
      term: 2,
      prevLogIndex: 3,
      prevLogTerm: 1,
      entries: [{ index: 4, term: 2, noop: true }],
      leaderCommit: 4,
      bulk: false,
      reqId: 1,
    });
  } catch (e) {
    assert.ok(e instanceof RaftInvariantError, String(e));
    return;
  }
  assert.equal(n.status().commitIndex, 4);
  if (n.hasReady()) {
    const rd = n.ready();
    assert.deepEqual(rd.entries.filter((e) => e.index <= 4), [], "an applied entry rewritten");
  }
});
