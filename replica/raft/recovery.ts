/**
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
 *
 * This module holds step 1 (probe and fence); the node holds the
 * `recovering` flag of step 2, which is part of its hard state.
 */
import type { Message, OutgoingMessage } from "./types.ts";

/** The vote of a term a wiped replica may have voted in before it lost its disk. */
export const VOTE_FORGOTTEN = "?";

/** What the probing needs from its node. */
export interface RecoveryContext {
  peers(): readonly string[];
  /** The longest wait between two rounds of probes. */
  heartbeatTicks: number;
  random(): number;
  /** No term, no vote, no log. */
  isEmpty(): boolean;
  send(m: OutgoingMessage): void;
  emit(event: string, fields: Record<string, string | number | boolean>): void;
  /** Every peer answered empty: a new cluster, vote at once. */
  bootstrap(): void;
  /** Adopt the highest term answered, with its vote counted as used. */
  adoptTerm(term: number): void;
}

/** Step 1 of disk-loss recovery: learn the cluster's term from every peer. */
export class Recovery {
  private nonce = -1;
  private answers = new Map<string, { term: number; empty: boolean }>();
  private rounds = 0;

  constructor(private readonly ctx: RecoveryContext, private fencedYet: boolean) {}

  /** True once the cluster's term is known (always, for a replica that kept its disk). */
  get fenced(): boolean {
    return this.fencedYet;
  }

  /**
   * Whether a round of probes is due, `elapsedTicks` after the last one. A
   * wiped replica is of no use until it is fenced, so the first round goes
   * at the first tick and the next ones back off (1, 2, 4, ... ticks) up to
   * a heartbeat interval: peers not named yet, or still starting, are asked
   * again soon without a busy loop on a peer that is down.
   */
  probeDue(elapsedTicks: number): boolean {
    return elapsedTicks >= Math.min(this.ctx.heartbeatTicks, 2 ** this.rounds);
  }

  /**
   * One nonce per incarnation: an "empty" answer only has to be sent after
   * this start to count, so answers accumulate across rounds and each round
   * asks only the peers that have not answered yet (a slow peer must not
   * keep a fresh cluster from ever bootstrapping).
   */
  sendProbes(): void {
    if (this.nonce < 0) this.nonce = Math.floor(this.ctx.random() * 2 ** 31);
    this.rounds++;
    const peers = this.ctx.peers();
    if (peers.length === 0) this.fence();
    for (const to of peers) {
      if (!this.answers.has(to)) this.ctx.send({ type: "probe", to, nonce: this.nonce });
    }
  }

  onProbeResponse(m: Extract<Message, { type: "probeResponse" }>): void {
    if (this.fencedYet || m.nonce !== this.nonce) return;
    this.answers.set(m.from, { term: m.term, empty: m.empty });
    if (this.answers.size === this.ctx.peers().length) this.fence();
  }

  /** The peer known as `from` is now known as `to`. */
  rename(from: string, to: string): void {
    const a = this.answers.get(from);
    if (!a) return;
    this.answers.delete(from);
    this.answers.set(to, a);
  }

  /** Every peer answered: bootstrap a new cluster, or adopt its term. */
  private fence(): void {
    const answers = [...this.answers.values()];
    this.fencedYet = true;
    if (this.ctx.isEmpty() && answers.every((a) => a.empty)) {
      this.ctx.bootstrap();
      return this.ctx.emit("bootstrap", { reason: "all_replicas_empty" });
    }
    this.ctx.adoptTerm(Math.max(0, ...answers.map((a) => a.term)));
    this.ctx.emit("term_learnt", { from: "all_peers" });
  }
}
