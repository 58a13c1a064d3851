/**
 * One incarnation of a simulated replica: the real RaftNode in the real
 * Driver, over the simulated disk, network and clock. The Driver's I/O
 * (Storage, Transport, StateMachine, onReady) is where the simulator checks
 * the Ready contract: what is written, what leaves and when, what is applied.
 * A crash makes the incarnation inert: a dead process writes, sends and
 * applies nothing, whatever of its code is still queued.
 *
 * A snapshot travels as one message (the network drops, duplicates, delays
 * and reorders it like any other; its chunking is tested on real sockets in
 * replica/snapshot/): the sender's applied prefix, as its transport copies
 * its database at send time, staged at the receiver on arrival.
 */
import { Driver, type StateMachine, type Storage, type Transport } from "../../replica/driver.ts";
import type { Stroke } from "../../protocol/mod.ts";
import type { RaftNode } from "../../replica/raft/node.ts";
import type {
  HardState,
  LogEntry,
  Message,
  Ready,
  RequestMessage,
  ResponseMessage,
  SnapshotPoint,
} from "../../replica/raft/types.ts";
import { StateDb } from "../../replica/state_db.ts";
import { payloadKey } from "./checker.ts";
import { SimClock } from "../testing/sim_clock.ts";
import { writeEntries } from "./disk.ts";
import { describeEvent } from "./trace.ts";
import { SimViolation } from "./violation.ts";
import type { Slot, World } from "./world.ts";

/** Simulated milliseconds per tick: the driver's timers run in milliseconds. */
export const TICK_MS = 10;

/** A snapshot as the simulated transport carries it: the sender's applied entries, as committed. */
export interface SimSnapshot {
  point: SnapshotPoint;
  entries: readonly LogEntry[];
}

/**
 * The state machine of a simulated replica: the real StateDb (an in-memory
 * SQLite database that outlives the incarnation, as the file does), checked
 * entry by entry.
 */
class CheckedStore implements StateMachine<SimSnapshot> {
  constructor(private readonly replica: SimReplica, public store: StateDb) {}

  apply(entries: LogEntry[]): LogEntry[] {
    if (!this.replica.alive) return [];
    for (const e of entries) this.replica.applied(e);
    return this.store.apply(entries);
  }

  indexOf(stroke: Pick<Stroke, "id" | "board">): number | undefined {
    // A dead incarnation's database may be closed (rolled back at its crash).
    if (!this.replica.alive) return undefined;
    return this.store.indexOf(stroke);
  }

  /** From now on a power loss cannot roll the database back below what it holds. */
  makeDurable(): void {
    if (this.replica.alive) this.replica.slot.dbDurable = this.store.lastIndex();
  }

  install(staged: SimSnapshot, point: SnapshotPoint): void {
    if (!this.replica.alive) return;
    this.store = this.replica.installDb(staged, point);
  }

  discard(): void {}
}

/** The Driver's I/O for one incarnation of `slot`. */
export class SimReplica implements Storage, Transport {
  alive = true;
  readonly clock: SimClock;
  readonly driver: Driver<CheckedStore>;
  /** Set by the crash-before-send fault: the Ready being processed is this process's last. */
  #crashPlanned = false;
  /** Since the last sync: the writes that need one. */
  #needsSync: string | null = null;
  #syncs: { at: number; done: () => void }[] = [];
  /** Snapshots handed to the driver (two may overlap: a leader's retry), until one is installed. */
  #installing: SimSnapshot[] = [];
  /** Readies taken in the current tick: a core that never runs out of them hangs its driver. */
  #readies = { tick: -1, count: 0 };

  constructor(readonly world: World, readonly slot: Slot, readonly node: RaftNode) {
    this.clock = new SimClock(world.now * TICK_MS);
    this.driver = new Driver(node, {
      storage: this,
      transport: this,
      stateMachine: new CheckedStore(this, slot.stateDb),
      clock: this.clock,
      compaction: world.compaction,
      onEvent: () => {},
      onFatal: (e) => world.fatal(slot, e),
      onReady: (rd) => this.#onReady(rd),
    });
  }

  /** Runs due timers and completes slow fsyncs that are done. */
  advance(now: number): void {
    while (this.#syncs.length > 0 && this.#syncs[0].at <= now) this.#syncs.shift()!.done();
    this.clock.advance(now * TICK_MS);
  }

  /** The process dies: its pending fsyncs never complete, nothing of it runs again. */
  kill(): void {
    this.alive = false;
    this.#syncs = [];
  }

  // ---- Storage ----------------------------------------------------------------

  save(hs: HardState | null, entries: LogEntry[]): void {
    if (!this.alive) return;
    const s = this.slot;
    const w = this.world;
    if (hs) checkHardState(s, hs);
    if (hs && (hs.term !== s.hard.term || hs.votedFor !== s.hard.votedFor)) {
      this.#needsSync = "term or vote";
    }
    if (entries.length > 0) {
      this.#needsSync = "log";
      checkNoCommittedOverwrite(s, entries);
    }
    s.disk.write(hs, entries, false);
    writeEntries(s.log, entries);
    if (hs) s.hard = { ...hs };
    w.checker.entriesWritten(s.id, s.log, entries);
    if (entries.length > 0) {
      const [a, b] = [entries[0], entries[entries.length - 1]];
      w.trace.add(w.now, () => `${s.id} writes ${a.index}..${b.index} term ${b.term}`);
    }
  }

  /**
   * Compaction (the disk already holds the prefix) or a snapshot from the
   * leader (the staged one brings it). The crash-mid-install fault strikes
   * here: the log names the snapshot, the database is still the old one,
   * and the staged copy stays on disk for the restart to finish with.
   */
  rewrite(point: SnapshotPoint, tail: LogEntry[]): Promise<void> | void {
    if (!this.alive) return new Promise(() => {});
    const s = this.slot;
    const staged = tail.length > 0
      ? undefined
      : this.#installing.find((x) => x.point.index === point.index && x.point.term === point.term);
    s.disk.rewrite(point, staged?.entries);
    if (!staged) return;
    s.log = staged.entries.slice();
    s.stagedOnDisk = staged;
    this.world.trace.add(this.world.now, () => `${s.id} installs snapshot ${point.index}`);
    if (this.world.hooks.crashMidInstall(s)) {
      this.world.crash(s, false, " between the log rewrite and the database swap");
      return new Promise(() => {});
    }
  }

  /** The driver swaps the database for the staged snapshot (checked against the committed log). */
  installDb(staged: SimSnapshot, point: SnapshotPoint): StateDb {
    const s = this.slot;
    this.#installing = [];
    if (point.index <= s.appliedIndex) {
      throw new SimViolation(
        "state-machine-regressed",
        `${s.id} installs snapshot ${point.index} over applied ${s.appliedIndex}`,
      );
    }
    this.world.checker.snapshotInstalled(s.id, s.hard.term, staged.entries);
    s.stagedOnDisk = null;
    s.appliedIndex = point.index;
    return this.world.swapStateDb(s, staged);
  }

  sync(mustSync: boolean): Promise<void> | void {
    if (!this.alive) return new Promise(() => {});
    if (this.#needsSync && !mustSync) {
      throw new SimViolation(
        "ready-contract",
        `${this.slot.id} changes ${this.#needsSync} without mustSync`,
      );
    }
    this.#needsSync = null;
    if (this.#crashPlanned) {
      this.slot.disk.sync();
      this.world.crash(this.slot, false, " before sending its Ready");
      return new Promise(() => {});
    }
    const ticks = mustSync ? this.world.diskSyncTicks() : 0;
    if (ticks === 0) return this.slot.disk.sync();
    return new Promise((resolve) => {
      this.#syncs.push({
        at: this.world.now + ticks,
        done: () => {
          this.slot.disk.sync();
          resolve();
        },
      });
    });
  }

  // ---- Transport and answers --------------------------------------------------

  send(m: RequestMessage): void {
    if (!this.alive) return;
    this.#checkLeaves(m);
    if (this.#crashPlanned) return;
    this.world.sendRequest(this, m);
    // The transport copies the state machine as it is now, at or past what the core asked for.
    if (m.type === "installSnapshot") this.world.takeSnapshot(this.slot, m);
  }

  /** Hands an arrived request to the driver; its answer goes back over the network. */
  request(m: RequestMessage): void {
    const s = this.slot;
    const reqId = m.reqId;
    s.owed++;
    const answered = (answer: ResponseMessage) => {
      if (!this.alive) return;
      s.owed--;
      this.#checkLeaves(answer);
      if (answer.to !== m.from) {
        throw new SimViolation(
          "rpc-contract",
          `${s.id} answers ${m.from}'s request to ${answer.to}`,
        );
      }
      if (!this.#crashPlanned) this.world.sendAnswer(answer, reqId);
    };
    if (m.type !== "installSnapshot") return this.driver.request(m, answered);
    const staged = this.world.snapshotOf(m);
    this.#installing.push(staged);
    const req = { ...m, snapshotIndex: staged.point.index, snapshotTerm: staged.point.term };
    this.driver.installSnapshot(req, staged).then(answered);
  }

  // ---- checks -------------------------------------------------------------------

  /** Called by the checked store for each entry the driver applies. */
  applied(e: LogEntry): void {
    const s = this.slot;
    if (e.index !== s.appliedIndex + 1) {
      throw new SimViolation(
        "ready-contract",
        `${s.id} applies ${e.index} after ${s.appliedIndex}`,
      );
    }
    const mine = s.log[e.index - 1];
    if (!mine || mine.term !== e.term || payloadKey(mine) !== payloadKey(e)) {
      throw new SimViolation("ready-contract", `${s.id} applies ${e.index} unlike its log`);
    }
    this.world.checker.applied(s.id, s.hard.term, e);
    s.appliedIndex = e.index;
    this.world.hooks.onApplied(s, e);
  }

  #onReady(rd: Ready): void {
    if (!this.alive) return;
    const s = this.slot;
    const w = this.world;
    if (this.#readies.tick !== w.now) this.#readies = { tick: w.now, count: 0 };
    if (++this.#readies.count > 1000) {
      throw new SimViolation("ready-contract", `${s.id} never runs out of Readies`);
    }
    for (const ev of rd.events) w.trace.add(w.now, () => `${s.id} ${describeEvent(ev)}`);
    if (rd.events.some((e) => e.event === "recovered" || e.event === "bootstrap")) w.releaseLate(s);
    this.#crashPlanned = w.hooks.crashBeforeSend(s, rd);
    const wasLeader = s.role === "leader";
    s.role = rd.softState.role;
    s.leaderId = rd.softState.leaderId;
    if (s.role === "leader" && !wasLeader) {
      const term = rd.hardState?.term ?? s.hard.term;
      w.trace.add(w.now, () => `${s.id} becomes leader of term ${term}`);
      w.checker.leaderElected(s.id, term, s.log);
      w.hooks.onLeader(s);
    }
  }

  /**
   * Persist before send, checked against the disk as it would read after a
   * crash: an answer promises only what is durable (its term, its vote, the
   * entries it acknowledges); a request may run ahead of the disk only with
   * entries (thesis 10.2.1), never with a term (pre-votes carry one nobody adopts).
   */
  #checkLeaves(m: Message): void {
    const s = this.slot;
    if (m.from !== s.id) throw new SimViolation("ready-contract", `${s.id} sends as ${m.from}`);
    const hs = s.disk.syncedHardState();
    const term = hs?.term ?? 0;
    const fail = (what: string) => {
      throw new SimViolation("persist-before-send", `${s.id} sends ${m.type} to ${m.to} ${what}`);
    };
    if (m.type === "requestVote" && m.preVote) return;
    if (m.type === "requestVoteResponse" && m.preVote && m.voteGranted) return;
    if (m.term > term) fail(`of term ${m.term} while its disk holds term ${term}`);
    // An answer of an older term than the durable one is superseded: a batch
    // that moved on to a later term may legitimately have overwritten what it
    // promised (the entries of a deposed leader), and the node can never act
    // in that older term again.
    if (m.term < term) return;
    if (m.type === "requestVoteResponse" && m.voteGranted && hs?.votedFor !== m.to) {
      fail(`granting its vote while its disk holds a vote for "${hs?.votedFor ?? ""}"`);
    }
    if (m.type === "appendEntriesResponse" && m.success && m.matchIndex > 0) {
      const durable = s.disk.syncedLog()[m.matchIndex - 1];
      const written = s.log[m.matchIndex - 1];
      if (
        !durable || durable.term !== written?.term || payloadKey(durable) !== payloadKey(written)
      ) {
        fail(`acknowledging ${m.matchIndex} before it is durable`);
      }
    }
  }
}

function checkHardState(s: Slot, hs: HardState): void {
  if (hs.term < s.hard.term) {
    throw new SimViolation("term-regressed", `${s.id} term ${s.hard.term} -> ${hs.term}`);
  }
  if (hs.term === s.hard.term && s.hard.votedFor !== "" && hs.votedFor !== s.hard.votedFor) {
    throw new SimViolation(
      "election-safety",
      `${s.id} changes its vote in term ${hs.term}: ${s.hard.votedFor} -> ${hs.votedFor || '""'}`,
    );
  }
}

function checkNoCommittedOverwrite(s: Slot, entries: LogEntry[]): void {
  const first = entries[0].index;
  for (let i = first; i <= s.commitIndex && i - first < entries.length; i++) {
    const e = entries[i - first];
    if (payloadKey(e) !== payloadKey(s.log[i - 1]) || e.term !== s.log[i - 1].term) {
      throw new SimViolation("ready-contract", `${s.id} overwrites committed index ${i}`);
    }
  }
}
