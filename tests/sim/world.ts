/**
 * The simulated cluster: replicas (the real core in the real driver, see
 * `replica.ts`), their disks and the network, one tick at a time.
 *
 * Determinism: everything runs on one thread with no real timers or I/O.
 * The driver starts its loop in a microtask (as it does in the replica, so
 * that inputs batch into one Ready), and the simulated disk is durable at once
 * unless the seed makes it slow, so `settle()` (one await) runs every loop
 * that the phase before kicked; a slow fsync resolves at a later tick and its
 * loop goes on at that tick's settle. Microtasks run in a fixed order, so a
 * seed replays exactly; what has not run yet simply runs at the next settle.
 */
import type { RaftNode } from "../../replica/raft/node.ts";
import { type Member, voterIds } from "../../replica/raft/membership.ts";
import { isConfigEntry } from "../../protocol/mod.ts";
import {
  type HardState,
  isRequest,
  type LogEntry,
  NotLeaderError,
  type RaftConfig,
  RaftInvariantError,
  type Ready,
  type RequestMessage,
  type ResponseMessage,
  type RestoredState,
  type Role,
} from "../../replica/raft/types.ts";
import { StateDb } from "../../replica/state_db.ts";
import { Checker, describeMembers } from "./checker.ts";
import { SimDisk } from "./disk.ts";
import type { SimNetwork } from "./network.ts";
import { deriveSeed, Prng } from "../testing/prng.ts";
import { SimReplica, type SimSnapshot, TICK_MS } from "./replica.ts";
import type { CompactionPolicy } from "../../replica/driver.ts";
import { describeMessage, type Trace } from "./trace.ts";
import { SimViolation } from "./violation.ts";

/** Builds a node; mutation tests pass subclasses of RaftNode here. */
export type NodeFactory = (config: RaftConfig, restored?: RestoredState) => RaftNode;

/** Per-seed knobs of the Raft configuration (undefined keeps the core's default). */
export type NodeTuning = Pick<
  RaftConfig,
  "maxEntriesPerAppend" | "maxEntriesPerSync" | "maxInflight" | "syncThreshold"
>;

/** The simulator's view of one replica, across its incarnations. */
export interface Slot {
  readonly id: string;
  /** The running incarnation; null while crashed. */
  io: SimReplica | null;
  readonly disk: SimDisk;
  /** The state machine's database: it survives crashes and is lost with the disk. */
  stateDb: StateDb;
  /** Applied index the database holds durably (made so before a compaction); a power loss keeps at least this. */
  dbDurable: number;
  /** A snapshot whose log rewrite is durable but whose database swap may not have happened. */
  stagedOnDisk: SimSnapshot | null;
  /** The log as the node has written it (what it would read back from its page cache). */
  log: LogEntry[];
  hard: HardState;
  role: Role;
  leaderId: string | null;
  incarnation: number;
  commitIndex: number;
  appliedIndex: number;
  pausedUntil: number;
  /** Requests handed to the driver and not answered yet. */
  owed: number;
  /** The disk's identity (DATA_DIR/identity): a wipe draws a new one. */
  diskId: string;
  disksUsed: number;
  /** Added by the membership operator: it (re)starts with JOIN=1, as its supervisor would. */
  joined: boolean;
  /** Kept down: a spare slot not added yet, or a removed member that was stopped. */
  out: boolean;
}

const freshHardState: HardState = { term: 0, votedFor: "", recovering: true };

/** Hooks of the world for the fault injector and clients. */
export interface WorldHooks {
  onApplied(slot: Slot, e: LogEntry): void;
  onLeader(slot: Slot): void;
  onCrash(slot: Slot): void;
  /** True to crash the node once `rd` is durable, before any of its messages left. */
  crashBeforeSend(slot: Slot, rd: Ready): boolean;
  /** True to crash the node between the log rewrite and the database swap of a snapshot install. */
  crashMidInstall(slot: Slot): boolean;
}

/** Nodes, disks, network and the global checker of one run. */
export class World {
  readonly slots: Slot[];
  readonly checker: Checker;
  readonly prng: Prng;
  now = 0;
  crashes = 0;
  wipes = 0;
  /** Ticks an fsync takes (0: durable at once); the slow-disk fault. */
  maxSyncTicks = 0;
  /** Share of a wiped node's answers on the wire that arrive only after its new life is caught up. */
  lateAnswerRate = 0;
  /** How every node compacts its log (none: never). */
  compaction: CompactionPolicy | undefined;
  /** Snapshots on the wire, by the reqId of their message (a duplicate carries the same). */
  #snapshots = new Map<number, SimSnapshot>();
  /** Its own stream, so that the late-answer fault leaves every other draw of a seed as it was. */
  #latePrng: Prng;
  #nextReqId = 1;
  readonly #dbPrng: Prng;
  #violation: SimViolation | null = null;
  /** Requests whose call (an HTTP request and its answer) has not completed, by reqId. */
  #calls = new Map<number, { from: SimReplica; m: RequestMessage }>();
  /** Failed calls whose sender is told so at `at` (as fetch fails on a refused or timed-out call). */
  #failures: { at: number; from: SimReplica; m: RequestMessage }[] = [];
  #membersChecked = new WeakMap<Slot, number>();
  /** "term:candidate" -> who granted it a vote of that term (delivered). */
  #grants = new Map<string, Set<string>>();
  hooks: WorldHooks = {
    onApplied() {},
    onLeader() {},
    onCrash() {},
    crashBeforeSend: () => false,
    crashMidInstall: () => false,
  };

  constructor(
    readonly seed: number,
    readonly nodeCount: number,
    readonly baseConfig: Omit<RaftConfig, "id" | "peers" | "random">,
    readonly network: SimNetwork,
    readonly trace: Trace,
    readonly factory: NodeFactory,
    /** Slots after these are spares: down until the membership operator adds them. */
    readonly initialVoters = nodeCount,
  ) {
    this.prng = new Prng(deriveSeed(seed, "world"));
    const bootstrap = Array.from({ length: initialVoters }, (_, i) => `n${i + 1}`);
    this.checker = new Checker(bootstrap.map((id) => ({ id, url: id, voter: true })));
    this.#latePrng = new Prng(deriveSeed(seed, "late"));
    this.slots = Array.from({ length: nodeCount }, (_, i) => ({
      id: `n${i + 1}`,
      io: null,
      disk: new SimDisk(),
      stateDb: new StateDb(":memory:"),
      dbDurable: 0,
      stagedOnDisk: null,
      log: [],
      hard: { ...freshHardState },
      role: "follower" as Role,
      leaderId: null,
      incarnation: 0,
      commitIndex: 0,
      appliedIndex: 0,
      pausedUntil: 0,
      owed: 0,
      diskId: `n${i + 1}-d1`,
      disksUsed: 1,
      joined: false,
      out: i >= this.initialVoters,
    }));
    this.#dbPrng = new Prng(deriveSeed(seed, "state-db"));
  }

  /** Looks a node up by id. */
  slot(id: string): Slot {
    const s = this.slots.find((x) => x.id === id);
    if (!s) throw new SimViolation("ready-contract", `message to unknown node ${id}`);
    return s;
  }

  /** Up and not paused. */
  running(s: Slot): boolean {
    return s.io !== null && s.pausedUntil <= this.now;
  }

  /** Sends a request as `from`'s call: a fresh reqId, and the sender hears if the call fails. */
  sendRequest(from: SimReplica, m: RequestMessage): void {
    m.reqId = this.#nextReqId++;
    this.#calls.set(m.reqId, { from, m });
    if (!this.network.send(m, this.now)) this.failCall(m.reqId, this.baseConfig.electionTicksMin);
  }

  /** Sends `answer` to the call `reqId`; a lost answer fails the call. */
  sendAnswer(answer: ResponseMessage, reqId: number | undefined): void {
    answer.reqId = reqId;
    if (!this.network.send(answer, this.now)) {
      this.failCall(reqId, this.baseConfig.electionTicksMin);
    }
  }

  /** The call `reqId` failed (refused now, or timed out): its sender hears it after `afterTicks`. */
  failCall(reqId: number | undefined, afterTicks: number): void {
    const c = reqId === undefined ? undefined : this.#calls.get(reqId);
    if (!c) return;
    this.#calls.delete(reqId!);
    this.#failures.push({ at: this.now + afterTicks, ...c });
  }

  /** How long the next fsync takes, in ticks. */
  diskSyncTicks(): number {
    return this.maxSyncTicks > 0 ? this.prng.int(0, this.maxSyncTicks) : 0;
  }

  /** Starts (or restarts) a node from what its disk holds. */
  start(s: Slot): void {
    const restored = this.#restore(s);
    s.incarnation++;
    const config: RaftConfig = {
      ...this.baseConfig,
      id: s.id,
      diskId: s.diskId,
      peers: this.#peersOf(s, restored),
      join: s.joined,
      random: new Prng(deriveSeed(this.seed, s.id, s.incarnation)).float,
    };
    // Every entry the disk holds, before the snapshot point too (the checks index the log from 1).
    s.log = restored ? s.disk.syncedLog().slice() : [];
    s.hard = restored ? { ...restored.hardState } : { ...freshHardState };
    s.role = "follower";
    s.leaderId = null;
    s.commitIndex = 0;
    s.appliedIndex = s.stateDb.lastIndex();
    s.pausedUntil = 0;
    s.owed = 0;
    const line =
      `${s.id} starts (#${s.incarnation}) log=${s.log.length} applied=${s.appliedIndex} ` +
      `term=${s.hard.term}`;
    this.trace.add(this.now, () => line);
    const node = this.call(s, () => this.factory(config, restored));
    s.io = new SimReplica(this, s, node);
    s.io.driver.start(TICK_MS);
  }

  /**
   * PEERS of a start: the initial voters, as the cluster was bootstrapped
   * (a log without configuration entries means exactly that). A replica
   * whose log is empty (added, or wiped) is given the members as they are
   * now, as an operator would: the last committed configuration. (With the
   * initial voters, a wiped replica would probe removed members that were
   * stopped, and wait for their answers forever.)
   */
  #peersOf(s: Slot, restored: RestoredState | undefined): string[] {
    const initial = this.slots.slice(0, this.initialVoters).map((x) => x.id);
    const now = this.checker.committedMembers()?.map((m) => m.id);
    const empty = !restored || (restored.entries.length === 0 && !restored.snapshot);
    // An added replica's PEERS never name it: until its log holds a configuration, they only say
    // whom to probe and follow, and the operator keeps them current (a stopped member never answers).
    const fromPeers = !restored?.snapshot && !restored?.entries.some(isConfigEntry);
    return (now && (empty || (s.joined && fromPeers)) ? now : initial).filter((id) => id !== s.id);
  }

  /** Power loss: the process dies and unsynced writes may be lost. */
  crash(s: Slot, wipe = false, when = ""): void {
    s.io?.kill();
    const lost = s.disk.crash(this.prng);
    this.crashes++;
    if (wipe) this.wipe(s);
    else this.#rollBackStateDb(s);
    s.io = null;
    s.role = "follower";
    this.hooks.onCrash(s);
    this.trace.add(
      this.now,
      () =>
        `${s.id} ${
          wipe ? "crashes and loses its disk" : "crashes"
        }${when} (unsynced writes lost: ${lost})`,
    );
  }

  /** The sender's transport copies its database: its applied prefix, at or past what was asked. */
  takeSnapshot(s: Slot, m: Extract<RequestMessage, { type: "installSnapshot" }>): void {
    const index = s.stateDb.lastIndex();
    const term = s.stateDb.termAt(index);
    if (index < m.snapshotIndex || term === undefined) {
      throw new SimViolation(
        "ready-contract",
        `${s.id} asks for a snapshot at ${m.snapshotIndex} but has applied ${index}`,
      );
    }
    this.#snapshots.set(m.reqId!, { point: { index, term }, entries: s.log.slice(0, index) });
  }

  /** The snapshot a delivered installSnapshot carries. */
  snapshotOf(m: RequestMessage): SimSnapshot {
    const snap = this.#snapshots.get(m.reqId!);
    if (!snap) throw new SimViolation("ready-contract", `${m.from}'s snapshot to ${m.to} is lost`);
    return snap;
  }

  /** A new database holding the snapshot replaces the slot's (the rename of the replica). */
  swapStateDb(s: Slot, staged: SimSnapshot): StateDb {
    const db = new StateDb(":memory:");
    db.apply(staged.entries.slice());
    s.stateDb.close();
    s.stateDb = db;
    s.dbDurable = staged.point.index;
    return db;
  }

  /**
   * synchronous=NORMAL: a power loss may roll the state database back to an
   * earlier batch (any prefix of what it applied; its content does not
   * depend on how entries were batched, so re-applying the prefix from the
   * durable log rebuilds it exactly). Its own generator, so that the other
   * faults of a seed stay as they were.
   */
  #rollBackStateDb(s: Slot): void {
    const applied = s.stateDb.lastIndex();
    if (applied <= s.dbDurable || !this.#dbPrng.chance(0.3)) return;
    const kept = this.#dbPrng.int(s.dbDurable, applied - 1);
    const db = new StateDb(":memory:");
    db.apply(s.disk.syncedLog().slice(0, kept));
    s.stateDb.close();
    s.stateDb = db;
    this.trace.add(
      this.now,
      () => `${s.id}'s state database rolls back from ${applied} to ${kept}`,
    );
  }

  /**
   * The log and the state machine the node restarts from. Every applied
   * entry was durable in the log before it was applied (persist, then
   * apply), so the log always holds the database's last applied entry.
   */
  #restore(s: Slot): RestoredState | undefined {
    const restored = s.disk.restored();
    const point = restored?.snapshot ?? { index: 0, term: 0 };
    // A crash between the log rewrite and the database swap: finish the install (open_state.ts).
    if (s.stateDb.lastIndex() < point.index && s.stagedOnDisk?.point.index === point.index) {
      this.trace.add(this.now, () => `${s.id} finishes installing snapshot ${point.index}`);
      this.swapStateDb(s, s.stagedOnDisk);
      s.stagedOnDisk = null;
    }
    const applied = s.stateDb.lastIndex();
    if (applied < point.index) {
      throw new SimViolation(
        "ready-contract",
        `${s.id}'s log is compacted to ${point.index} but its database holds only ${applied}`,
      );
    }
    const termAt = (i: number) =>
      i === point.index ? point.term : restored?.entries[i - point.index - 1]?.term;
    if (s.stateDb.reconcile(termAt)) {
      throw new SimViolation(
        "ready-contract",
        `${s.id} applied ${applied} but its durable log does not hold that entry`,
      );
    }
    return restored && { ...restored, applied };
  }

  /** Closes what the run opened (the state databases). */
  close(): void {
    for (const s of this.slots) s.stateDb.close();
  }

  /** The node's disk is replaced by an empty one (it may be up or down). */
  wipe(s: Slot): void {
    s.disk.wipe();
    s.diskId = `${s.id}-d${++s.disksUsed}`;
    // A running incarnation keeps writing to the database it opened (an unlinked file).
    s.stateDb = new StateDb(":memory:");
    s.dbDurable = 0;
    s.stagedOnDisk = null;
    this.wipes++;
    if (this.lateAnswerRate === 0) return;
    const held = this.network.holdAnswersOf(s.id, this.lateAnswerRate, this.#latePrng);
    if (held > 0) this.trace.add(this.now, () => `${held} answers of ${s.id} held back`);
  }

  /**
   * The late-answer fault at its worst moment: the new life of `s` just
   * heard from the cluster and is being caught up (it holds less than its
   * previous life acked), and what that life answered before the wipe
   * arrives now, within two heartbeats.
   */
  releaseLate(s: Slot): void {
    const maxLate = 2 * this.baseConfig.heartbeatTicks;
    const late = this.network.releaseLate(s.id, this.now, maxLate, this.#latePrng);
    if (late > 0) {
      this.trace.add(this.now, () => `${late} answers of ${s.id}'s last life on the way`);
    }
  }

  /**
   * With the late-answer fault on, half of its draws are true: half of the
   * wiped replicas reboot at once (an ephemeral volume), half of the
   * partitions make the leader's link to one follower lossy, half of the
   * wipes hit the follower the leader's commits hang on.
   */
  lateAnswerFault(): boolean {
    return this.lateAnswerRate > 0 && this.#latePrng.chance(0.5);
  }

  /** Advances the clock of every running node to now: ticks, timers, fsyncs that completed. */
  tickNodes(): void {
    const due = this.#failures.filter((f) => f.at <= this.now);
    if (due.length > 0) this.#failures = this.#failures.filter((f) => f.at > this.now);
    for (const f of due) {
      if (!f.from.alive) continue;
      this.trace.add(this.now, () => `${f.m.from} hears its ${f.m.type} to ${f.m.to} failed`);
      f.from.driver.unreachable(f.m);
    }
    for (const s of this.slots) if (this.running(s)) s.io!.advance(this.now);
  }

  /** Delivers every message due now. */
  deliver(): void {
    for (const m of this.network.arrivals(this.now)) {
      const s = this.slot(m.to);
      if (s.io === null || !this.network.connected(m.from, m.to)) {
        this.trace.add(this.now, () => `lost ${describeMessage(m)}`);
        // Refused at once by a dead process; a cut link times out.
        this.failCall(
          m.reqId,
          s.io === null && isRequest(m) ? 0 : this.baseConfig.electionTicksMin,
        );
        continue;
      }
      if (s.pausedUntil > this.now) {
        this.network.hold(m, this.now);
        continue;
      }
      this.trace.add(this.now, () => `deliver ${describeMessage(m)}`);
      if (m.type === "requestVoteResponse" && m.voteGranted && !m.preVote) {
        const key = `${m.term}:${m.to}`;
        this.#grants.set(key, (this.#grants.get(key) ?? new Set()).add(m.from));
      }
      if (isRequest(m)) s.io.request(m);
      else {
        this.#calls.delete(m.reqId!);
        s.io.driver.receive(m);
      }
    }
  }

  /** Lets every driver loop the phase before kicked run, then surfaces what failed. */
  async settle(): Promise<void> {
    await null;
    this.throwIfFailed();
  }

  /** Throws the first violation any replica reported. */
  throwIfFailed(): void {
    if (this.#violation) throw this.#violation;
  }

  /** A driver reported a fatal error: the run ends with it as a violation. */
  fatal(s: Slot, err: unknown): void {
    this.#violation ??= toViolation(s, err);
  }

  /** Compares the status of every idle node with what its Readies handed out. */
  check(): void {
    for (const s of this.slots) {
      if (s.io === null) continue;
      const b = s.io.driver.backlog();
      if (b.looping || this.call(s, () => s.io!.node.hasReady())) continue;
      this.#checkStatus(s, b.parked);
    }
  }

  /** Runs a call into the core, turning its failures into violations (NotLeaderError passes). */
  call<T>(s: Slot, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof NotLeaderError) throw err;
      throw toViolation(s, err);
    }
  }

  #checkStatus(s: Slot, parked: number): void {
    const st = this.call(s, () => s.io!.node.status());
    const h = s.hard;
    if (st.term !== h.term || st.votedFor !== h.votedFor || st.recovering !== h.recovering) {
      throw new SimViolation(
        "ready-contract",
        `${s.id} status (${st.term},${st.votedFor},${st.recovering}) but wrote ` +
          `(${h.term},${h.votedFor},${h.recovering})`,
      );
    }
    if (st.role !== s.role || st.leaderId !== s.leaderId) {
      throw new SimViolation(
        "ready-contract",
        `${s.id} is ${st.role} (leader ${st.leaderId}), softState said ${s.role} (${s.leaderId})`,
      );
    }
    if (st.lastIndex !== s.log.length) {
      throw new SimViolation(
        "ready-contract",
        `${s.id} log ${st.lastIndex} but wrote ${s.log.length}`,
      );
    }
    if (st.commitIndex < s.commitIndex) {
      throw new SimViolation("commit-regressed", `${s.id} ${s.commitIndex} -> ${st.commitIndex}`);
    }
    if (st.appliedIndex !== s.appliedIndex || st.appliedIndex > st.commitIndex) {
      throw new SimViolation(
        "applied-beyond-commit",
        `${s.id} applied ${st.appliedIndex} (handed out ${s.appliedIndex}) commit ${st.commitIndex}`,
      );
    }
    if (st.commitIndex > s.commitIndex) {
      this.checker.committedUpTo(s.id, h.term, s.log, s.commitIndex + 1, st.commitIndex);
      if (st.role === "leader") this.#checkDurable(s, s.commitIndex + 1, st.commitIndex);
      s.commitIndex = st.commitIndex;
    }
    this.checker.onePendingChange(s.id, s.log);
    this.#checkMembersTable(s);
    // Parked appends are answered once stepped; everything stepped is answered by now.
    if (s.owed > parked) {
      throw new SimViolation("rpc-contract", `${s.id} left ${s.owed - parked} requests unanswered`);
    }
  }

  /**
   * What a leader commits is on a majority of disks as they are now: synced
   * there, or lost with a wiped disk whose replica may not vote until it is
   * caught up again (and then holds it). The leader counted acks, and an ack
   * from a replica that has since lost the entry and come back as a voter
   * is how an entry ends up committed on the leader alone. Checked at the
   * tick of the commit (wipes happen only between ticks).
   */
  #checkDurable(s: Slot, from: number, to: number): void {
    for (let i = from; i <= to; i++) {
      const e = s.log[i - 1];
      const holders = this.slots.filter((x) => {
        const mine = x.disk.syncedLog()[i - 1];
        return (mine?.term === e.term) || (x.disk.syncedHardState()?.recovering ?? true);
      }).map((x) => x.id);
      // The configuration the leader counted in is the one in force when it
      // committed: the one at i, or a later one it appended since.
      const counted = configsFrom(s.log, i, this.checker.bootstrap);
      const majority = counted.some((members) => {
        const voters = voterIds(members);
        return 2 * voters.filter((v) => holders.includes(v)).length > voters.length;
      });
      if (!majority) {
        throw new SimViolation(
          "commit-not-durable",
          `${s.id} commits (${i},${e.term}) held only by ${holders.join(",")} ` +
            `(configurations ${counted.map(describeMembers).join(" / ")})`,
        );
      }
    }
  }

  /** The applied configuration in the members table is the last one the node applied. */
  #checkMembersTable(s: Slot): void {
    // Only when it moved: reading the table is a query.
    if (this.#membersChecked.get(s) === s.appliedIndex) return;
    this.#membersChecked.set(s, s.appliedIndex);
    const applied = s.log.slice(0, s.appliedIndex).findLast(isConfigEntry);
    const table = s.stateDb.members();
    const want = applied && isConfigEntry(applied) ? describeMembers(applied.config.members) : "";
    const got = table ? describeMembers(table) : "";
    if (want !== got) {
      throw new SimViolation(
        "membership",
        `${s.id} applied ${s.appliedIndex} (configuration "${want}") but its members table holds "${got}"`,
      );
    }
  }

  /** Granted votes of `term` delivered to `id`, by voter. */
  grantsTo(id: string, term: number): ReadonlySet<string> {
    return this.#grants.get(`${term}:${id}`) ?? new Set();
  }
}

/** The configuration in force at `index` of `log`, and every later one in it. */
function configsFrom(log: readonly LogEntry[], index: number, bootstrap: readonly Member[]) {
  const at = log.slice(0, index).findLast(isConfigEntry);
  const later = log.slice(index).filter(isConfigEntry).map((e) => e.config.members);
  return [at && isConfigEntry(at) ? at.config.members : bootstrap, ...later];
}

function toViolation(s: Slot, err: unknown): SimViolation {
  if (err instanceof SimViolation) return err;
  if (err instanceof RaftInvariantError) {
    return new SimViolation("core-invariant", `${s.id}: ${err.message}`);
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return new SimViolation("core-crash", `${s.id}: ${e.stack ?? e.message}`);
}
