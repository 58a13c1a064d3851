/**
 * The Raft state machine of one replica, pure and deterministic in the
 * manner of etcd-io/raft: time is `tick()`, input is `step()`/`propose()`,
 * output is the `Ready` the driver collects. See `Ready` for the order in
 * which the driver must act on it.
 *
 * Disk loss. The seed restarts replicas with an empty log. A replica that
 * forgot its vote could vote twice in one term, and one that forgot its log
 * could vote for a candidate lacking committed entries (its empty log makes
 * every candidate look up to date); a replica that forgot its term can be
 * reached first by a stale leader (one that just woke from a pause) and its
 * acks would let that leader commit over entries a later term committed
 * (found by the simulator, seed 50). Each of these loses acknowledged
 * strokes. So a replica that starts from an empty disk is `recovering`:
 *  1. It first learns the cluster's term: it probes every peer and waits,
 *     answering nothing else, until all of them answered after this start.
 *     Every majority it ever voted or acked in shared a member with that
 *     answer set (it is everyone else), and terms never go back, so the
 *     highest term T among the answers is at least any term it acted in. It
 *     adopts T with its vote of T counted as used (`VOTE_FORGOTTEN`), and
 *     from then on refuses anything of an older term. (With n - majority + 1
 *     answers a 5-replica cluster would still have a race with a vote that
 *     was in flight when the disk was lost; all peers closes it.)
 *  2. It then replicates (its acks are durable, so they count towards
 *     commit) but neither votes nor campaigns until a leader of its term or
 *     later has caught it up: its log matches the leader's through an entry
 *     of the leader's term and reaches the leader's commit index.
 * If every peer answers that it has no term, vote or log either, nothing can
 * have been committed unless a majority lost its disks, which no protocol
 * survives: the cluster is new and the replica votes at once (bootstrap).
 * Learning the leader of a term also counts as the vote of that term.
 * This is the thesis' "rejoin as a new member" idea without a membership
 * change. The price: a wiped replica rejoins only once all peers answer.
 */
import { RaftLog } from "./log.ts";
import { type LeaderContext, Leadership } from "./leader.ts";
import {
  type EntryPayload,
  type HardState,
  isRequest,
  type LogEntry,
  type Message,
  type NodeStatus,
  NotLeaderError,
  type OutgoingMessage,
  type RaftConfig,
  type RaftEvent,
  RaftInvariantError,
  type Ready,
  type RestoredState,
  type Role,
} from "./types.ts";

type Msg<T extends Message["type"]> = Extract<Message, { type: T }>;
type DistOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** The vote of a term a wiped replica may have voted in before it lost its disk. */
export const VOTE_FORGOTTEN = "?";

const DEFAULTS = {
  maxEntriesPerAppend: 1024,
  maxEntriesPerSync: 8192,
  maxInflight: 8,
  syncThreshold: 2048,
};

/** One Raft replica as a pure state machine. */
export class RaftNode {
  readonly id: string;
  private readonly peers: readonly string[];
  private readonly cfg: Required<RaftConfig>;
  protected readonly log: RaftLog;
  private term: number;
  private votedFor: string;
  private recovering: boolean;
  private persisted: HardState;
  private role: Role = "follower";
  private leaderId: string | null = null;
  private now = 0;
  private electionElapsed = 0;
  private electionTimeout = 0;
  private votes = new Map<string, boolean>();
  /** Present exactly while this node leads. */
  private leader: Leadership | null = null;
  /** Follower: last index verified to match the current leader in this term. */
  private verifiedIndex = 0;
  /** Recovering: the cluster's term was learnt from every peer (see disk loss above). */
  private fenced: boolean;
  private probeNonce = -1;
  private probeAnswers = new Map<string, { term: number; empty: boolean }>();
  /** Drawn per start and echoed in answers: a leader sees a restart and resets its view. */
  private readonly incarnation: number;
  private msgs: Message[] = [];
  private events: RaftEvent[] = [];
  private readyOut = false;
  /** Role and leader as last handed out in a Ready (etcd's prevSoftSt). */
  private reportedRole: Role = "follower";
  private reportedLeader: string | null = null;

  constructor(config: RaftConfig, restored?: RestoredState) {
    this.cfg = { ...DEFAULTS, ...config };
    checkConfig(this.cfg);
    this.id = config.id;
    this.peers = [...config.peers];
    const hs = restored?.hardState ?? { term: 0, votedFor: "", recovering: true };
    this.term = hs.term;
    this.votedFor = hs.votedFor;
    this.recovering = hs.recovering;
    this.fenced = !hs.recovering;
    this.incarnation = Math.floor(config.random() * 2 ** 31);
    this.persisted = { ...hs };
    this.log = new RaftLog(restored?.entries ?? []);
    this.resetElectionTimeout();
  }

  // ---- inputs -------------------------------------------------------------

  /** Advances logical time by one tick. */
  tick(): void {
    this.now++;
    if (this.leader) {
      if (!this.leader.tick()) {
        this.emit("stepped_down", { reason: "lost_quorum" });
        this.becomeFollower(this.term, null);
      }
      return;
    }
    this.electionElapsed++;
    if (this.recovering) {
      if (!this.fenced && this.electionElapsed >= this.cfg.heartbeatTicks) {
        this.electionElapsed = 0;
        this.sendProbes();
      }
      return;
    }
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      this.startPreVote();
    }
  }

  /** Feeds one message from a peer. Every request is answered exactly once. */
  step(m: Message): void {
    if (m.to !== this.id) {
      throw new RaftInvariantError(`message for ${m.to} stepped into ${this.id}`);
    }
    if (m.type === "probe") {
      return this.reply(m, { type: "probeResponse", empty: this.isEmpty(), nonce: m.nonce });
    }
    if (m.type === "probeResponse") return this.onProbeResponse(m);
    if (!this.fenced) return this.answerStale(m, "learning_term");
    if (m.term > this.term) {
      if (m.type === "requestVote") {
        if (!m.transfer && this.inLease()) return this.answerVote(m, false, "leader_alive");
        if (!m.preVote) this.becomeFollower(m.term, null);
      } else if (!(m.type === "requestVoteResponse" && m.preVote && m.voteGranted)) {
        const fromLeader = m.type === "appendEntries" || m.type === "heartbeat" ||
          m.type === "timeoutNow";
        this.becomeFollower(m.term, fromLeader ? m.from : null);
      }
    } else if (m.term < this.term) {
      return this.answerStale(m);
    }
    this.dispatch(m);
  }

  /** Appends client payloads; returns where each landed. Throws NotLeaderError elsewhere. */
  propose(payloads: EntryPayload[]): { index: number; term: number }[] {
    if (!this.leader) throw new NotLeaderError(this.leaderId);
    if (this.leader.transferTarget !== null) throw new NotLeaderError(this.leader.transferTarget);
    return this.appendLocal(payloads).map((e) => ({ index: e.index, term: e.term }));
  }

  /** Hands leadership to `to`: catch it up, then tell it to campaign at once. */
  transferLeadership(to: string): void {
    if (!this.leader) throw new NotLeaderError(this.leaderId);
    this.leader.transfer(to);
  }

  /** The most up-to-date follower, the natural target of a transfer (null unless leading). */
  bestTransferTarget(): string | null {
    return this.leader?.bestFollower() ?? null;
  }

  /**
   * The transport could not deliver to `peer`. Stop pipelining to it and wait
   * for a heartbeat answer before probing again (no busy loop on a dead peer).
   */
  reportUnreachable(peer: string): void {
    this.leader?.unreachable(peer);
  }

  // ---- outputs ------------------------------------------------------------

  /** True when `ready()` has work for the driver. */
  hasReady(): boolean {
    return this.msgs.length > 0 || this.events.length > 0 ||
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
    const rd: Ready = {
      hardState,
      entries,
      mustSync: hardState !== null || entries.length > 0,
      messages,
      messagesAfterPersist,
      committedEntries: this.log.toApply(),
      softState: { role: this.role, leaderId: this.leaderId },
      events: this.events,
    };
    this.msgs = [];
    this.events = [];
    this.readyOut = true;
    this.reportedRole = this.role;
    this.reportedLeader = this.leaderId;
    return rd;
  }

  /** Tells the node the driver persisted, sent and applied `rd`. */
  advance(rd: Ready): void {
    this.readyOut = false;
    if (rd.hardState) this.persisted = { ...rd.hardState };
    const last = rd.entries.at(-1);
    if (last) this.log.stableTo(last.index, last.term);
    const applied = rd.committedEntries.at(-1);
    if (applied) this.log.appliedTo(applied.index);
    this.leader?.maybeCommit();
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
      recovering: this.recovering,
      transferringTo: this.leader?.transferTarget ?? null,
      progress: this.leader?.view() ?? {},
    };
  }

  // ---- rules that mutation tests override ----------------------------------

  /** Raft 5.4.1: grant a vote only to a candidate whose log is at least as up to date. */
  protected logIsUpToDate(lastIndex: number, lastTerm: number): boolean {
    return this.log.isUpToDate(lastIndex, lastTerm);
  }

  /** Raft 5.4.2 (Figure 8): only entries of the leader's own term commit by counting replicas. */
  protected mayCommit(index: number): boolean {
    return this.log.term(index) === this.term;
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

  // ---- roles ----------------------------------------------------------------

  private startPreVote(): void {
    if (this.peers.length === 0) return this.campaign(false);
    this.role = "preCandidate";
    this.leaderId = null;
    this.votes = new Map([[this.id, true]]);
    this.emit("pre_vote_started", {});
    this.requestVotes(true, false);
  }

  private campaign(transfer: boolean): void {
    this.setTerm(this.term + 1);
    this.votedFor = this.id;
    this.role = "candidate";
    this.leaderId = null;
    this.votes = new Map([[this.id, true]]);
    this.electionElapsed = 0;
    this.resetElectionTimeout();
    this.emit("election_started", { timeoutTicks: this.electionTimeout, transfer });
    if (this.quorum() === 1) return this.becomeLeader();
    this.requestVotes(false, transfer);
  }

  private requestVotes(preVote: boolean, transfer: boolean): void {
    for (const to of this.peers) {
      this.send({
        type: "requestVote",
        to,
        lastLogIndex: this.log.lastIndex(),
        lastLogTerm: this.log.lastTerm(),
        preVote,
        transfer,
      }, preVote ? this.term + 1 : this.term);
    }
  }

  private becomeLeader(): void {
    this.role = "leader";
    this.leaderId = this.id;
    this.emit("election_won", { votes: [...this.votes.values()].filter(Boolean).length });
    this.votes.clear();
    const ctx: LeaderContext = {
      cfg: this.cfg,
      log: this.log,
      peers: this.peers,
      now: () => this.now,
      quorum: () => this.quorum(),
      send: (m) => this.send(m),
      emit: (e, f) => this.emit(e, f),
      mayCommit: (i) => this.mayCommit(i),
    };
    this.leader = new Leadership(ctx);
    this.appendLocal([{ noop: true }]);
  }

  private becomeFollower(term: number, leaderId: string | null): void {
    const wasLeader = this.role === "leader";
    if (term > this.term) this.setTerm(term);
    this.role = "follower";
    this.electionElapsed = 0;
    this.resetElectionTimeout();
    this.votes.clear();
    this.leader = null;
    this.leaderId = null;
    if (leaderId !== null) this.followLeader(leaderId);
    if (wasLeader) this.emit("became_follower", { leader: leaderId ?? "none" });
  }

  /** Records the leader of this term; knowing it counts as this term's vote (see disk loss above). */
  private followLeader(leaderId: string): void {
    if (this.role === "leader") {
      throw new RaftInvariantError(`${leaderId} leads term ${this.term}, which ${this.id} leads`);
    }
    if (this.role !== "follower") this.becomeFollower(this.term, null);
    this.electionElapsed = 0;
    if (this.leaderId !== leaderId) {
      this.leaderId = leaderId;
      this.emit("leader_known", { leader: leaderId });
    }
    if (this.votedFor === "") this.votedFor = leaderId;
  }

  private setTerm(term: number): void {
    if (term <= this.term) {
      throw new RaftInvariantError(`term going back from ${this.term} to ${term}`);
    }
    this.term = term;
    this.votedFor = "";
    this.verifiedIndex = 0;
  }

  // ---- message handling -------------------------------------------------------

  private dispatch(m: Message): void {
    switch (m.type) {
      case "requestVote":
        return this.onRequestVote(m);
      case "requestVoteResponse":
        return this.onVoteResponse(m);
      case "appendEntries":
        return this.onAppend(m);
      case "appendEntriesResponse":
        return this.leader?.onAppendResponse(m);
      case "heartbeat":
        return this.onHeartbeat(m);
      case "heartbeatResponse":
        return this.leader?.onHeartbeatResponse(m);
      case "timeoutNow":
        return this.onTimeoutNow(m);
      case "timeoutNowResponse":
      case "probe":
      case "probeResponse":
        return;
    }
  }

  private onRequestVote(m: Msg<"requestVote">): void {
    if (this.recovering) return this.answerVote(m, false, "recovering");
    const free = this.votedFor === m.from || (this.votedFor === "" && this.leaderId === null) ||
      (m.preVote && m.term > this.term);
    if (!free) return this.answerVote(m, false, "already_voted");
    if (!this.logIsUpToDate(m.lastLogIndex, m.lastLogTerm)) {
      return this.answerVote(m, false, "log_behind");
    }
    if (!m.preVote) {
      this.votedFor = m.from;
      this.electionElapsed = 0;
    }
    this.answerVote(m, true, "");
  }

  private answerVote(m: Msg<"requestVote">, granted: boolean, reason: string): void {
    if (!m.preVote) {
      this.emit(
        granted ? "vote_granted" : "vote_denied",
        granted ? { for: m.from } : {
          for: m.from,
          reason,
        },
      );
    }
    // A granted pre-vote carries the candidate's future term, as in etcd.
    const term = granted && m.preVote ? m.term : this.term;
    this.reply(m, { type: "requestVoteResponse", voteGranted: granted, preVote: m.preVote }, term);
  }

  private onVoteResponse(m: Msg<"requestVoteResponse">): void {
    const counting = (this.role === "preCandidate" && m.preVote) ||
      (this.role === "candidate" && !m.preVote);
    if (!counting) return;
    this.votes.set(m.from, m.voteGranted);
    const granted = [...this.votes.values()].filter(Boolean).length;
    if (granted >= this.quorum()) {
      return this.role === "preCandidate" ? this.campaign(false) : this.becomeLeader();
    }
    if (this.votes.size - granted >= this.quorum()) this.becomeFollower(this.term, null);
  }

  private onAppend(m: Msg<"appendEntries">): void {
    this.followLeader(m.from);
    const lastNew = this.log.maybeAppend(m.prevLogIndex, m.prevLogTerm, m.entries);
    if (lastNew === null) {
      const [hintIndex, hintTerm] = this.log.findConflictByTerm(m.prevLogIndex, m.prevLogTerm);
      return this.answerAppend(m, false, 0, hintIndex, hintTerm);
    }
    this.verifiedIndex = Math.max(this.verifiedIndex, lastNew);
    if (this.log.commitTo(Math.min(m.leaderCommit, lastNew))) {
      this.emit("entry_committed", { index: this.log.committed });
    }
    if (this.recovering && lastNew >= m.leaderCommit && this.log.term(lastNew) === this.term) {
      this.recovering = false;
      this.emit("recovered", { index: lastNew });
    }
    this.answerAppend(m, true, lastNew, 0, 0);
  }

  private answerAppend(
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
    });
  }

  private onHeartbeat(m: Msg<"heartbeat">): void {
    this.followLeader(m.from);
    // Only up to what this term's leader verified with us: after a restart or
    // disk loss the leader's idea of our log may be stale.
    if (this.log.commitTo(Math.min(m.leaderCommit, this.verifiedIndex))) {
      this.emit("entry_committed", { index: this.log.committed });
    }
    this.reply(m, {
      type: "heartbeatResponse",
      success: true,
      logLength: this.log.lastIndex(),
      commitIndex: this.log.committed,
      incarnation: this.incarnation,
    });
  }

  private onTimeoutNow(m: Msg<"timeoutNow">): void {
    this.followLeader(m.from);
    const ok = !this.recovering;
    this.reply(m, { type: "timeoutNowResponse", success: ok });
    if (ok) this.campaign(true);
  }

  private onProbeResponse(m: Msg<"probeResponse">): void {
    if (this.fenced || m.nonce !== this.probeNonce) return;
    this.probeAnswers.set(m.from, { term: m.term, empty: m.empty });
    if (this.probeAnswers.size === this.peers.length) this.fence();
  }

  /** Every peer answered: bootstrap a new cluster, or adopt its term (disk loss, step 1). */
  private fence(): void {
    const answers = [...this.probeAnswers.values()];
    this.fenced = true;
    if (this.isEmpty() && answers.every((a) => a.empty)) {
      this.recovering = false;
      return this.emit("bootstrap", { reason: "all_replicas_empty" });
    }
    const term = Math.max(this.term, ...answers.map((a) => a.term));
    if (term > this.term) this.setTerm(term);
    if (this.votedFor === "") this.votedFor = VOTE_FORGOTTEN;
    this.emit("term_learnt", { from: "all_peers" });
  }

  /**
   * One nonce per incarnation: an "empty" answer only has to be sent after
   * this start to count, so answers accumulate across rounds and each round
   * asks only the peers that have not answered yet (a slow peer must not
   * keep a fresh cluster from ever bootstrapping).
   */
  private sendProbes(): void {
    if (this.probeNonce < 0) this.probeNonce = Math.floor(this.cfg.random() * 2 ** 31);
    if (this.peers.length === 0) this.fence();
    for (const to of this.peers) {
      if (!this.probeAnswers.has(to)) this.send({ type: "probe", to, nonce: this.probeNonce });
    }
  }

  /** A request from an older term (or before the term is learnt): refuse it, telling our term. */
  private answerStale(m: Message, reason = "stale_term"): void {
    switch (m.type) {
      case "requestVote":
        return this.answerVote(m, false, reason);
      case "appendEntries":
        return this.answerAppend(m, false, 0, 0, 0);
      case "heartbeat":
        return this.reply(m, {
          type: "heartbeatResponse",
          success: false,
          logLength: this.log.lastIndex(),
          commitIndex: this.log.committed,
          incarnation: this.incarnation,
        });
      case "timeoutNow":
        return this.reply(m, { type: "timeoutNowResponse", success: false });
    }
  }

  // ---- replication --------------------------------------------------------------

  private appendLocal(payloads: EntryPayload[]): LogEntry[] {
    const first = this.log.lastIndex() + 1;
    const entries = payloads.map((p, i) =>
      ({ ...p, index: first + i, term: this.term }) as LogEntry
    );
    this.log.append(entries);
    return entries;
  }

  // ---- helpers -------------------------------------------------------------------

  private quorum(): number {
    return Math.floor((this.peers.length + 1) / 2) + 1;
  }

  /** Pre-vote and votes are refused while a leader is known to be alive (check-quorum's lease). */
  private inLease(): boolean {
    return this.role === "leader" ||
      (this.leaderId !== null && this.electionElapsed < this.cfg.electionTicksMin);
  }

  private isEmpty(): boolean {
    return this.term === 0 && this.votedFor === "" && this.log.lastIndex() === 0;
  }

  private hardState(): HardState {
    return { term: this.term, votedFor: this.votedFor, recovering: this.recovering };
  }

  private resetElectionTimeout(): void {
    const { electionTicksMin: min, electionTicksMax: max, random } = this.cfg;
    this.electionTimeout = min + Math.floor(random() * (max - min + 1));
  }

  private send(m: OutgoingMessage, term = this.term): void {
    this.msgs.push({ ...m, from: this.id, term } as Message);
  }

  private reply(
    req: Message,
    m: DistOmit<Message, "from" | "term" | "to">,
    term = this.term,
  ): void {
    this.msgs.push({ ...m, to: req.from, from: this.id, term, reqId: req.reqId } as Message);
  }

  private emit(event: string, fields: Record<string, string | number | boolean>): void {
    this.events.push({ event, ...fields });
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.votedFor === b.votedFor && a.recovering === b.recovering;
}

function checkConfig(c: Required<RaftConfig>): void {
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
