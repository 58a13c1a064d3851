/**
 * Answers from a follower's earlier life (issue 9, item 2). A follower that
 * lost its disk restarts as a new incarnation; an ack its previous life sent
 * just before the loss may still be on the way. Counting it would commit an
 * entry that only the leader holds.
 */
import assert from "node:assert/strict";
import { Network, stroke } from "../../tests/testing/raft_network.ts";
import type { LogEntry, Message } from "./types.ts";

const strokeId = (e: LogEntry) => "stroke" in e ? e.stroke.id : "noop" in e ? "noop" : "other";

async function until(net: Network, done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 300 && !done(); i++) await net.tick();
  assert.ok(done(), `timed out waiting for ${what}`);
}

Deno.test("a delayed ack from before a disk loss does not commit an entry only the leader has", async () => {
  // Two entries per append, so that b's acks are of 3, 5 and 7.
  const net = new Network(["a", "b", "c"], { config: { maxEntriesPerAppend: 2 } });
  await net.campaign("a");
  const a = net.node("a");
  net.cut("a", "c"); // c keeps only the no-op: a commits with b alone
  await net.propose("a", stroke("s2"), stroke("s3"));
  await net.propose("a", stroke("s4"), stroke("s5"));
  assert.equal(a.status().commitIndex, 5);
  const ackOf7 = net.hold((m: Message) =>
    m.type === "appendEntriesResponse" && m.from === "b" && m.success && m.matchIndex === 7
  );
  await net.propose("a", stroke("s6"), stroke("s7"));
  assert.equal(ackOf7.length, 1, "b acknowledged 7; the answer is on its way");
  assert.equal(a.status().commitIndex, 5);

  // b loses its disk, restarts and is caught up to 6 (the append carrying 7 never arrives).
  net.crash("b", true);
  net.start("b");
  const past6 = net.hold((m) =>
    m.type === "appendEntries" && m.to === "b" && m.entries.some((e) => e.index > 6)
  );
  const b = () => net.node("b").status();
  await until(net, () => b().lastIndex === 6, "b to be caught up to 6");
  assert.equal(b().recovering, true, "without c, a cannot commit b's replacement");

  // The ack of b's previous life arrives: it names the old disk (and b's new
  // life said it is fresh), so it counts for nothing.
  await net.release(ackOf7);
  assert.equal(a.status().commitIndex, 5, "7 is on a alone: not committed");

  // c is back: b is replaced through the log and votes again.
  net.recover();
  await net.release(past6);
  await until(net, () => !b().recovering, "b to be a voter again");
  const committed = net.applied.get("a")!.map((e) => `${e.index}:${e.term}:${strokeId(e)}`);

  // a crashes; b and c elect a leader, which must hold everything a committed.
  net.crash("a");
  await until(net, () => net.leader() !== undefined, "a new leader");
  const leader = net.leader()!;
  const log = net.disks.get(leader.id)!.entries.map((e) => `${e.index}:${e.term}:${strokeId(e)}`);
  for (const e of committed) {
    assert.ok(log.includes(e), `${leader.id} leads without ${e}, which a committed (log ${log})`);
  }
});
