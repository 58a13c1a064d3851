/**
 * The membership operator of a run: at random it adds a spare slot (started
 * empty with JOIN=1, then proposed as a learner that the leader catches up
 * and promotes), removes a voter (the leader only after handing leadership
 * over, as the adapter does: the core refuses to remove itself), replaces one
 * (removed, then added back later with an empty disk), demotes one, or adds
 * a voter directly. Now and then it asks for two voters at once, which the
 * core must refuse. Proposals go to the current leader and may be refused
 * (MembershipError, NotLeaderError): the operator just tries again later.
 * A removed member keeps running for a while (it must not disrupt the
 * cluster), then is stopped and becomes a spare again.
 */
import { type Member, MembershipError, voterIds } from "../../replica/raft/membership.ts";
import { NotLeaderError } from "../../replica/raft/types.ts";
import { isConfigEntry } from "../../protocol/mod.ts";
import type { MembershipProfile } from "./profile.ts";
import { describeMembers } from "./checker.ts";
import { TICK_MS } from "./replica.ts";
import type { Slot, World } from "./world.ts";

/** Counts of what the operator did, for the run's summary. */
export interface MembershipStats {
  proposed: number;
  refused: number;
  retired: number;
}

/** Drives membership changes through the leader, one attempt at a time. */
export class MembershipOperator {
  active = true;
  readonly stats: MembershipStats = { proposed: 0, refused: 0, retired: 0 };
  /** Removed members still running, by id: the tick from which they may be stopped. */
  #lingering = new Map<string, number>();
  /** A voter to remove once leadership moved away from it. */
  #removeAfterTransfer: string | null = null;

  constructor(readonly world: World, readonly profile: MembershipProfile) {}

  /** Stops removed members whose time is up, then maybe attempts one change. */
  step(): void {
    const w = this.world;
    this.#retire();
    if (!this.active || !w.prng.chance(this.profile.rate)) return;
    const leader = w.slots.find((s) => w.running(s) && s.role === "leader");
    if (!leader) return;
    const members = w.call(leader, () => leader.io!.node.members());
    const voters = voterIds(members);
    const others = voters.filter((id) => id !== leader.id);
    const outside = w.slots.filter((s) => !members.some((m) => m.id === s.id) && this.#addable(s));
    const pending = this.#removeAfterTransfer;
    if (pending !== null && pending !== leader.id && voters.includes(pending)) {
      this.#removeAfterTransfer = null;
      return this.#propose(leader, members.filter((m) => m.id !== pending), `remove ${pending}`);
    }
    const draw = w.prng.float();
    if (outside.length > 0 && (voters.length < 3 || (voters.length < 5 && draw < 0.45))) {
      return this.#add(leader, members, outside);
    }
    if (others.length === 0) return;
    if (voters.length >= 3 && draw < 0.75) {
      // Down to two only now and then; from five, always room.
      if (voters.length === 3 && !w.prng.chance(0.25)) return;
      if (w.prng.chance(0.2)) return this.#handOver(leader, others);
      const victim = w.prng.pick(others);
      return this.#propose(leader, members.filter((m) => m.id !== victim), `remove ${victim}`);
    }
    if (draw < 0.85 && voters.length >= 3) {
      const victim = w.prng.pick(others);
      const demoted = members.map((m) => m.id === victim ? { ...m, voter: false } : m);
      return this.#propose(leader, demoted, `demote ${victim}`);
    }
    // A learner that never caught up (or was demoted) is dropped.
    const learners = members.filter((m) => !m.voter).map((m) => m.id);
    if (learners.length > 0) {
      const victim = w.prng.pick(learners);
      this.#propose(leader, members.filter((m) => m.id !== victim), `remove learner ${victim}`);
    }
  }

  /** End of the fault phase: no more changes (promotions of caught-up learners go on). */
  stop(): void {
    this.active = false;
    this.#removeAfterTransfer = null;
  }

  /** Members of the last committed configuration (the bootstrap one until a change commits). */
  committedMembers(): readonly Member[] {
    return this.world.checker.committedMembers() ?? this.world.checker.bootstrap;
  }

  /**
   * The wipe assumption (faults.ts), kept across changes: a recovering voter
   * (wiped, or empty since it joined) neither votes nor campaigns until a
   * leader caught it up, so the others must be a majority of the voters by
   * themselves, or no leader is ever elected again.
   */
  #votersCanElect(members: readonly Member[]): boolean {
    const voters = voterIds(members).map((id) => this.world.slot(id));
    const recovering =
      voters.filter((s) =>
        s.io !== null ? s.hard.recovering : s.disk.restored()?.hardState.recovering ?? true
      ).length;
    return 2 * (voters.length - recovering) > voters.length;
  }

  /** A slot that may be added: down and kept out, or started empty and not in yet. */
  #addable(s: Slot): boolean {
    if (this.#lingering.has(s.id) && s.io === null && s.out) this.#lingering.delete(s.id);
    return (s.io === null && s.out) || (s.io !== null && s.joined && !this.#lingering.has(s.id));
  }

  /** Starts spares empty (JOIN=1) and proposes them: one learner, one voter, or two voters. */
  #add(leader: Slot, members: Member[], outside: Slot[]): void {
    const w = this.world;
    const two = outside.length >= 2 && w.prng.chance(this.profile.twoVoterShare);
    const chosen = two ? w.prng.shuffle(outside.slice()).slice(0, 2) : [w.prng.pick(outside)];
    const voter = two || w.prng.chance(0.2);
    for (const s of chosen) this.#startEmpty(s);
    const added = chosen.map((s) => ({ id: s.id, url: s.id, voter }));
    const what = `add ${added.map((m) => (voter ? "" : "~") + m.id).join(",")}`;
    this.#propose(leader, [...members, ...added], what);
  }

  #startEmpty(s: Slot): void {
    const w = this.world;
    if (s.io !== null) return;
    if (s.disk.restored() !== undefined || s.stateDb.lastIndex() > 0) w.wipe(s);
    s.out = false;
    s.joined = true;
    w.start(s);
  }

  /** Leadership moves off the leader first; it is removed once another voter leads. */
  #handOver(leader: Slot, others: string[]): void {
    const w = this.world;
    const to = w.prng.pick(others);
    this.#removeAfterTransfer = leader.id;
    w.trace.add(w.now, () => `membership: hand leadership ${leader.id} -> ${to} to remove it`);
    const waitMs = w.baseConfig.electionTicksMax * TICK_MS;
    leader.io!.driver.transferLeadership(waitMs, to).catch((e) => w.fatal(leader, e));
  }

  #propose(leader: Slot, members: Member[], what: string): void {
    const w = this.world;
    if (!this.#votersCanElect(members)) {
      return w.trace.add(w.now, () => `membership: ${what} skipped (too many voters recovering)`);
    }
    const node = leader.io!.node;
    const result = w.call(leader, () => {
      try {
        return node.proposeMembers(members);
      } catch (err) {
        if (err instanceof MembershipError || err instanceof NotLeaderError) return err;
        throw err;
      }
    });
    if (result instanceof Error) {
      this.stats.refused++;
      const code = result instanceof MembershipError ? result.code : "not_leader";
      return w.trace.add(w.now, () => `membership: ${what} refused (${code})`);
    }
    this.stats.proposed++;
    leader.io!.driver.flush();
    const line = `membership: ${what} proposed at ${result.index}: ${describeMembers(members)}`;
    w.trace.add(w.now, () => line);
    const stay = new Set(members.map((m) => m.id));
    for (const s of w.slots) {
      if (s.io !== null && !stay.has(s.id) && !this.#lingering.has(s.id) && !s.out) {
        this.#lingering.set(s.id, w.now + w.prng.int(1, this.profile.maxLingerTicks));
      }
    }
  }

  /** Index of the last committed configuration entry. */
  #removedAt(): number {
    return this.world.checker.committed.findLast(isConfigEntry)?.index ?? 0;
  }

  /** True when `x` has `id` in the configuration it uses (from PEERS, or the last in its log). */
  #lists(x: Slot, id: string): boolean {
    if (x.io !== null) {
      return this.world.call(x, () => x.io!.node.members()).some((m) => m.id === id);
    }
    const e = x.log.findLast(isConfigEntry);
    return e !== undefined && isConfigEntry(e) && e.config.members.some((m) => m.id === id);
  }

  /**
   * A removed member is stopped (and kept out) once its time is up and its
   * removal is committed; a removal that was rolled back makes it a member
   * again. Stopped, it is a spare: added back, it starts from an empty disk.
   */
  #retire(): void {
    const w = this.world;
    const committed = new Set(this.committedMembers().map((m) => m.id));
    for (const [id, at] of this.#lingering) {
      const s = w.slot(id);
      if (at > w.now || !this.active) continue;
      // Not out as far as anyone committed, or some node still has it in (a
      // pending change, one that may be rolled back, a node not caught up, a
      // wiped one probing its PEERS): it stays.
      const blockers = w.slots.filter((x) => x !== s && !x.out && !this.#lingering.has(x.id));
      if (committed.has(id) || blockers.some((x) => this.#lists(x, id))) {
        continue;
      }
      // A recovering replica probes every member of the configuration in its
      // log, and waits for all of them: one that catches up from a log that
      // still names this member, then restarts, would wait forever (a core
      // limitation, see the README). Stopped only once every log is compacted
      // past its removal, so that catching up starts from a snapshot without it.
      if (blockers.some((x) => (x.disk.snapshotPoint()?.index ?? 0) < this.#removedAt())) continue;
      this.#lingering.delete(id);
      if (s.io !== null) w.crash(s, true, " (stopped: removed from the cluster)");
      s.out = true;
      this.stats.retired++;
    }
  }
}
