/**
 * The state of one node and what it hands out: hard and soft state, the
 * outbox of messages and events, and the Ready/advance handshake with the
 * driver (which messages may leave before the fsync is decided here). The
 * rules of Raft that move this state live in `RaftNode` (node.ts).
 */
import { RaftLog } from "./log.ts";
import type { Leadership } from "./leader.ts";
import type { Member } from "./membership.ts";
import {
  type EntryPayload,
  type HardState,
  INDEX_LIMIT,
  isRequest,
  type LogEntry,
  type Message,
  type NodeConfig,
  type NodeStatus,
  type OutgoingMessage,
  type RaftConfig,
  type RaftEvent,
  RaftInvariantError,
  type Ready,
  type RestoredState,
  type Role,
  type SnapshotPoint,
} from "./types.ts";

type DistOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type Msg<T extends Message["type"]> = Extract<Message, { type: T }>;

const DEFAULTS = {
  maxEntriesPerAppend: 1024,
  maxEntriesPerSync: 8192,
  maxInflight: 8,
  syncThreshold: 2048,
  join: false,
  diskId: "",
};

/** A node's state and its outputs; `RaftNode` adds the protocol. */
export abstract class NodeState {
  readonly id: string;
  protected readonly cfg: NodeConfig;
  protected readonly log: RaftLog;
  protected term: number;
  protected votedFor: string;
  protected recovering: boolean;
  protected persisted: HardState;
  protected role: Role = "follower";
  protected leaderId: string | null = null;
  protected now = 0;
  protected electionElapsed = 0;
  protected electionTimeout = 0;
  protected votes = new Map<string, boolean>();
  /** Present exactly while this node leads. */
  protected leader: Leadership | null = null;
  /** Follower: last index verified to match the current leader in this term. */
  protected verifiedIndex = 0;
  /** Drawn per start and echoed in answers: a leader sees a restart and resets its view. */
  protected readonly incarnation: number;
  /** A snapshot from the leader, restored into the log, that the next Ready hands out. */
  protected pendingSnapshot: SnapshotPoint | null = null;
  protected msgs: Message[] = [];
  protected events: RaftEvent[] = [];
  protected readyOut = false;
  /** Role and leader as last handed out in a Ready (etcd's prevSoftSt). */
  protected reportedRole: Role = "follower";
  protected reportedLeader: string | null = null;

  constructor(config: RaftConfig, restored?: RestoredState) {
    this.cfg = { ...DEFAULTS, ...config };
    checkConfig(this.cfg);
    this.id = config.id;
    const hs = restored?.hardState ?? { term: 0, votedFor: "", recovering: true };
    this.term = hs.term;
    this.votedFor = hs.votedFor;
    this.recovering = hs.recovering;
    this.incarnation = Math.floor(config.random() * 2 ** 31);
    this.persisted = { ...hs };
    this.log = new RaftLog(restored?.entries ?? [], restored?.snapshot, bootstrapMembers(this.cfg));
    this.log.restoreApplied(restored?.applied ?? 0);
    this.resetElectionTimeout();
  }

  // ---- outputs ------------------------------------------------------------

  /** True when `ready()` has work for the driver. */
  hasReady(): boolean {
    return this.msgs.length > 0 || this.events.length > 0 || this.pendingSnapshot !== null ||
      this.role !== this.reportedRole || this.leaderId !== this.reportedLeader ||
      this.log.stabled < this.log.lastIndex() || this.log.applied < this.log.committed ||
      !sameHardState(this.hardState(), this.persisted) ||
      (this.leader?.wantsSend() ?? false);
  }

  /** Collects the work to do; call `advance` with it when done. */
  ready(): Ready {
    if (this.readyOut) throw new RaftInvariantError("ready() called again before advance()");
    this.leader?.replicateAll();
    const hs = this.hardState();
    const hardState = sameHardState(hs, this.persisted) ? null : hs;
    const entries = this.log.unstable();
    const messages: Message[] = [];
    const messagesAfterPersist: Message[] = [];
    for (const m of this.msgs) {
      (this.mayLeaveBeforePersist(m) ? messages : messagesAfterPersist).push(m);
    }
    const snapshot = this.pendingSnapshot;
    const rd: Ready = {
      hardState,
      snapshot,
      entries,
      mustSync: hardState !== null || entries.length > 0 || snapshot !== null,
      messages,
      messagesAfterPersist,
      committedEntries: this.log.toApply(),
      softState: { role: this.role, leaderId: this.leaderId },
      events: this.events,
    };
    this.msgs = [];
    this.events = [];
    this.pendingSnapshot = null;
    this.readyOut = true;
    this.reportedRole = this.role;
    this.reportedLeader = this.leaderId;
    return rd;
  }

  /**
   * Messages that may leave while an earlier Ready is still being persisted,
   * so that a slow disk never silences a healthy node (a leader whose
   * heartbeats wait behind its fsync loses its followers; a follower whose
   * heartbeat answers wait loses its leader its quorum): heartbeats, and
   * answers that promise nothing the disk does not hold yet, because their
   * term is durable and they grant nothing (a refusal, a heartbeat answer, a
   * probe answer). Everything else waits for the next Ready.
   */
  takeUrgent(): Message[] {
    if (!this.msgs.some((m) => this.isUrgent(m))) return [];
    const urgent = this.msgs.filter((m) => this.isUrgent(m));
    this.msgs = this.msgs.filter((m) => !this.isUrgent(m));
    return urgent;
  }

  protected isUrgent(m: Message): boolean {
    if (m.term > this.persisted.term) return false;
    switch (m.type) {
      case "heartbeat":
      case "heartbeatResponse":
      case "probeResponse":
        return true;
      case "requestVoteResponse":
        return !m.voteGranted;
      case "appendEntriesResponse":
      case "installSnapshotResponse":
      case "timeoutNowResponse":
        return !m.success;
      default:
        return false;
    }
  }

  /** Tells the node the driver persisted, sent and applied `rd`. */
  advance(rd: Ready): void {
    this.readyOut = false;
    if (rd.hardState) this.persisted = { ...rd.hardState };
    const last = rd.entries.at(-1);
    if (last) this.log.stableTo(last.index, last.term);
    const applied = rd.committedEntries.at(-1);
    if (applied) this.log.appliedTo(applied.index);
    if (rd.snapshot && rd.snapshot.index > this.log.applied) this.log.appliedTo(rd.snapshot.index);
    this.leader?.maybeCommit();
  }

  /** Applied index and snapshot point, read after every Ready (status() builds much more). */
  applyPoints(): { applied: number; snapshot: number } {
    return { applied: this.log.applied, snapshot: this.log.snapshotIndex };
  }

  /** The configuration in force (the latest in the log). */
  members(): Member[] {
    return this.log.config().members;
  }

  /** True when `id` votes in the configuration in force. */
  isVoter(id: string): boolean {
    return this.members().some((m) => m.id === id && m.voter);
  }

  /** True when `id` is in the configuration in force, voter or learner. */
  protected isMember(id: string): boolean {
    return this.members().some((m) => m.id === id);
  }

  /** Every other member, voter or learner: whom a leader replicates to. */
  protected others(): string[] {
    return this.members().filter((m) => m.id !== this.id).map((m) => m.id);
  }

  /** Voter ids, this node's included if it votes. */
  protected voters(): string[] {
    return this.members().filter((m) => m.voter).map((m) => m.id);
  }

  /** A read-only picture of the node. */
  status(): NodeStatus {
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      votedFor: this.votedFor,
      leaderId: this.leaderId,
      commitIndex: this.log.committed,
      appliedIndex: this.log.applied,
      lastIndex: this.log.lastIndex(),
      snapshotIndex: this.log.snapshotIndex,
      recovering: this.recovering,
      transferringTo: this.leader?.transferTarget ?? null,
      progress: this.leader?.view() ?? {},
      members: this.members().map((m) => ({ ...m })),
      configIndex: this.log.config().index,
      voter: this.isVoter(this.id),
    };
  }

  /**
   * Which messages may leave before the Ready that carries them is durable
   * (see `Ready`). A request promises nothing about this node's disk, as long
   * as its term is already durable; a pre-vote's term is adopted by nobody.
   * Answers always wait: a vote or an ack promises what is being persisted.
   */
  protected mayLeaveBeforePersist(m: Message): boolean {
    if (!isRequest(m)) return false;
    return m.term <= this.persisted.term || (m.type === "requestVote" && m.preVote);
  }

  // ---- answers -------------------------------------------------------------------

  /** A request from an older term, a stranger, or before the term is learnt: refuse it, telling our term. */
  protected answerStale(m: Message, reason = "stale_term"): void {
    switch (m.type) {
      case "requestVote":
        return this.answerVote(m, false, reason);
      case "appendEntries":
        return this.answerAppend(m, false, 0, 0, 0);
      case "heartbeat":
        return this.answerHeartbeat(m, false);
      case "timeoutNow":
        return this.reply(m, { type: "timeoutNowResponse", success: false });
      case "installSnapshot":
        return this.answerSnapshot(m, false, 0);
    }
  }

  /** A message that contradicts what this node knows (see `guard.ts`): refused, nothing changes. */
  protected refuse(m: Message, reason: string): void {
    this.emit("message_refused", { from: m.from, type: m.type, term: m.term, reason });
    this.answerStale(m, reason);
  }

  protected answerVote(m: Msg<"requestVote">, granted: boolean, reason: string): void {
    if (!m.preVote) {
      this.emit(
        granted ? "vote_granted" : "vote_denied",
        granted ? { for: m.from } : { for: m.from, reason },
      );
    }
    // A granted pre-vote carries the candidate's future term, as in etcd.
    const term = granted && m.preVote ? m.term : this.term;
    this.reply(m, { type: "requestVoteResponse", voteGranted: granted, preVote: m.preVote }, term);
  }

  protected answerAppend(
    m: Msg<"appendEntries">,
    success: boolean,
    matchIndex: number,
    hintIndex: number,
    hintTerm: number,
  ): void {
    this.reply(m, {
      type: "appendEntriesResponse",
      success,
      matchIndex,
      logLength: this.log.lastIndex(),
      rejectIndex: success ? 0 : m.prevLogIndex,
      hintIndex,
      hintTerm,
      bulk: m.bulk,
      incarnation: this.incarnation,
      epoch: m.epoch ?? 0,
      ...this.diskOfAnswer(),
    });
  }

  protected answerSnapshot(m: Msg<"installSnapshot">, success: boolean, matchIndex: number): void {
    this.reply(m, {
      type: "installSnapshotResponse",
      success,
      matchIndex,
      logLength: this.log.lastIndex(),
      incarnation: this.incarnation,
      epoch: m.epoch ?? 0,
    });
  }

  protected answerHeartbeat(m: Msg<"heartbeat">, success: boolean): void {
    this.reply(m, {
      type: "heartbeatResponse",
      success,
      logLength: this.log.lastIndex(),
      commitIndex: this.log.committed,
      incarnation: this.incarnation,
      epoch: m.epoch ?? 0,
      ...this.diskOfAnswer(),
    });
  }

  // ---- helpers -------------------------------------------------------------------

  /** What answers say of this node's disk (see recovery.ts). */
  protected diskOfAnswer(): { disk?: string; fresh: boolean } {
    return this.cfg.diskId ? { disk: this.cfg.diskId, fresh: this.recovering } : {
      fresh: this.recovering,
    };
  }

  /** Appends payloads to the log at this term. */
  protected appendLocal(payloads: EntryPayload[]): LogEntry[] {
    const first = this.log.lastIndex() + 1;
    const entries = payloads.map((p, i) =>
      ({ ...p, index: first + i, term: this.term }) as LogEntry
    );
    this.log.append(entries);
    return entries;
  }

  protected isEmpty(): boolean {
    return this.term === 0 && this.votedFor === "" && this.log.lastIndex() === 0;
  }

  protected hardState(): HardState {
    return { term: this.term, votedFor: this.votedFor, recovering: this.recovering };
  }

  protected resetElectionTimeout(): void {
    const { electionTicksMin: min, electionTicksMax: max, random } = this.cfg;
    this.electionTimeout = min + Math.floor(random() * (max - min + 1));
  }

  protected send(m: OutgoingMessage, term = this.term): void {
    this.msgs.push({ ...m, from: this.id, term } as Message);
  }

  protected reply(
    req: Message,
    m: DistOmit<Message, "from" | "term" | "to">,
    term = this.term,
  ): void {
    this.msgs.push({ ...m, to: req.from, from: this.id, term, reqId: req.reqId } as Message);
  }

  protected emit(event: string, fields: Record<string, string | number | boolean>): void {
    this.events.push({ event, ...fields });
  }
  protected setTerm(term: number): void {
    if (term <= this.term) {
      throw new RaftInvariantError(`term going back from ${this.term} to ${term}`);
    }
    // Refused at the door (step, campaign): no decoder would accept it from us.
    if (term >= INDEX_LIMIT) throw new RaftInvariantError(`term ${term} beyond 2^48`);
    this.term = term;
    this.votedFor = "";
    this.verifiedIndex = 0;
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.votedFor === b.votedFor && a.recovering === b.recovering;
}

/** The members before the log holds a configuration: this node (unless it joins) and its peers. */
function bootstrapMembers(c: NodeConfig): Member[] {
  if (c.members) return c.members;
  const ids = c.join ? c.peers : [c.id, ...c.peers];
  return ids.map((id) => ({ id, url: id, voter: true }));
}

function checkConfig(c: NodeConfig): void {
  const ints = [c.electionTicksMin, c.electionTicksMax, c.heartbeatTicks, c.maxInflight];
  if (!ints.every((n) => Number.isSafeInteger(n) && n >= 1)) {
    throw new Error("raft config: tick counts and maxInflight must be positive integers");
  }
  if (c.electionTicksMax < c.electionTicksMin) {
    throw new Error("raft config: electionTicksMax must be >= electionTicksMin");
  }
  if (c.heartbeatTicks >= c.electionTicksMin) {
    throw new Error("raft config: heartbeatTicks must be below electionTicksMin");
  }
  if (c.peers.includes(c.id) || new Set(c.peers).size !== c.peers.length) {
    throw new Error("raft config: peers must be distinct and exclude the node itself");
  }
}
