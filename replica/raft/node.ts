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
import { contradiction, isLeaderMessage } from "./guard.ts";
import { NodeState } from "./node_state.ts";
import { type LeaderContext, Leadership } from "./leader.ts";
import { type Member, MembershipError, singleServerChange } from "./membership.ts";
import { electionResult } from "./quorum.ts";
import { Recovery } from "./recovery.ts";
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
      self: this.id,
      peers: () => this.others(),
      heartbeatTicks: this.cfg.heartbeatTicks,
      random: () => this.cfg.random(),
      isEmpty: () => this.isEmpty(),
      send: (m) => this.send(m),
      emit: (e, f) => this.emit(e, f),
      bootstrap: () => this.recovering = false,
    }, !this.recovering || this.cfg.join || !this.isEmpty());
  }

  // ---- inputs -------------------------------------------------------------

  /** Advances logical time by one tick. */
  tick(): void {
    this.now++;
    if (this.leader) {
      if (!this.leader.tick()) {
        this.emit("stepped_down", { reason: "lost_quorum" });
        this.becomeFollower(this.term, null);
        return;
      }
      this.maybeChangeMembers();
      return;
    }
    this.electionElapsed++;
    if (this.recovering) {
      if (this.recovery.probing && this.recovery.probeDue(this.electionElapsed)) {
        this.electionElapsed = 0;
        this.recovery.sendProbes();
      }
      return;
    }
    if (this.electionElapsed >= this.electionTimeout) {
      // A learner never campaigns. Its timer runs on, so that its lease on a
      // leader that is gone lapses and it grants pre-votes (a voter may need
      // its vote); reset here, the lease held forever (found by the simulator).
      if (!this.isVoter(this.id)) return;
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
      return this.reply(m, {
        type: "probeResponse",
        empty: this.isEmpty(),
        nonce: m.nonce,
        members: this.members(),
      });
    }
    // Candidates and answers count only from members: a stranger's term,
    // vote or answer changes nothing. A leader's messages are followed from
    // anyone (as in etcd): it may have been added by a configuration this
    // node has not received yet, and only it can bring that configuration.
    // A probe's answer counts from anyone it asked (recovery.ts probes the members
    // answers name, beyond its own configuration: found by the simulator).
    const asked = m.type === "probeResponse";
    if (!this.isMember(m.from) && !isLeaderMessage(m) && !asked) {
      return this.answerStale(m, "not_a_member");
    }
    // The decoders refuse such terms: adopting one (from a caller that skipped
    // them) would leave this node unable to campaign in a term they accept.
    if (m.term >= INDEX_LIMIT) return this.refuse(m, "term_out_of_range");
    if (m.type === "probeResponse") return this.recovery.onProbeResponse(m);
    if (isLeaderMessage(m)) this.recovery.stop("leader_heard");
    if (m.term < this.term) return this.answerStale(m);
    const wrong = contradiction(m, { term: this.term, leaderId: this.leaderId, log: this.log });
    if (wrong) return this.refuse(m, wrong);
    if (m.term > this.term) {
      if (m.type === "requestVote") {
        if (!m.transfer && this.inLease()) return this.answerVote(m, false, "leader_alive");
        if (!m.preVote) this.becomeFollower(m.term, null);
      } else if (!(m.type === "requestVoteResponse" && m.preVote && m.voteGranted)) {
        this.becomeFollower(m.term, isLeaderMessage(m) ? m.from : null);
      }
    }
    this.dispatch(m);
  }

  /** Appends client payloads; returns where each landed. Throws NotLeaderError elsewhere. */
  propose(payloads: EntryPayload[]): { index: number; term: number }[] {
    if (!this.leader) throw new NotLeaderError(this.leaderId);
    if (this.leader.transferTarget !== null) throw new NotLeaderError(this.leader.transferTarget);
    if (payloads.some((p) => "config" in p)) {
      throw new MembershipError("invalid", "configurations go through proposeMembers");
    }
    return this.appendLocal(payloads).map((e) => ({ index: e.index, term: e.term }));
  }

  /**
   * Proposes `members` as the next configuration (see membership.ts); it is
   * in force here at once and committed like any entry. Refused (with a
   * MembershipError) while an earlier change is not committed, before this
   * leader committed an entry of its term, for anything but a
   * single-server change, and for removing or demoting this leader (it
   * hands leadership over first).
   */
  proposeMembers(members: Member[]): { index: number; term: number } {
    if (!this.leader) throw new NotLeaderError(this.leaderId);
    if (this.leader.transferTarget !== null) throw new NotLeaderError(this.leader.transferTarget);
    const current = this.log.config();
    if (current.index > this.log.committed) {
      throw new MembershipError(
        "in_progress",
        `the change at ${current.index} is not committed yet`,
      );
    }
    if (this.log.term(this.log.committed) !== this.term) {
      throw new MembershipError("no_commit_in_term", "this leader has not committed an entry yet");
    }
    const wrong = this.changeRefusal(current.members, members);
    if (wrong) throw new MembershipError("invalid", wrong);
    if (!members.some((m) => m.id === this.id && m.voter)) {
      throw new MembershipError("invalid", "the leader cannot remove itself: transfer first");
    }
    const [e] = this.appendLocal([{ config: { members: members.map((m) => ({ ...m })) } }]);
    this.leader.syncMembers();
    this.emit("config_proposed", { index: e.index, voters: this.voters().join(",") });
    return { index: e.index, term: e.term };
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
    const ids = this.members().map((m) => m.id);
    if (!ids.includes(placeholder) || placeholder === this.id) {
      throw new Error(`identifyPeer: no peer is known as ${placeholder}`);
    }
    if (ids.includes(id)) {
      throw new Error(`identifyPeer: ${id} is already ${id === this.id ? "this node" : "a peer"}`);
    }
    this.log.renameMember(placeholder, id);
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

  /** Thesis 4.1: one server at a time (see membership.ts). */
  protected changeRefusal(from: readonly Member[], to: readonly Member[]): string | null {
    return singleServerChange(from, to);
  }

  /** Only voters' votes count: a learner's vote is no part of any majority. */
  protected countsVote(from: string): boolean {
    return this.isVoter(from);
  }

  /**
   * A voter's acks count only from the disk the configuration names for it
   * or, for a member never replaced, while it never said it started empty
   * (see recovery.ts).
   */
  protected countsDisk(m: Member, disk: string | null, sawFresh: boolean): boolean {
    return m.disk !== undefined ? disk === m.disk : !sawFresh;
  }

  /** Only answers to requests of the follower's current epoch move its progress (see `Leadership`). */
  protected countsAnswer(answerEpoch: number, epoch: number): boolean {
    return answerEpoch === epoch;
  }

  // ---- roles ----------------------------------------------------------------

  private startPreVote(): void {
    if (!this.mayCampaign()) return;
    if (this.voters().length === 1) return this.campaign(false);
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
    if (electionResult(this.votes, this.voters().length) === "won") return this.becomeLeader();
    this.requestVotes(false, transfer);
  }

  private requestVotes(preVote: boolean, transfer: boolean): void {
    for (const to of this.voters()) {
      if (to === this.id) continue;
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
      id: this.id,
      members: () => this.members(),
      now: () => this.now,
      send: (m) => this.send(m),
      emit: (e, f) => this.emit(e, f),
      mayCommit: (i) => this.mayCommit(i),
      countsAnswer: (a, e) => this.countsAnswer(a, e),
      countsDisk: (m, d, f) => this.countsDisk(m, d, f),
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
    if (!counting || !this.countsVote(m.from)) return;
    this.votes.set(m.from, m.voteGranted);
    const result = electionResult(this.votes, this.voters().length);
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
    this.maybeRejoined();
    this.answerAppend(m, true, lastNew, 0, 0);
    if (
      this.recovering && this.cfg.join && lastNew >= m.leaderCommit &&
      this.log.term(lastNew) === this.term
    ) {
      // A replica started with JOIN=1 on an empty disk never had an earlier
      // life: caught up by a leader of its term, it may vote (it counts as a
      // voter only once promoted, with its disk). Had an operator started a
      // lost member that way, its answers until now said fresh (this one
      // too), so the leader demotes it as any wiped voter.
      this.recovering = false;
      this.emit("recovered", { index: lastNew, reason: "joined" });
    }
  }

  /**
   * The leader's state machine at (index, term), arrived whole and verified.
   * Already committed here: nothing to do (and never roll back). Held in our
   * log with that term: it committed, keep the log. Otherwise it replaces
   * the log and the state machine (etcd's restore).
   */
  private onInstallSnapshot(m: Msg<"installSnapshot">): void {
    this.followLeader(m.from);
    // The configuration travels with the snapshot: without it the follower
    // would keep the one its own log had, however old (found by the simulator).
    const point = { index: m.snapshotIndex, term: m.snapshotTerm, members: m.members };
    if (this.mayIgnoreSnapshot(point)) {
      return this.answerSnapshot(m, true, this.log.committed);
    }
    if (this.log.matchTerm(point.index, point.term)) {
      this.log.commitTo(point.index);
      this.verifiedIndex = Math.max(this.verifiedIndex, point.index);
      this.emit("entry_committed", { index: point.index });
      this.maybeRejoined();
      return this.answerSnapshot(m, true, point.index);
    }
    this.log.restore(point);
    this.verifiedIndex = point.index;
    this.pendingSnapshot = point;
    this.emit("snapshot_restored", { index: point.index, snapshotTerm: point.term });
    this.maybeRejoined();
    this.answerSnapshot(m, true, point.index);
  }

  private onHeartbeat(m: Msg<"heartbeat">): void {
    this.followLeader(m.from);
    // Only up to what this term's leader verified with us: after a restart or
    // disk loss the leader's idea of our log may be stale.
    if (this.log.commitTo(Math.min(m.leaderCommit, this.verifiedIndex))) {
      this.emit("entry_committed", { index: this.log.committed });
      this.maybeRejoined();
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
    // A learner, or a node removed from the configuration, never campaigns.
    if (!this.isVoter(this.id)) return false;
    if (this.term + 1 < INDEX_LIMIT) return true;
    this.emit("campaign_refused", { reason: "term_space_exhausted" });
    return false;
  }

  /**
   * The leader's own changes, one at a time: a voter that lost its disk
   * becomes a learner (see recovery.ts), a learner that caught up becomes a
   * voter, with the identity of the disk it caught up on.
   */
  private maybeChangeMembers(): void {
    const current = this.log.config();
    if (current.index > this.log.committed || this.log.term(this.log.committed) !== this.term) {
      return;
    }
    if (this.leader?.transferTarget !== null) return;
    const replaced = this.leader.replacedVoter();
    if (replaced !== null) {
      this.emit("voter_lost_its_disk", { member: replaced });
      return void this.proposeMembers(
        current.members.map((m) => m.id === replaced ? { id: m.id, url: m.url, voter: false } : m),
      );
    }
    const learner = this.leader.caughtUpLearner();
    if (learner === null) return;
    this.emit("learner_caught_up", { member: learner.id, match: this.log.committed });
    this.proposeMembers(
      current.members.map((m) =>
        m.id === learner.id ? { ...m, voter: true, disk: learner.disk } : m
      ),
    );
  }

  /**
   * A replica that started from an empty disk votes again once its log holds
   * a configuration that makes it a voter with this disk's identity
   * (recovery.ts): appended, not yet committed, since the leader counts it
   * as a voter from then on, and a leader that dies before telling it of the
   * commit must not leave a majority that needs its vote unable to elect.
   */
  private maybeRejoined(): void {
    if (!this.recovering || !this.cfg.diskId) return;
    const me = this.log.config().members.find((m) => m.id === this.id);
    if (!me?.voter || me.disk !== this.cfg.diskId) return;
    this.recovering = false;
    this.emit("recovered", { index: this.log.committed });
  }

  /** Pre-vote and votes are refused while a leader is known to be alive (check-quorum's lease). */
  private inLease(): boolean {
    return this.role === "leader" ||
      (this.leaderId !== null && this.electionElapsed < this.cfg.electionTicksMin);
  }
}
