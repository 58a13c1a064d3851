/**
 * The simulated cluster: nodes, their disks and the network, driven one tick
 * at a time. Every Ready is processed exactly as the contract orders
 * (persist, send, apply, advance) and checked on the way.
 */
import type { RaftNode } from "../../replica/raft/node.ts";
import {
  type HardState,
  type LogEntry,
  type Message,
  NotLeaderError,
  type RaftConfig,
  RaftInvariantError,
  type Ready,
  type RequestType,
  type RestoredState,
  type Role,
} from "../../replica/raft/types.ts";
import { Checker, payloadKey } from "./checker.ts";
import { SimDisk, writeEntries } from "./disk.ts";
import type { SimNetwork } from "./network.ts";
import { deriveSeed, Prng } from "./prng.ts";
import { describeEvent, describeMessage, type Trace } from "./trace.ts";
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
  /** null while crashed. */
  node: RaftNode | null;
  readonly disk: SimDisk;
  /** The log as the node has written it (what it would read back from its page cache). */
  log: LogEntry[];
  hard: HardState;
  role: Role;
  leaderId: string | null;
  incarnation: number;
  commitIndex: number;
  appliedIndex: number;
  pausedUntil: number;
  /** Requests stepped into the node, by "from|reqId", still owed a response. */
  owed: Map<string, number>;
}

const requestTypes = new Set<string>(
  ["requestVote", "appendEntries", "heartbeat", "timeoutNow", "probe"] satisfies RequestType[],
);

const freshHardState: HardState = { term: 0, votedFor: "", recovering: true };

/** Hooks of the world for the fault injector and clients. */
export interface WorldHooks {
  onApplied(slot: Slot, e: LogEntry): void;
  onLeader(slot: Slot): void;
  onCrash(slot: Slot): void;
  /** True to crash the node after it persisted `rd` but before any of its messages left. */
  crashBeforeSend(slot: Slot, rd: Ready): boolean;
}

/** Nodes, disks, network and the global checker of one run. */
export class World {
  readonly slots: Slot[];
  readonly checker = new Checker();
  readonly prng: Prng;
  now = 0;
  crashes = 0;
  wipes = 0;
  #nextReqId = 1;
  hooks: WorldHooks = {
    onApplied() {},
    onLeader() {},
    onCrash() {},
    crashBeforeSend: () => false,
  };

  constructor(
    readonly seed: number,
    readonly nodeCount: number,
    readonly baseConfig: Omit<RaftConfig, "id" | "peers" | "random">,
    readonly network: SimNetwork,
    readonly trace: Trace,
    readonly factory: NodeFactory,
  ) {
    this.prng = new Prng(deriveSeed(seed, "world"));
    this.slots = Array.from({ length: nodeCount }, (_, i) => ({
      id: `n${i + 1}`,
      node: null,
      disk: new SimDisk(),
      log: [],
      hard: { ...freshHardState },
      role: "follower" as Role,
      leaderId: null,
      incarnation: 0,
      commitIndex: 0,
      appliedIndex: 0,
      pausedUntil: 0,
      owed: new Map(),
    }));
  }

  /** Looks a node up by id. */
  slot(id: string): Slot {
    const s = this.slots.find((x) => x.id === id);
    if (!s) throw new SimViolation("ready-contract", `message to unknown node ${id}`);
    return s;
  }

  /** Up and not paused. */
  running(s: Slot): boolean {
    return s.node !== null && s.pausedUntil <= this.now;
  }

  /** Starts (or restarts) a node from what its disk holds. */
  start(s: Slot): void {
    const restored = s.disk.restored();
    s.incarnation++;
    const config: RaftConfig = {
      ...this.baseConfig,
      id: s.id,
      peers: this.slots.filter((x) => x !== s).map((x) => x.id),
      random: new Prng(deriveSeed(this.seed, s.id, s.incarnation)).float,
    };
    s.log = restored ? restored.entries.slice() : [];
    s.hard = restored ? { ...restored.hardState } : { ...freshHardState };
    s.role = "follower";
    s.leaderId = null;
    s.commitIndex = 0;
    s.appliedIndex = 0;
    s.pausedUntil = 0;
    s.owed.clear();
    const line = `${s.id} starts (#${s.incarnation}) log=${s.log.length} term=${s.hard.term}`;
    this.trace.add(this.now, () => line);
    s.node = this.call(s, () => this.factory(config, restored));
    this.drain(s);
  }

  /** Power loss: the process dies and unsynced writes may be lost. */
  crash(s: Slot, wipe = false, when = ""): void {
    const lost = s.disk.crash(this.prng);
    this.crashes++;
    if (wipe) this.wipe(s);
    s.node = null;
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

  /** The node's disk is replaced by an empty one (it may be up or down). */
  wipe(s: Slot): void {
    s.disk.wipe();
    this.wipes++;
  }

  /** Advances the clock of every running node by one tick. */
  tickNodes(): void {
    for (const s of this.slots) {
      if (!this.running(s)) continue;
      this.call(s, () => s.node!.tick());
      this.drain(s);
    }
  }

  /** Delivers every message due now. */
  deliver(): void {
    for (const m of this.network.arrivals(this.now)) {
      const s = this.slot(m.to);
      if (s.node === null || !this.network.connected(m.from, m.to)) {
        this.trace.add(this.now, () => `lost ${describeMessage(m)}`);
        continue;
      }
      if (s.pausedUntil > this.now) {
        this.network.hold(m, this.now);
        continue;
      }
      this.trace.add(this.now, () => `deliver ${describeMessage(m)}`);
      if (requestTypes.has(m.type)) {
        const key = `${m.from}|${m.reqId}`;
        s.owed.set(key, (s.owed.get(key) ?? 0) + 1);
      }
      this.call(s, () => s.node!.step(m));
      this.drain(s);
    }
  }

  /** Processes Readies until the node has none, then compares its status with what it handed out. */
  drain(s: Slot): void {
    const node = s.node!;
    for (let rounds = 0; this.call(s, () => node.hasReady()); rounds++) {
      if (rounds > 100) {
        throw new SimViolation("ready-contract", `${s.id} never runs out of Readies`);
      }
      const rd = this.call(s, () => node.ready());
      this.#persist(s, rd);
      if (this.hooks.crashBeforeSend(s, rd)) {
        return this.crash(s, false, " before sending its Ready");
      }
      this.#process(s, rd);
      this.call(s, () => node.advance(rd));
    }
    this.#checkStatus(s);
  }

  /** Runs a call into the core, turning its failures into violations (NotLeaderError passes). */
  call<T>(s: Slot, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof SimViolation || err instanceof NotLeaderError) throw err;
      if (err instanceof RaftInvariantError) {
        throw new SimViolation("core-invariant", `${s.id}: ${err.message}`);
      }
      const e = err instanceof Error ? err : new Error(String(err));
      throw new SimViolation("core-crash", `${s.id}: ${e.stack ?? e.message}`);
    }
  }

  /** Steps 2 and 3 of the contract, after `#persist`. */
  #process(s: Slot, rd: Ready): void {
    const wasLeader = s.role === "leader";
    s.role = rd.softState.role;
    s.leaderId = rd.softState.leaderId;
    for (const ev of rd.events) this.trace.add(this.now, () => `${s.id} ${describeEvent(ev)}`);
    if (s.role === "leader" && !wasLeader) {
      const line = `${s.id} becomes leader of term ${s.hard.term}`;
      this.trace.add(this.now, () => line);
      this.checker.leaderElected(s.id, s.hard.term, s.log);
      this.hooks.onLeader(s);
    }
    for (const m of rd.messages) this.#send(s, m);
    for (const e of rd.committedEntries) {
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
      this.checker.applied(s.id, s.hard.term, e);
      s.appliedIndex = e.index;
      this.hooks.onApplied(s, e);
    }
  }

  /** Step 1 of the contract: durable state first. */
  #persist(s: Slot, rd: Ready): void {
    const hs = rd.hardState;
    if (hs) {
      if (hs.term < s.hard.term) {
        throw new SimViolation("term-regressed", `${s.id} term ${s.hard.term} -> ${hs.term}`);
      }
      if (hs.term === s.hard.term && s.hard.votedFor !== "" && hs.votedFor !== s.hard.votedFor) {
        throw new SimViolation(
          "election-safety",
          `${s.id} changes its vote in term ${hs.term}: ${s.hard.votedFor} -> ${
            hs.votedFor || '""'
          }`,
        );
      }
    }
    const voteChanged = hs !== null && (hs.term !== s.hard.term || hs.votedFor !== s.hard.votedFor);
    if ((voteChanged || rd.entries.length > 0) && !rd.mustSync) {
      throw new SimViolation(
        "ready-contract",
        `${s.id} Ready changes term, vote or log without mustSync`,
      );
    }
    if (rd.entries.length > 0) {
      const first = rd.entries[0].index;
      for (let i = first; i <= s.commitIndex && i - first < rd.entries.length; i++) {
        if (
          payloadKey(rd.entries[i - first]) !== payloadKey(s.log[i - 1]) ||
          rd.entries[i - first].term !== s.log[i - 1].term
        ) {
          throw new SimViolation("ready-contract", `${s.id} overwrites committed index ${i}`);
        }
      }
    }
    s.disk.write(hs, rd.entries, rd.mustSync);
    writeEntries(s.log, rd.entries);
    if (hs) s.hard = { ...hs };
    this.checker.entriesWritten(s.id, s.log, rd.entries);
    if (rd.entries.length > 0) {
      const [a, b] = [rd.entries[0], rd.entries[rd.entries.length - 1]];
      this.trace.add(this.now, () => `${s.id} writes ${a.index}..${b.index} term ${b.term}`);
    }
  }

  /** Step 2: messages leave only after their Ready was persisted. */
  #send(s: Slot, m: Message): void {
    if (m.from !== s.id) throw new SimViolation("ready-contract", `${s.id} sends as ${m.from}`);
    if (requestTypes.has(m.type)) {
      m.reqId = this.#nextReqId++;
    } else {
      const key = `${m.to}|${m.reqId}`;
      const owed = s.owed.get(key) ?? 0;
      if (owed === 0) {
        throw new SimViolation(
          "rpc-contract",
          `${s.id} answers unknown request: ${describeMessage(m)}`,
        );
      }
      if (owed === 1) s.owed.delete(key);
      else s.owed.set(key, owed - 1);
    }
    this.network.send(m, this.now);
  }

  #checkStatus(s: Slot): void {
    const st = this.call(s, () => s.node!.status());
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
      s.commitIndex = st.commitIndex;
    }
    if (s.owed.size > 0) {
      const [key] = s.owed.keys();
      throw new SimViolation("rpc-contract", `${s.id} left request ${key} unanswered`);
    }
  }
}
