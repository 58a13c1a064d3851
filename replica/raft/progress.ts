/**
 * The leader's view of one follower (etcd's Progress): how far it matches,
 * what to send next, and how many AppendEntries are in flight.
 *
 * - probe: we do not know where the logs match; one message at a time.
 * - replicate: logs match up to `match`; send optimistically, up to
 *   `maxInflight` messages ahead (hashicorp/raft's pipelining).
 * - snapshot: it needs entries we compacted; a snapshot is on its way and
 *   nothing else is sent until it is answered (the transport always answers
 *   or reports the peer unreachable).
 *
 * Whether one message is a normal append or a bulk sync-log chunk is decided
 * per message by the node, from how far behind the follower is.
 */
import type { FollowerProgress } from "./types.ts";

/** Replication state of one follower, held by the leader. */
export class Progress {
  match = 0;
  next: number;
  mode: "probe" | "replicate" | "snapshot" = "probe";
  /** Probe mode: a message was sent and no answer or heartbeat came since. */
  probeSent = false;
  /** Last index of each message in flight, oldest first. */
  private inflight: number[] = [];
  /** The follower's incarnation as last seen (null before its first answer). */
  incarnation: number | null = null;
  /** How many restarts of the follower this leader has seen; stamped on requests, echoed in answers. */
  epoch = 0;
  /** Tick of the last answer from the follower (check-quorum). */
  lastActive = 0;
  /** The data dir its answers came from, as last seen (null: none said). */
  disk: string | null = null;
  /** Some answer said it started from an empty disk since this leader took over (see recovery.ts). */
  sawFresh = false;
  /** Heartbeat it every tick before this tick (it probed us: see `Leadership.probedBy`). */
  eagerUntil = 0;
  /** Tick of the last answer, or of the send that started a pipeline (see `stalled`). */
  private lastAnswer = 0;

  constructor(lastIndex: number, private readonly maxInflight: number) {
    this.next = lastIndex + 1;
  }

  /** True when nothing more may be sent now. */
  paused(): boolean {
    if (this.mode === "snapshot") return true;
    if (this.mode === "probe") return this.probeSent;
    return this.inflight.length >= this.maxInflight;
  }

  /** True when nothing is in flight. */
  idle(): boolean {
    return this.mode !== "snapshot" && this.inflight.length === 0 && !this.probeSent;
  }

  /** Records a message ending at `lastIndex` as sent. */
  sent(lastIndex: number, now: number): void {
    if (this.mode === "probe") {
      this.probeSent = true;
      return;
    }
    if (this.inflight.length === 0) this.lastAnswer = now;
    this.inflight.push(lastIndex);
    this.next = Math.max(this.next, lastIndex + 1);
  }

  /** A success answer: raises match; returns false when it told us nothing new. */
  acked(matchIndex: number, now: number): boolean {
    this.lastAnswer = now;
    this.freeUpTo(matchIndex);
    this.probeSent = false;
    if (matchIndex <= this.match) return false;
    this.match = matchIndex;
    this.next = Math.max(this.next, matchIndex + 1);
    return true;
  }

  /**
   * A refusal of the message whose prevLogIndex was `rejectIndex`. Returns
   * false for a stale refusal that must be ignored (reordered or duplicated).
   * `hintNext` is where the follower's hint says to try next.
   */
  refused(rejectIndex: number, hintNext: number, now: number): boolean {
    this.lastAnswer = now;
    if (this.mode !== "probe") {
      if (rejectIndex <= this.match) return false;
      this.enter("probe");
      this.next = this.match + 1;
    } else if (rejectIndex !== this.next - 1) {
      return false;
    } else if (rejectIndex <= this.match) {
      // It no longer has an entry it acknowledged: it lost its log (the
      // incarnation check normally catches this first). Start over.
      this.match = 0;
    }
    this.next = Math.max(Math.min(rejectIndex, hintNext), this.match + 1);
    this.probeSent = false;
    return true;
  }

  /** Switches mode, forgetting what was in flight. */
  enter(mode: Progress["mode"]): void {
    this.mode = mode;
    this.inflight = [];
    this.probeSent = false;
    if (mode !== "probe") this.next = this.match + 1;
  }

  /** Forgets everything about the follower: it lost its disk. */
  reset(lastIndex: number): void {
    this.match = 0;
    this.next = lastIndex + 1;
    this.enter("probe");
  }

  /**
   * True (and back to probing from `match`) when messages have been in flight
   * with no answer since tick `now - limitTicks`: they were most likely lost
   * (a dropped request leaves a hole the follower can only refuse past). The
   * limit must exceed what a busy follower needs to answer a burst of bulk
   * chunks, or healthy catch-up gets re-sent.
   */
  stalled(now: number, limitTicks: number): boolean {
    const stalled = this.mode !== "probe" && this.inflight.length > 0 &&
      now - this.lastAnswer >= limitTicks;
    if (stalled) this.enter("probe");
    return stalled;
  }

  /** Messages in flight. */
  inflightCount(): number {
    return this.inflight.length;
  }

  /** A snapshot is on its way: wait for its answer. */
  sentSnapshot(): void {
    this.enter("snapshot");
  }

  /**
   * The snapshot was answered: installed up to `matchIndex` (or refused,
   * when null). Either way, probe from what the follower now holds.
   */
  snapshotAnswered(matchIndex: number | null, now: number): void {
    this.lastAnswer = now;
    if (matchIndex !== null && matchIndex > this.match) this.match = matchIndex;
    this.enter("probe");
    this.next = this.match + 1;
  }

  /** Delivery failed: probe again, but only after the next heartbeat answer. */
  unreachable(): void {
    this.enter("probe");
    this.probeSent = true;
  }

  /** A heartbeat answer lets a paused probe try again. */
  heartbeatAnswered(): void {
    if (this.mode === "probe") this.probeSent = false;
  }

  private freeUpTo(index: number): void {
    while (this.inflight.length > 0 && this.inflight[0] <= index) this.inflight.shift();
  }

  /** Read-only view for status (activity is judged by the node, which owns the clock). */
  view(): Omit<FollowerProgress, "recentlyActive"> {
    return {
      matchIndex: this.match,
      nextIndex: this.next,
      mode: this.mode,
      inflight: this.inflight.length,
    };
  }
}
