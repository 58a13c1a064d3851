/**
 * Cluster membership, changed through the log one server at a time (Raft
 * thesis 4.1). A configuration is the list of members; voters count towards
 * elections and commit, learners (non-voters) only replicate. A node uses
 * the latest configuration in its log, committed or not, from the moment
 * it appends it; if that entry is truncated away, the one before it is in
 * force again. `ConfigHistory` keeps that list for the log the node holds.
 *
 * Why one voter at a time cannot produce two majorities: say the old voters
 * C are n servers and the new voters C' add one (n + 1) or remove one
 * (n - 1). A majority of k servers has floor(k/2) + 1 of them. Adding: the
 * two majorities hold at least floor(n/2) + floor((n+1)/2) + 2 = n + 2
 * servers out of the n + 1 in C ∪ C'. Removing: at least floor(n/2) +
 * floor((n-1)/2) + 2 = n + 1 out of the n in C ∪ C' = C. Either way some
 * server is in both, and it votes once per term and holds what it acked:
 * no two leaders in one term, no commit in one configuration that the
 * other's next leader lacks. Learners are in no majority, so adding or
 * removing one is always safe, and a learner's promotion is the one step.
 *
 * The known pitfall (thesis 4.1, "bug in single-server changes"): a leader
 * must commit an entry of its own term before it proposes a change, or a
 * change by a previous leader that never committed can be overwritten by a
 * change of the new leader while a third configuration already acted on it,
 * and two disjoint majorities follow. (`url` of a member is for the adapter;
 * the core only carries it.) `RaftNode.proposeMembers` refuses
 * until the leader's no-op is committed, and while an earlier change is not.
 */

import type { Member } from "../../protocol/mod.ts";

export type { Member };

/** One configuration in the log: the members it sets, and the index of its entry (0: bootstrap or snapshot). */
export interface ConfigAt {
  index: number;
  members: Member[];
}

/** Why a proposed configuration is refused. */
export type ChangeRefusal = "in_progress" | "no_commit_in_term" | "invalid";

/** Refusal of `RaftNode.proposeMembers`. */
export class MembershipError extends Error {
  constructor(readonly code: ChangeRefusal, message: string) {
    super(message);
    this.name = "MembershipError";
  }
}

/** Ids of the voters. */
export function voterIds(members: readonly Member[]): string[] {
  return members.filter((m) => m.voter).map((m) => m.id);
}

/**
 * Why going from `from` to `to` is not a single-server change, or null when
 * it is one: distinct ids, at least one voter, and the voter sets differ by
 * at most one server (a learner may come or go at the same time as nothing
 * else changes about voters).
 */
export function singleServerChange(from: readonly Member[], to: readonly Member[]): string | null {
  const ids = to.map((m) => m.id);
  if (new Set(ids).size !== ids.length) return "a member is listed twice";
  const before = new Set(voterIds(from));
  const after = new Set(voterIds(to));
  if (after.size === 0) return "the configuration would have no voter";
  let changed = 0;
  for (const v of after) if (!before.has(v)) changed++;
  for (const v of before) if (!after.has(v)) changed++;
  if (changed > 1) return "only one voter may be added or removed at a time";
  let moved = 0;
  const old = new Map(from.map((m) => [m.id, m]));
  for (const m of to) {
    const o = old.get(m.id);
    if (!o || o.voter !== m.voter || o.url !== m.url || o.disk !== m.disk) moved++;
  }
  for (const m of from) if (!to.some((n) => n.id === m.id)) moved++;
  if (moved === 0) return "the configuration is unchanged";
  if (moved > 1) return "only one member may change at a time";
  return null;
}

/**
 * The configurations of the log a node holds: the one in force at its
 * snapshot point (or the bootstrap configuration), and one per configuration
 * entry after it. The last is the one in force.
 */
export class ConfigHistory {
  private base: ConfigAt;
  private later: ConfigAt[] = [];
  /** The bootstrap configuration (PEERS): what a snapshot without members holds. */
  private readonly bootstrap: Member[];

  constructor(base: ConfigAt, bootstrap: readonly Member[] = base.members) {
    this.base = { index: base.index, members: copy(base.members) };
    this.bootstrap = copy(bootstrap);
  }

  /** The configuration in force: the latest in the log. */
  current(): ConfigAt {
    return this.later.at(-1) ?? this.base;
  }

  /** The configuration in force once the log is cut at `index` (what a snapshot at `index` holds). */
  at(index: number): ConfigAt {
    for (let i = this.later.length - 1; i >= 0; i--) {
      if (this.later[i].index <= index) return this.later[i];
    }
    return this.base;
  }

  /** An appended configuration entry. */
  appended(index: number, members: readonly Member[]): void {
    this.later.push({ index, members: copy(members) });
  }

  /** Entries from `index` on were dropped: the configurations they set no longer hold. */
  truncatedFrom(index: number): void {
    while ((this.later.at(-1)?.index ?? 0) >= index) this.later.pop();
  }

  /** The log was compacted up to `index`: what was in force there becomes the base. */
  compactedTo(index: number): void {
    this.base = this.at(index);
    this.later = this.later.filter((c) => c.index > index);
  }

  /**
   * The log was replaced by a snapshot holding `members` (none: nothing was
   * ever changed where it came from, so the bootstrap configuration, not
   * whatever this log held: found by the simulator).
   */
  restored(index: number, members: readonly Member[] | undefined): void {
    this.base = members
      ? { index, members: copy(members) }
      : { index: 0, members: copy(this.bootstrap) };
    this.later = [];
  }

  /** The bootstrap member known as `from` (its URL, before its id was learnt) is `to`. */
  rename(from: string, to: string): void {
    for (const c of [this.base, ...this.later, { index: 0, members: this.bootstrap }]) {
      for (const m of c.members) if (m.id === from) m.id = to;
    }
  }
}

function copy(members: readonly Member[]): Member[] {
  return members.map((m) => ({ ...m }));
}
