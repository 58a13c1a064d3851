/**
 * What a node does while it leads: per-follower progress, batched and
 * pipelined AppendEntries (bulk sync-log chunks for far-behind followers,
 * a snapshot for those behind the compacted prefix of the log),
 * heartbeats, check-quorum, commit by majority, and leadership transfer.
 * Created when a node wins an election and dropped when it steps down.
 */
import type { RaftLog } from "./log.ts";
import type { Member } from "./membership.ts";
import { Progress } from "./progress.ts";
import { hasQuorum, quorumIndex } from "./quorum.ts";
import type { FollowerProgress, Message, NodeConfig, OutgoingMessage } from "./types.ts";

type Msg<T extends Message["type"]> = Extract<Message, { type: T }>;

/** Bulk (sync-log) chunks in flight per follower. */
const MAX_BULK_INFLIGHT = 2;

/** What the leader needs from its node. */
export interface LeaderContext {
  readonly cfg: NodeConfig;
  readonly log: RaftLog;
  /** The leader's own id. */
  readonly id: string;
  /** The configuration in force (the latest in the leader's log). */
  members(): readonly Member[];
  now(): number;
  send(m: OutgoingMessage): void;
  emit(event: string, fields: Record<string, string | number | boolean>): void;
  /** The node's (overridable) Figure 8 rule. */
  mayCommit(index: number): boolean;
  /** The node's (overridable) rule on answers from a follower's earlier life (see `heardFrom`). */
  countsAnswer(answerEpoch: number, epoch: number): boolean;
  /** The node's (overridable) rule on answers for a member from a disk it may have lost (see `counts`). */
  countsDisk(m: Member, disk: string | null, sawFresh: boolean): boolean;
}

/** The leader's side of replication. */
export class Leadership {
  private readonly progress: Map<string, Progress>;
  private heartbeatElapsed = 0;
  /** Follower being handed leadership, if any; proposals are refused meanwhile. */
  transferTarget: string | null = null;
  private transferElapsed = 0;

  constructor(private readonly ctx: LeaderContext) {
    this.progress = new Map();
    this.syncMembers();
  }

  /**
   * The configuration changed (the leader appended or committed one):
   * replicate to every other member of it, voter or learner, and to the
   * members a pending change removes until it commits, so that they learn
   * they are out (and stop campaigning) instead of timing out. A new member
   * starts probing from the end of the log.
   */
  syncMembers(): void {
    const { log } = this.ctx;
    const all = [...this.ctx.members(), ...log.configAt(log.committed).members];
    const ids = new Set(all.map((m) => m.id).filter((id) => id !== this.ctx.id));
    for (const id of this.progress.keys()) if (!ids.has(id)) this.progress.delete(id);
    for (const id of ids) {
      if (this.progress.has(id)) continue;
      const pr = new Progress(this.ctx.log.lastIndex(), this.ctx.cfg.maxInflight);
      pr.lastActive = this.ctx.now();
      this.progress.set(id, pr);
    }
    if (this.transferTarget !== null && !this.isVoter(this.transferTarget)) {
      this.ctx.emit("transfer_aborted", { to: this.transferTarget });
      this.transferTarget = null;
    }
  }

  /** One tick; returns false when the leader must step down (check-quorum failed). */
  tick(): boolean {
    const { cfg, log } = this.ctx;
    this.heartbeatElapsed++;
    if (this.transferTarget !== null && ++this.transferElapsed >= cfg.electionTicksMax) {
      this.ctx.emit("transfer_aborted", { to: this.transferTarget });
      this.transferTarget = null;
    }
    // Check quorum: a leader cut off from the majority steps down instead of
    // believing it leads (it could never commit, but clients would wait on it).
    const voters = this.ctx.members().filter((m) => m.voter);
    const active = voters.filter((m) => {
      if (m.id === this.ctx.id) return true;
      const pr = this.progress.get(m.id);
      // Not yet heard since taking over (disk unknown) still counts as alive here.
      return pr !== undefined && !this.replaced(m, pr) && this.isActive(pr);
    }).length;
    if (!hasQuorum(active, voters.length)) return false;
    if (this.heartbeatElapsed >= cfg.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      for (const [to, pr] of this.progress) {
        pr.stalled(this.ctx.now(), cfg.electionTicksMin);
        const leaderCommit = Math.min(pr.match, log.committed);
        this.ctx.send({ type: "heartbeat", to, leaderCommit, epoch: pr.epoch });
      }
    } else {
      for (const [to, pr] of this.progress) {
        if (pr.eagerUntil <= this.ctx.now()) continue;
        const leaderCommit = Math.min(pr.match, log.committed);
        this.ctx.send({ type: "heartbeat", to, leaderCommit, epoch: pr.epoch });
      }
    }
    return true;
  }

  /**
   * `peer` probed us: it restarted from an empty disk. Heartbeat it every
   * tick (for at most a heartbeat interval) until it answers, so that its
   * replacement (recovery.ts) and catch-up start then rather than at the
   * next heartbeat.
   */
  probedBy(peer: string): void {
    const pr = this.progress.get(peer);
    if (pr) pr.eagerUntil = this.ctx.now() + this.ctx.cfg.heartbeatTicks;
  }

  /** Starts handing leadership to `to`: catch it up, then tell it to campaign. */
  transfer(to: string): void {
    const pr = this.progress.get(to);
    // A member may have become a learner or left since the caller looked: nothing to hand over.
    if (!pr || !this.isVoter(to)) {
      return this.ctx.emit("transfer_refused", { to, reason: "not_a_voter" });
    }
    this.transferTarget = to;
    this.transferElapsed = 0;
    this.ctx.emit("transfer_started", { to });
    if (pr.match === this.ctx.log.lastIndex()) this.ctx.send({ type: "timeoutNow", to });
  }

  /** The peer known as `from` is now known as `to` (see `RaftNode.identifyPeer`). */
  rename(from: string, to: string): void {
    const pr = this.progress.get(from);
    if (pr) {
      this.progress.delete(from);
      this.progress.set(to, pr);
    }
    if (this.transferTarget === from) this.transferTarget = to;
  }

  /** Delivery to `peer` failed. */
  unreachable(peer: string): void {
    this.progress.get(peer)?.unreachable();
  }

  /** True when some follower has something to be sent. */
  wantsSend(): boolean {
    return [...this.progress.values()].some((pr) => this.canSend(pr));
  }

  /** Sends everything the pipelines allow: one batch per follower per Ready. */
  replicateAll(): void {
    for (const [to, pr] of this.progress) {
      while (this.canSend(pr)) this.sendAppend(to, pr);
    }
  }

  onAppendResponse(m: Msg<"appendEntriesResponse">): void {
    const pr = this.progress.get(m.from);
    if (!pr || !this.heardFrom(pr, m)) return;
    // Answers to appends sent before the snapshot: a late ack still counts, nothing else moves.
    if (pr.mode === "snapshot") {
      if (m.success && pr.acked(m.matchIndex, this.ctx.now())) this.maybeCommit();
      return;
    }
    if (m.success) {
      const progressed = pr.acked(m.matchIndex, this.ctx.now());
      if (pr.mode === "probe") pr.enter("replicate");
      if (progressed) this.maybeCommit();
      if (this.transferTarget === m.from && pr.match === this.ctx.log.lastIndex()) {
        this.ctx.send({ type: "timeoutNow", to: m.from });
      }
      return;
    }
    // The follower's hint: the largest index <= hintIndex whose term <= hintTerm in OUR log.
    const [next] = m.hintTerm > 0
      ? this.ctx.log.findConflictByTerm(m.hintIndex, m.hintTerm)
      : [m.hintIndex];
    pr.refused(m.rejectIndex, next + 1, this.ctx.now());
  }

  onSnapshotResponse(m: Msg<"installSnapshotResponse">): void {
    const pr = this.progress.get(m.from);
    if (!pr || !this.heardFrom(pr, m) || pr.mode !== "snapshot") return;
    pr.snapshotAnswered(m.success ? m.matchIndex : null, this.ctx.now());
    this.ctx.emit("snapshot_answered", { to: m.from, success: m.success, match: pr.match });
    if (m.success) this.maybeCommit();
  }

  onHeartbeatResponse(m: Msg<"heartbeatResponse">): void {
    const pr = this.progress.get(m.from);
    if (!pr || !this.heardFrom(pr, m)) return;
    pr.heartbeatAnswered();
    // A follower that restarted cannot take the commit index from heartbeats
    // until it verified its log with us: an empty append does that.
    if (m.commitIndex < Math.min(pr.match, this.ctx.log.committed) && pr.idle()) {
      this.sendAppend(m.from, pr);
    }
  }

  /**
   * Commits the highest index a majority of the voters holds, if it is of
   * this term (Figure 8). The leader counts itself only while it votes.
   */
  maybeCommit(): void {
    const { log } = this.ctx;
    const matches = this.ctx.members().filter((m) => m.voter).map((m) => {
      if (m.id === this.ctx.id) return log.stabled;
      const pr = this.progress.get(m.id);
      return pr && this.counts(m, pr) ? pr.match : 0;
    });
    const index = quorumIndex(matches);
    if (index <= log.committed || !this.ctx.mayCommit(index)) return;
    const pendingChange = log.config().index > log.committed;
    log.commitTo(index);
    this.ctx.emit("entry_committed", { index });
    if (pendingChange && log.config().index <= index) this.syncMembers();
    // Idle followers learn the new commit now rather than at the next heartbeat.
    for (const [to, pr] of this.progress) {
      if (pr.mode === "replicate" && pr.idle() && pr.next > log.lastIndex()) {
        this.sendAppend(to, pr);
      }
    }
  }

  /** The most up-to-date voting follower that answered lately (the best transfer target). */
  bestFollower(): string | null {
    let best: [string, number] | null = null;
    for (const [id, pr] of this.progress) {
      // A peer that has not answered lately (down, cut off) would never take over.
      if (!this.isVoter(id) || !this.isActive(pr)) continue;
      if (!best || pr.match > best[1]) best = [id, pr.match];
    }
    return best?.[0] ?? null;
  }

  /**
   * A learner ready to vote: it holds everything committed, is in the
   * pipeline and answered within an election timeout, so adding it to the
   * quorum costs no availability (thesis 4.2.1: caught up to within one
   * round), and said which disk it is on (the promotion names it). The
   * first such learner, or null.
   */
  caughtUpLearner(): { id: string; disk: string } | null {
    for (const m of this.ctx.members()) {
      if (m.voter || m.id === this.ctx.id) continue;
      const pr = this.progress.get(m.id);
      if (
        pr && pr.disk !== null && pr.mode === "replicate" && pr.match >= this.ctx.log.committed &&
        this.isActive(pr)
      ) return { id: m.id, disk: pr.disk };
    }
    return null;
  }

  /** A voter that lost its disk since it was made one (see recovery.ts), or null. */
  replacedVoter(): string | null {
    for (const m of this.ctx.members()) {
      const pr = this.progress.get(m.id);
      if (m.voter && pr && this.replaced(m, pr)) return m.id;
    }
    return null;
  }

  /** Read-only progress per follower. */
  view(): Record<string, FollowerProgress> {
    const out: Record<string, FollowerProgress> = {};
    for (const [id, p] of this.progress) {
      out[id] = { ...p.view(), recentlyActive: this.isActive(p) };
    }
    return out;
  }

  private canSend(pr: Progress): boolean {
    if (pr.paused()) return false;
    // Bulk chunks are large: two in flight keep the link busy without burying the follower.
    if (this.isBulk(pr.next - 1) && pr.inflightCount() >= MAX_BULK_INFLIGHT) return false;
    return pr.mode === "probe" || pr.next <= this.ctx.log.lastIndex();
  }

  private isBulk(prev: number): boolean {
    return this.ctx.log.committed - prev >= this.ctx.cfg.syncThreshold;
  }

  /**
   * One AppendEntries from `pr.next`. When the follower misses many committed
   * entries it gets them in bulk (the seed's /sync-log) instead.
   */
  private sendAppend(to: string, pr: Progress): void {
    const { cfg, log } = this.ctx;
    const prev = pr.next - 1;
    if (prev < log.snapshotIndex) return this.sendSnapshot(to, pr);
    const bulk = this.isBulk(prev);
    const hi = bulk
      ? Math.min(log.committed, prev + cfg.maxEntriesPerSync)
      : Math.min(log.lastIndex(), prev + cfg.maxEntriesPerAppend);
    this.ctx.send({
      type: "appendEntries",
      to,
      prevLogIndex: prev,
      prevLogTerm: log.termAt(prev),
      entries: log.slice(pr.next, hi + 1),
      leaderCommit: log.committed,
      bulk,
      epoch: pr.epoch,
    });
    pr.sent(Math.max(hi, prev), this.ctx.now());
  }

  /** The follower needs entries we compacted: it gets our state machine, at our snapshot point or later. */
  private sendSnapshot(to: string, pr: Progress): void {
    const { log } = this.ctx;
    this.ctx.send({
      type: "installSnapshot",
      to,
      snapshotIndex: log.snapshotIndex,
      snapshotTerm: log.snapshotTerm,
      epoch: pr.epoch,
    });
    pr.sentSnapshot();
    this.ctx.emit("snapshot_sent", { to, atLeast: log.snapshotIndex });
  }

  /**
   * Whether an answer may move the follower's progress. A new incarnation
   * means the follower restarted, maybe with an empty disk: what we knew of
   * its log no longer holds, and neither does anything its earlier lives
   * still have on the way to us. An ack of index 7 sent just before a disk
   * loss and delivered after the wiped follower was caught up to 6 would
   * otherwise count 7 as held by a replica that lost it, commit it on the
   * leader alone, and a later leader (that follower, back to voting) would
   * overwrite it. Incarnations are random, so they cannot tell an earlier
   * life from a later one; the epoch can: the leader numbers each life of
   * the follower it has seen, stamps every request with that number, and
   * counts only answers to requests of the current epoch. A request of epoch
   * e is sent after the leader saw life e's first answer, so no earlier life
   * can answer it. The answer that reveals a new life resets the progress
   * and closes its own epoch, so it counts no more than the others (it may
   * itself come from an earlier life, when the first life seen was the later
   * one). Dropping answers is always safe: the next probe asks again.
   */
  private heardFrom(
    pr: Progress,
    m: {
      from: string;
      epoch: number;
      incarnation: number;
      logLength: number;
      disk?: string;
      fresh?: boolean;
    },
  ): boolean {
    if (!this.ctx.countsAnswer(m.epoch, pr.epoch)) return false;
    if (m.disk !== undefined) pr.disk = m.disk;
    if (m.fresh) pr.sawFresh = true;
    pr.lastActive = this.ctx.now();
    // An answer from another disk than the configuration names moves nothing.
    const member = this.ctx.members().find((x) => x.id === m.from);
    if (
      member?.disk !== undefined && m.disk !== undefined &&
      !this.ctx.countsDisk(member, m.disk, false)
    ) return false;
    pr.eagerUntil = 0;
    if (pr.incarnation !== null && pr.incarnation !== m.incarnation) {
      // Probing from the end of its log saves a refusal (and, for an empty
      // log behind our snapshot, goes straight to the snapshot).
      pr.reset(Math.min(this.ctx.log.lastIndex(), m.logLength));
      pr.epoch++;
      this.ctx.emit("follower_restarted", { epoch: pr.epoch });
    }
    pr.incarnation = m.incarnation;
    return this.ctx.countsAnswer(m.epoch, pr.epoch);
  }

  /**
   * Whether the member is not on the disk it was made a voter with: another
   * disk answered for it (when the configuration names one), or it answered
   * that it started from an empty disk (a member never replaced names none).
   */
  private replaced(m: Member, pr: Progress): boolean {
    // Not counted, for a reason other than a disk not heard of yet.
    return !this.counts(m, pr) && (m.disk === undefined || pr.disk !== null);
  }

  /** Whether a voter's progress counts towards commit. */
  private counts(m: Member, pr: Progress): boolean {
    return this.ctx.countsDisk(m, pr.disk, pr.sawFresh);
  }

  private isVoter(id: string): boolean {
    return this.ctx.members().some((m) => m.id === id && m.voter);
  }

  private isActive(pr: Progress): boolean {
    return this.ctx.now() - pr.lastActive < this.ctx.cfg.electionTicksMin;
  }
}
