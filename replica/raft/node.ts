/**
 * The Raft state machine of one replica, pure and deterministic in the
 * manner of etcd-io/raft: time is `tick()`, input is `step()`/`propose()`,
 * output is the `Ready` the driver collects. See `Ready` for the order in
 * which the driver must act on it.
 *
 * A replica that starts from an empty disk first learns the cluster's term
 * and may not vote until caught up: see `recovery.ts`. Majorities are
 * counted in `quorum.ts`, the leader's side of replication is `leader.ts`.
 * A request that contradicts what the node knows is refused before it
 * changes anything (`guard.ts`), and no term reaches 2^48 (`INDEX_LIMIT`).
 */
import { contradiction } from "./guard.ts";
import { NodeState } from "./node_state.ts";
import { type LeaderContext, Leadership } from "./leader.ts";
import { electionResult } from "./quorum.ts";
import { Recovery, VOTE_FORGOTTEN } from "./recovery.ts";
import {
  type EntryPayload,
  INDEX_LIMIT,
  type LogEntry,
  type Message,
  NotLeaderError,
  type RaftConfig,
  RaftInvariantError,
  type RestoredState,
  type SnapshotPoint,
} from "./types.ts";

type Msg<T extends Message["type"]> = Extract<Message, { type: T }>;

/** One Raft replica as a pure state machine. */
export class RaftNode extends NodeState {
  /** Learns the cluster's term after a start from an empty disk. */
  private readonly recovery: Recovery;

  constructor(config: RaftConfig, restored?: RestoredState) {
    super(config, restored);
    this.recovery = new Recovery({
      peers: () => this.peers,
      heartbeatTicks: this.cfg.heartbeatTicks,
      random: () => this.cfg.random(),
      isEmpty: () => this.isEmpty(),
      send: (m) => this.send(m),
      emit: (e, f) => this.emit(e, f),
      bootstrap: () => this.recovering = false,
      adoptTerm: (term) => {
        if (term > this.term) this.setTerm(term);
        if (this.votedFor === "") this.votedFor = VOTE_FORGOTTEN;
      },
    }, !this.recovering);
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
      if (!this.recovery.fenced && this.recovery.probeDue(this.electionElapsed)) {
        this.electionElapsed = 0;
        this.recovery.sendProbes();
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
    // A probe is answered for anyone: it moves nothing here, and a peer known
    // only by its URL so far must still be able to learn our term.
    if (m.type === "probe") {
      this.leader?.probedBy(m.from);
      return this.reply(m, { type: "probeResponse", empty: this.isEmpty(), nonce: m.nonce });
    }
    // Only members move this node: a stranger's term, leadership or answers change nothing.
    if (!this.peers.includes(m.from)) return this.answerStale(m, "not_a_member");
    // The decoders refuse such terms: adopting one (from a caller that skipped
    // them) would leave this node unable to campaign in a term they accept.
    if (m.term >= INDEX_LIMIT) return this.refuse(m, "term_out_of_range");
    if (m.type === "probeResponse") return this.recovery.onProbeResponse(m);
    if (!this.recovery.fenced) return this.answerStale(m, "learning_term");
    if (m.term < this.term) return this.answerStale(m);
    const wrong = contradiction(m, { term: this.term, leaderId: this.leaderId, log: this.log });
    if (wrong) return this.refuse(m, wrong);
    if (m.term > this.term) {
      if (m.type === "requestVote") {
        if (!m.transfer && this.inLease()) return this.answerVote(m, false, "leader_alive");
        if (!m.preVote) this.becomeFollower(m.term, null);
      } else if (!(m.type === "requestVoteResponse" && m.preVote && m.voteGranted)) {
        const fromLeader = m.type === "appendEntries" || m.type === "heartbeat" ||
          m.type === "timeoutNow";
        this.becomeFollower(m.term, fromLeader ? m.from : null);
      }
    }
    this.dispatch(m);
  }

  /** Appends client payloads; returns where each landed. Throws NotLeaderError elsewhere. */
  propose(payloads: EntryPayload[]): { index: number; term: number }[] {
    if (!this.leader) throw new NotLeaderError(this.leaderId);
    if (this.leader.transferTarget !== null) throw new NotLeaderError(this.leader.transferTarget);
    return this.appendLocal(payloads).map((e) => ({ index: e.index, term: e.term }));
  }

  /**
   * Drops the log up to `index` (applied, stable, and durable in the state
   * machine: the driver made sure); returns the new snapshot point. A
   * follower that needs what was dropped gets the state machine instead.
   */
  compact(index: number): SnapshotPoint {
    return this.log.compact(index);
  }

  /** Stable entries after the snapshot point: what a compacted log file keeps. */
  stableTail(): LogEntry[] {
    return this.log.slice(this.log.firstIndex(), this.log.stabled + 1);
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

  /**
   * The peer known so far as `placeholder` (its URL, before its id was
   * learnt) is from now on known as `id`: in the peer list, the leader's
   * progress, votes, probe answers, the vote and leader of this term, and
   * messages not yet handed out. A vote renamed this way is persisted with
   * the next Ready (it is the same replica).
   */
  identifyPeer(placeholder: string, id: string): void {
    const i = this.peers.indexOf(placeholder);
    if (i < 0) throw new Error(`identifyPeer: no peer is known as ${placeholder}`);
    if (id === this.id || this.peers.includes(id)) {
      throw new Error(`identifyPeer: ${id} is already ${id === this.id ? "this node" : "a peer"}`);
    }
    this.peers[i] = id;
    const vote = this.votes.get(placeholder);
    if (vote !== undefined) {
      this.votes.delete(placeholder);
      this.votes.set(id, vote);
    }
    this.leader?.rename(placeholder, id);
    this.recovery.rename(placeholder, id);
    if (this.votedFor === placeholder) this.votedFor = id;
    if (this.leaderId === placeholder) this.leaderId = id;
    for (const m of this.msgs) if (m.to === placeholder) m.to = id;
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

  /** A snapshot at or below the commit index holds nothing new: installing it would roll back. */
  protected mayIgnoreSnapshot(point: SnapshotPoint): boolean {
    return point.index <= this.log.committed;
  }

  /** Only answers to requests of the follower's current epoch move its progress (see `Leadership`). */
  protected countsAnswer(answerEpoch: number, epoch: number): boolean {
    return answerEpoch === epoch;
  }

  // ---- roles ----------------------------------------------------------------

  private startPreVote(): void {
    if (!this.mayCampaign()) return;
    if (this.peers.length === 0) return this.campaign(false);
    this.role = "preCandidate";
    this.leaderId = null;
    this.votes = new Map([[this.id, true]]);
    this.emit("pre_vote_started", {});
    this.requestVotes(true, false);
  }

  private campaign(transfer: boolean): void {
    if (!this.mayCampaign()) return this.becomeFollower(this.term, null);
    this.setTerm(this.term + 1);
    this.votedFor = this.id;
    this.role = "candidate";
    this.leaderId = null;
    this.votes = new Map([[this.id, true]]);
    this.electionElapsed = 0;
    this.resetElectionTimeout();
    this.emit("election_started", { timeoutTicks: this.electionTimeout, transfer });
    if (electionResult(this.votes, this.peers.length + 1) === "won") return this.becomeLeader();
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
      send: (m) => this.send(m),
      emit: (e, f) => this.emit(e, f),
      mayCommit: (i) => this.mayCommit(i),
      countsAnswer: (a, e) => this.countsAnswer(a, e),
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
      case "installSnapshot":
        return this.onInstallSnapshot(m);
      case "installSnapshotResponse":
        return this.leader?.onSnapshotResponse(m);
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

  private onVoteResponse(m: Msg<"requestVoteResponse">): void {
    const counting = (this.role === "preCandidate" && m.preVote) ||
      (this.role === "candidate" && !m.preVote);
    if (!counting) return;
    this.votes.set(m.from, m.voteGranted);
    const result = electionResult(this.votes, this.peers.length + 1);
    if (result === "won") {
      return this.role === "preCandidate" ? this.campaign(false) : this.becomeLeader();
    }
    if (result === "lost") this.becomeFollower(this.term, null);
  }

  private onAppend(m: Msg<"appendEntries">): void {
    this.followLeader(m.from);
    if (m.prevLogIndex < this.log.snapshotIndex) {
      // It starts inside our snapshot, all committed: we match the leader up
      // to our commit index (Log Matching); it goes on from there.
      return this.answerAppend(m, true, this.log.committed, 0, 0);
    }
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

  /**
   * The leader's state machine at (index, term), arrived whole and verified.
   * Already committed here: nothing to do (and never roll back). Held in our
   * log with that term: it committed, keep the log. Otherwise it replaces
   * the log and the state machine (etcd's restore).
   */
  private onInstallSnapshot(m: Msg<"installSnapshot">): void {
    this.followLeader(m.from);
    const point = { index: m.snapshotIndex, term: m.snapshotTerm };
    if (this.mayIgnoreSnapshot(point)) {
      return this.answerSnapshot(m, true, this.log.committed);
    }
    if (this.log.matchTerm(point.index, point.term)) {
      this.log.commitTo(point.index);
      this.verifiedIndex = Math.max(this.verifiedIndex, point.index);
      this.emit("entry_committed", { index: point.index });
      return this.answerSnapshot(m, true, point.index);
    }
    this.log.restore(point);
    this.verifiedIndex = point.index;
    this.pendingSnapshot = point;
    this.emit("snapshot_restored", { index: point.index, snapshotTerm: point.term });
    this.answerSnapshot(m, true, point.index);
  }

  private onHeartbeat(m: Msg<"heartbeat">): void {
    this.followLeader(m.from);
    // Only up to what this term's leader verified with us: after a restart or
    // disk loss the leader's idea of our log may be stale.
    if (this.log.commitTo(Math.min(m.leaderCommit, this.verifiedIndex))) {
      this.emit("entry_committed", { index: this.log.committed });
    }
    this.answerHeartbeat(m, true);
  }

  private onTimeoutNow(m: Msg<"timeoutNow">): void {
    this.followLeader(m.from);
    const ok = !this.recovering && this.term + 1 < INDEX_LIMIT;
    this.reply(m, { type: "timeoutNowResponse", success: ok });
    if (ok) this.campaign(true);
  }

  // ---- helpers -------------------------------------------------------------------

  /**
   * A term at or above `INDEX_LIMIT` is refused by every decoder: a node at
   * the last term stays a follower rather than send what no peer accepts.
   */
  private mayCampaign(): boolean {
    if (this.term + 1 < INDEX_LIMIT) return true;
    this.emit("campaign_refused", { reason: "term_space_exhausted" });
    return false;
  }

  /** Pre-vote and votes are refused while a leader is known to be alive (check-quorum's lease). */
  private inLease(): boolean {
    return this.role === "leader" ||
      (this.leaderId !== null && this.electionElapsed < this.cfg.electionTicksMin);
  }
}
