/**
 * Disk loss. A replica that starts from an empty disk is a new incarnation
 * of its id: it may have voted or acked before and forgotten it. Voting
 * twice in a term, voting for a candidate that lacks committed entries (an
 * empty log makes every candidate look up to date), or letting a stale
 * leader (one that just woke from a pause) count its acks over entries a
 * later term committed (found by the simulator, seed 50) all lose
 * acknowledged strokes. So it starts `recovering` (persisted in the hard
 * state): it neither votes nor campaigns, its answers say `fresh`, and no
 * leader counts its acks, until the cluster made it a voter again through
 * the log (Raft thesis 4, "rejoin as a new member"):
 *  1. a leader that hears a fresh answer from a voter demotes it to a
 *     learner (a configuration change, see membership.ts);
 *  2. it catches the learner up like any other (a snapshot, then the log);
 *  3. it promotes it with the identity of its data dir (`diskId`, drawn
 *     when the dir was created) written into the configuration;
 *  4. the replica stops recovering once its log holds that configuration
 *     (the leader counts it as a voter from then on, so it must be able to
 *     vote even if that leader dies before the commit reaches it). No
 *     configuration written before its disk was lost can name
 *     the new identity, and a leader counts an answer for a member only
 *     from the disk the configuration names (or, for members never
 *     replaced, from one that never answered fresh), so the acks of an
 *     earlier life can never count for the new one (the late-ack hole
 *     closes by construction). A stale leader cannot do step 1: it must
 *     first commit an entry of its term, which takes a majority it lacks.
 *
 * What is left here is telling a new cluster from an existing one. When
 * every member answered a probe, after this start, that it is empty too,
 * nothing was ever committed (unless a majority lost its disks, which no
 * protocol survives): the replica bootstraps and votes at once. An answer
 * that is not empty, or a message from a leader, ends the probing: the
 * cluster exists and the replica waits for step 1. "Every member" is every
 * member of its configuration and every member an answer names (answers
 * carry the answering node's configuration): PEERS may predate later members.
 * A JOIN=1 replica skips the probing: it is new by definition, so it may
 * vote once a leader of its term caught it up (node.ts onAppend); it counts
 * as a voter only once promoted with its disk, like any member.
 */
import type { Message, OutgoingMessage } from "./types.ts";

/** What the probing needs from its node. */
export interface RecoveryContext {
  /** This node's id (answers may name it among their members). */
  self: string;
  peers(): readonly string[];
  /** The longest wait between two rounds of probes. */
  heartbeatTicks: number;
  random(): number;
  /** No term, no vote, no log. */
  isEmpty(): boolean;
  send(m: OutgoingMessage): void;
  emit(event: string, fields: Record<string, string | number | boolean>): void;
  /** Every member answered empty: a new cluster, vote at once. */
  bootstrap(): void;
}

/** Tells a new cluster (bootstrap) from an existing one (wait to be made a voter again). */
export class Recovery {
  private nonce = -1;
  /** Members that answered empty since this start (a later answer does not undo it). */
  private empty = new Set<string>();
  /** Members named by answers, beyond this node's configuration. */
  private named = new Set<string>();
  private rounds = 0;

  constructor(private readonly ctx: RecoveryContext, private done: boolean) {}

  /** True while the replica still asks whether the cluster is new. */
  get probing(): boolean {
    return !this.done;
  }

  /** The cluster exists (a leader spoke, or a member is not empty): stop asking. */
  stop(reason: string): void {
    if (this.done) return;
    this.done = true;
    this.ctx.emit("existing_cluster", { reason });
  }

  /**
   * Whether a round of probes is due, `elapsedTicks` after the last one. A
   * new cluster cannot elect before every member knows it is new, so the first round goes
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
   * asks only the members that have not answered empty yet (a slow member
   * must not keep a fresh cluster from ever bootstrapping).
   */
  sendProbes(): void {
    if (this.nonce < 0) this.nonce = Math.floor(this.ctx.random() * 2 ** 31);
    this.rounds++;
    const targets = this.targets();
    if (targets.length === 0) return this.bootstrap();
    for (const to of targets) {
      if (!this.empty.has(to)) this.ctx.send({ type: "probe", to, nonce: this.nonce });
    }
  }

  onProbeResponse(m: Extract<Message, { type: "probeResponse" }>): void {
    if (this.done || m.nonce !== this.nonce) return;
    if (!m.empty) return this.stop(`${m.from}_has_history`);
    this.empty.add(m.from);
    const known = new Set(this.targets());
    for (const member of m.members ?? []) {
      if (member.id === this.ctx.self || known.has(member.id)) continue;
      // Newly named: ask it now rather than at the next round.
      this.named.add(member.id);
      this.ctx.send({ type: "probe", to: member.id, nonce: this.nonce });
    }
    if (this.targets().every((t) => this.empty.has(t))) this.bootstrap();
  }

  /** The peer known as `from` is now known as `to`. */
  rename(from: string, to: string): void {
    if (this.named.delete(from)) this.named.add(to);
    if (this.empty.delete(from)) this.empty.add(to);
  }

  /** Whom to hear from: the configuration's other members and every member an answer named. */
  private targets(): string[] {
    return [...new Set([...this.ctx.peers(), ...this.named])];
  }

  private bootstrap(): void {
    if (!this.ctx.isEmpty()) return this.stop("not_empty");
    this.done = true;
    this.ctx.bootstrap();
    this.ctx.emit("bootstrap", { reason: "all_replicas_empty" });
  }
}
