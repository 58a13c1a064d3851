/**
 * The driver loop around the pure core: timer ticks in, and for every Ready
 * send what may leave at once, persist (one fsync per batch: group commit),
 * send what had to wait for the fsync, apply, advance (the order is the
 * core's, see `Ready`). It also answers RPCs, holds client proposals until
 * they commit, installs snapshots the transport staged, and compacts the log
 * once the state machine holds enough of it. Storage, transport, state
 * machine and clock are interfaces:
 * the replica plugs in its durable log, HTTP and timers, the simulator its
 * simulated disk, network and time.
 */
import {
  itemKey,
  type LogEntry,
  type ProposalItem,
  type Stroke,
  strokeKey,
} from "../protocol/mod.ts";
import type { RaftNode } from "./raft/node.ts";
import {
  type HardState,
  isRequest,
  type Message,
  type RaftEvent,
  RaftInvariantError,
  type Ready,
  type RequestMessage,
  type ResponseMessage,
  type Role,
  type SnapshotPoint,
} from "./raft/types.ts";
import type { StateDb } from "./state_db.ts";
import { compactionIndex, type CompactionLimits } from "./raft/compaction.ts";

/** Where a Ready's durable state goes (the replica's DurableLog). */
export interface Storage {
  /** Buffers a hard state and entries (truncating the stored log from `entries[0].index`). */
  save(hardState: HardState | null, entries: LogEntry[]): void;
  /**
   * Makes everything saved so far durable (fsync) when `mustSync`. A storage
   * that is durable at once may return nothing: the loop then goes on
   * without yielding, which keeps a simulation free of extra turns.
   */
  sync(mustSync: boolean): Promise<void> | void;
  /**
   * Replaces the stored log by `point` and the entries right after it,
   * durably when it returns (compaction; a snapshot from the leader, with
   * no entries). Called only between Readies, with everything saved synced.
   */
  rewrite(point: SnapshotPoint, tail: LogEntry[]): Promise<void> | void;
}

/** Sends request messages to peers; their answers come back through `Driver.receive`. */
export interface Transport {
  send(m: RequestMessage): void;
}

/**
 * The replicated state machine (the replica's StateDb). `Staged` is a
 * snapshot the transport received whole and verified (a file for the
 * replica), to be installed or discarded.
 */
export interface StateMachine<Staged = unknown> {
  /**
   * Applies committed entries in order; returns them as applied: one whose id (on its board)
   * was committed before comes back as a no-op at its index.
   */
  apply(entries: LogEntry[]): LogEntry[];
  /** Index where the stroke or op (its id on its board) was first committed, if it was. */
  indexOf(stroke: Pick<Stroke, "id" | "board">): number | undefined;
  /** Makes everything applied durable: the log's copy is about to be dropped. */
  makeDurable(): Promise<void> | void;
  /** Replaces the whole state by `staged`, which holds everything up to `point`. */
  install(staged: Staged, point: SnapshotPoint): Promise<void> | void;
  /** Drops a staged snapshot that the core did not take. */
  discard(staged: Staged): void;
}

type StagedOf<S> = S extends StateMachine<infer T> ? T : never;

/**
 * When to compact: once `threshold` applied entries are held past the
 * snapshot point, drop all but the last `retain` of them, or fewer while
 * a leader's recently active followers still need them (see
 * `raft/compaction.ts`).
 */
export type CompactionPolicy = CompactionLimits;

/** A timer's handle, opaque to its user. */
export type TimerId = unknown;

/** Time, in milliseconds, and timers. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerId;
  setInterval(fn: () => void, ms: number): TimerId;
  /** Cancels a timeout or an interval. */
  clear(id: TimerId): void;
}

/** The process's own clock and timers. */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clear: (id) => clearTimeout(id as number),
};

/** Everything the driver talks to. */
export interface DriverIo<S extends StateMachine> {
  storage: Storage;
  transport: Transport;
  stateMachine: S;
  clock: Clock;
  /** A core event, with the role and term it happened in (the replica's log lines). */
  onEvent(role: Role, term: number, e: RaftEvent): void;
  /** The core or the storage failed: what is durable is unknown, the replica must restart. */
  onFatal(e: unknown): void;
  /** Each Ready as it is taken, before any of it is done (the simulator's checks and faults). */
  onReady?(rd: Ready): void;
  /** Absent: the log is never compacted. */
  compaction?: CompactionPolicy;
}

/** The proposal's entry was overwritten or leadership was lost: outcome unknown, retry elsewhere. */
export class ProposalLostError extends Error {}

interface Waiter {
  /** The id and board of the stroke or op. */
  key: Pick<Stroke, "id" | "board">;
  term: number;
  resolve: (index: number) => void;
  reject: (e: Error) => void;
}

type Append = Extract<RequestMessage, { type: "appendEntries" }>;

/** Ticks one timer callback may make up for when the timer ran late. */
const MAX_LATE_TICKS = 3;

/** Longest an append waits for an earlier one that the network delivered out of order. */
const PARK_MS = 30;

/** Runs one replica's core against a storage, a transport, a state machine and a clock. */
export class Driver<S extends StateMachine = StateDb> {
  private looping = false;
  private drained: (() => void)[] = [];
  private timer: TimerId | undefined;
  private nextReqId = 1;
  private readonly answers = new Map<number, (m: ResponseMessage) => void>();
  private readonly waiters = new Map<number, Waiter>();
  private readonly proposedIds = new Map<string, Promise<number>>();
  private parked: Append[] = [];
  private role: Role = "follower";
  /** Snapshots stepped into the core, each until the core installed it or answered without it. */
  private staged: { point: SnapshotPoint; staged: StagedOf<S> }[] = [];
  readonly store: S;

  constructor(readonly node: RaftNode, private readonly io: DriverIo<S>) {
    this.store = io.stateMachine;
  }

  /**
   * Starts the clock: one core tick per `tickMs` of the clock's time, not per timer callback.
   * A 10 ms interval fires every ~10.7 ms on a busy machine, which had stretched the seed's
   * 500-800 ms election timeout to 535-860 ms; late ticks are made up, at most
   * MAX_LATE_TICKS at once, so that a long pause (SIGSTOP) is not replayed as a burst.
   */
  start(tickMs: number): void {
    const { clock } = this.io;
    let due = clock.now() + tickMs;
    this.timer = clock.setInterval(() =>
      this.guard(() => {
        const now = clock.now();
        for (let n = 0; due <= now && n < MAX_LATE_TICKS; n++) {
          this.node.tick();
          due += tickMs;
        }
        if (due <= now) due = now + tickMs;
      }), tickMs);
  }

  /** Stops the clock and waits for the loop to drain. */
  stop(): Promise<void> {
    if (this.timer !== undefined) this.io.clock.clear(this.timer);
    if (!this.looping) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  /** Steps a peer's answer (from the transport). */
  receive(m: Message): void {
    this.guard(() => this.node.step(m));
  }

  /** The transport could not reach a peer. */
  unreachable(req: RequestMessage): void {
    this.guard(() => {
      if (req.type === "appendEntries" || req.type === "installSnapshot") {
        this.node.reportUnreachable(req.to);
      }
    });
  }

  /**
   * Steps a snapshot the transport received whole and verified; resolves
   * with the core's answer once it may leave (after the snapshot is
   * installed, when the core took it). Each is stepped at once, so two may
   * be staged together (a leader's retry arriving beside its first try):
   * the core may take the first and ignore the second, whose answer can
   * leave before the first is installed, so each answer drops only its own.
   */
  installSnapshot(
    req: Extract<RequestMessage, { type: "installSnapshot" }>,
    staged: StagedOf<S>,
  ): Promise<ResponseMessage> {
    const entry = { point: { index: req.snapshotIndex, term: req.snapshotTerm }, staged };
    this.staged.push(entry);
    return new Promise((resolve) =>
      this.request(req, (answer) => {
        // Still staged when the answer leaves: the core did not take it.
        const i = this.staged.indexOf(entry);
        if (i >= 0) {
          this.staged.splice(i, 1);
          // The replica stages every snapshot at one path: keep a file another entry names.
          if (!this.staged.some((e) => e.staged === staged)) this.store.discard(staged);
        }
        resolve(answer);
      })
    );
  }

  /** Steps an incoming RPC; resolves with the answer once it may leave (after persistence). */
  handleRpc(req: RequestMessage): Promise<ResponseMessage> {
    return new Promise((resolve) => this.request(req, resolve));
  }

  /** Steps an incoming RPC; `answer` is called once with its response, when it may leave. */
  request(req: RequestMessage, answer: (m: ResponseMessage) => void): void {
    const reqId = this.nextReqId++;
    this.answers.set(reqId, answer);
    const m = { ...req, reqId };
    this.guard(() => {
      if (m.type === "appendEntries" && this.arrivedEarly(m)) {
        this.parked.push(m);
        this.io.clock.setTimeout(() => this.guard(() => this.unpark(true)), PARK_MS);
      } else {
        this.node.step(m);
        if (m.type === "appendEntries") this.unpark(false);
      }
    });
  }

  /** Proposes strokes (see `proposeItems`). */
  propose(strokes: Stroke[], timeoutMs: number): Promise<number[]> {
    return this.proposeItems(strokes.map((stroke) => ({ stroke })), timeoutMs);
  }

  /**
   * Proposes strokes and board ops, appended in this order, and resolves with the index each
   * one is committed at. An id (on its board) already committed or in flight is not proposed
   * again.
   */
  proposeItems(items: ProposalItem[], timeoutMs: number): Promise<number[]> {
    const fresh: ProposalItem[] = [];
    const results = items.map((item) => {
      const key = itemKey(item);
      const committed = this.store.indexOf(key);
      if (committed !== undefined) return Promise.resolve(committed);
      const inFlight = this.proposedIds.get(strokeKey(key));
      if (inFlight) return inFlight;
      fresh.push(item);
      return null;
    });
    const placed = this.node.propose(fresh);
    const promises = placed.map(({ index, term }, i) => {
      const key = itemKey(fresh[i]);
      const p = new Promise<number>((resolve, reject) =>
        this.waiters.set(index, { key, term, resolve, reject })
      );
      this.proposedIds.set(strokeKey(key), p);
      p.catch(() => {}).finally(() => this.proposedIds.delete(strokeKey(key)));
      return p;
    });
    let k = 0;
    const all = results.map((r) => r ?? promises[k++]);
    this.kick();
    return this.withTimeout(Promise.all(all), timeoutMs);
  }

  /**
   * Hands leadership to `to` (by default the most up-to-date peer) and waits
   * (bounded) until it took over.
   */
  async transferLeadership(waitMs: number, to?: string): Promise<boolean> {
    if (this.node.status().role !== "leader") return true;
    const target = to ?? this.node.bestTransferTarget();
    if (!target) return false;
    this.node.transferLeadership(target);
    this.kick();
    const { clock } = this.io;
    const deadline = clock.now() + waitMs;
    while (clock.now() < deadline && this.node.status().role === "leader") {
      await new Promise((r) => clock.setTimeout(() => r(undefined), 10));
    }
    return this.node.status().role !== "leader";
  }

  /** Runs the loop for work put into the core directly (a test's `node.propose`, an admin call). */
  flush(): void {
    this.kick();
  }

  /** Requests handed to the core and not answered yet, and appends parked until they fit. */
  backlog(): { unanswered: number; parked: number; looping: boolean } {
    return { unanswered: this.answers.size, parked: this.parked.length, looping: this.looping };
  }

  /** Runs an input into the core, then the loop; a failure of the core is fatal. */
  private guard(input: () => void): void {
    try {
      input();
      // The loop is waiting for an fsync: what needs nothing written leaves now.
      if (this.looping) { for (const m of this.node.takeUrgent()) this.deliver(m); }
    } catch (e) {
      return this.io.onFatal(e);
    }
    this.kick();
  }

  /** One loop at a time, started after the current task so that its inputs batch. */
  private kick(): void {
    if (this.looping) return;
    this.looping = true;
    queueMicrotask(() => this.loop());
  }

  private async loop(): Promise<void> {
    try {
      while (this.node.hasReady()) {
        const rd = this.node.ready();
        this.io.onReady?.(rd);
        for (const m of rd.messages) this.deliver(m);
        if (rd.snapshot) await this.installStaged(rd.snapshot);
        this.io.storage.save(rd.hardState, rd.entries);
        const durable = this.io.storage.sync(rd.mustSync);
        if (durable) await durable;
        for (const m of rd.messagesAfterPersist) this.deliver(m);
        this.settle(this.store.apply(rd.committedEntries));
        this.observe(rd);
        this.node.advance(rd);
        await this.maybeCompact();
      }
    } catch (e) {
      this.io.onFatal(e);
    } finally {
      this.looping = false;
      for (const resolve of this.drained.splice(0)) resolve();
    }
  }

  /**
   * The core restored the snapshot that was staged: the stored log becomes
   * its point (first: a crash before the state machine is replaced leaves a
   * log that names a snapshot the state machine lacks, and the staged copy
   * to finish with; see `replica/open_state.ts`), then the state machine.
   */
  private async installStaged(point: SnapshotPoint): Promise<void> {
    const i = this.staged.findLastIndex((e) =>
      e.point.index === point.index && e.point.term === point.term
    );
    if (i < 0) {
      throw new RaftInvariantError(`the core restored snapshot ${point.index} that was not staged`);
    }
    const [staged] = this.staged.splice(i, 1);
    const rewritten = this.io.storage.rewrite(point, []);
    if (rewritten) await rewritten;
    const installed = this.store.install(staged.staged, point);
    if (installed) await installed;
  }

  /**
   * Compaction: once the state machine holds `threshold` applied entries
   * past the snapshot point, it is made durable and the log keeps the last
   * `retain` of them and what followers still need. The state is read again after each wait: a
   * snapshot from the leader may have replaced the log meanwhile.
   */
  private async maybeCompact(): Promise<void> {
    const policy = this.io.compaction;
    if (!policy) return;
    const before = this.node.applyPoints();
    if (before.applied - before.snapshot < policy.threshold) return;
    const followers = Object.values(this.node.status().progress);
    const index = compactionIndex(policy, before, followers);
    if (index === null) return;
    const durable = this.store.makeDurable();
    if (durable) await durable;
    const now = this.node.applyPoints();
    if (now.snapshot !== before.snapshot || now.applied < index) return;
    const point = this.node.compact(index);
    const tail = this.node.stableTail();
    const rewritten = this.io.storage.rewrite(point, tail);
    if (rewritten) await rewritten;
    this.io.onEvent(this.role, this.node.status().term, {
      event: "log_compacted",
      index: point.index,
      kept: tail.length,
    });
  }

  private deliver(m: Message): void {
    if (isRequest(m)) return this.io.transport.send(m);
    const answer = m.reqId === undefined ? undefined : this.answers.get(m.reqId);
    if (!answer) throw new RaftInvariantError(`answer to no pending request: ${m.type} to ${m.to}`);
    this.answers.delete(m.reqId!);
    answer(m);
  }

  private settle(applied: LogEntry[]): void {
    for (const e of applied) {
      const w = this.waiters.get(e.index);
      if (!w) continue;
      this.waiters.delete(e.index);
      // Filed here, or a no-op here because the id was committed before: then that index.
      if (e.term === w.term) w.resolve("noop" in e ? this.store.indexOf(w.key)! : e.index);
      else w.reject(new ProposalLostError(`entry ${e.index} was replaced by term ${e.term}`));
    }
  }

  private observe(rd: Ready): void {
    const term = this.node.status().term;
    for (const e of rd.events) this.io.onEvent(rd.softState.role, term, e);
    if (this.role === "leader" && rd.softState.role !== "leader") {
      // Entries we proposed may still commit under the next leader; the client
      // retries with the same ids and the id check makes that safe.
      for (const w of this.waiters.values()) w.reject(new ProposalLostError("leadership lost"));
      this.waiters.clear();
    }
    this.role = rd.softState.role;
  }

  private arrivedEarly(m: Append): boolean {
    const st = this.node.status();
    return m.term === st.term && m.prevLogIndex > st.lastIndex && this.parked.length < 64;
  }

  /** Steps parked appends that now fit (or all of them when their wait is over). */
  private unpark(expired: boolean): void {
    while (this.parked.length > 0) {
      const last = this.node.status().lastIndex;
      this.parked.sort((a, b) => a.prevLogIndex - b.prevLogIndex);
      const next = this.parked[0];
      if (!expired && next.prevLogIndex > last) return;
      this.parked.shift();
      this.node.step(next);
    }
  }

  private withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
    const { clock } = this.io;
    let timer: TimerId;
    const timeout = new Promise<never>((_, reject) => {
      timer = clock.setTimeout(
        () => reject(new ProposalLostError(`not committed within ${ms} ms`)),
        ms,
      );
    });
    return Promise.race([p, timeout]).finally(() => clock.clear(timer));
  }
}
