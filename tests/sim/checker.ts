/**
 * Cluster-wide safety properties of Raft (Figure 3 of the paper), checked
 * against everything any node has ever written, committed or applied.
 */
import type { LogEntry } from "../../replica/raft/types.ts";
import { isConfigEntry } from "../../protocol/mod.ts";
import { type Member, voterIds } from "../../replica/raft/membership.ts";
import { SimViolation } from "./violation.ts";

/** What an entry carries, so that two entries can be compared cheaply. */
export function payloadKey(e: LogEntry): string {
  if ("stroke" in e) return `stroke:${e.stroke.id}`;
  if ("noop" in e) return "noop";
  return JSON.stringify(e);
}

function describe(e: LogEntry | undefined): string {
  return e ? `(${e.index},${e.term},${payloadKey(e)})` : "(missing)";
}

/** "n1,n2,~n4": voters, and learners with a tilde. */
export function describeMembers(members: readonly Member[]): string {
  return members.map((m) => (m.voter ? "" : "~") + m.id).join(",");
}

function same(a: LogEntry | undefined, b: LogEntry): boolean {
  return a !== undefined && a.index === b.index && a.term === b.term &&
    payloadKey(a) === payloadKey(b);
}

/** Global history of a run; every method throws `SimViolation` on a broken rule. */
export class Checker {
  /** term -> the one node that led it. */
  readonly leaders = new Map<number, string>();
  /** "index:term" -> payload, and -> term of the entry before it. */
  #payloadAt = new Map<string, string>();
  #prevTermAt = new Map<string, number>();
  /** The committed log as far as any node has learnt it (index i at i-1). */
  readonly committed: LogEntry[] = [];
  /** Term of the node that first reported each committed index (at least the term it committed in). */
  #commitTerms: number[] = [];
  /** index -> the proposal acknowledged there. */
  readonly acknowledged = new Map<number, { term: number; id: string }>();
  /** Highest commit index a leader announced (every announced index is committed). */
  knownCommit = 0;

  /** `bootstrap`: the configuration before any configuration entry (the initial voters). */
  constructor(readonly bootstrap: readonly Member[] = []) {}

  /** The members of the last committed configuration entry (undefined: the bootstrap holds). */
  committedMembers(): Member[] | undefined {
    const e = this.committed.findLast(isConfigEntry);
    return e && isConfigEntry(e) ? e.config.members : undefined;
  }

  /**
   * Membership, at the moment `id` becomes leader of `term` with `members`
   * in force in its log: it is a voter there, and the votes it was granted
   * in this term by that configuration's voters (itself included) are a
   * majority of them. `grantedBy` is every voter whose granted vote of
   * `term` was delivered to it; votes from anyone else never count.
   */
  electedByMajority(
    id: string,
    term: number,
    members: readonly Member[],
    grantedBy: ReadonlySet<string>,
  ): void {
    const voters = voterIds(members);
    if (!voters.includes(id)) {
      throw new SimViolation(
        "membership",
        `${id} leads term ${term} but is not a voter of its configuration ${
          describeMembers(members)
        }`,
      );
    }
    const votes = voters.filter((v) => v === id || grantedBy.has(v));
    if (2 * votes.length <= voters.length) {
      throw new SimViolation(
        "membership",
        `${id} leads term ${term} with votes of ${votes.join(",")} only, of voters ${
          voters.join(",")
        }` +
          ` (granted by ${[...grantedBy].join(",") || "nobody"})`,
      );
    }
  }

  /**
   * One change at a time: beyond the committed prefix (as far as any leader
   * announced it) a log holds at most one configuration entry, since a leader
   * proposes a change only once the one before it committed.
   */
  onePendingChange(id: string, log: readonly LogEntry[]): void {
    const from = Math.max(this.knownCommit, this.committed.length);
    const pending = log.slice(from).filter(isConfigEntry);
    if (pending.length > 1) {
      throw new SimViolation(
        "membership",
        `${id} holds ${pending.length} configuration changes beyond commit ${from}: ` +
          pending.map((e) => e.index).join(","),
      );
    }
  }

  /** Election safety and leader completeness, at the moment `id` becomes leader of `term`. */
  leaderElected(id: string, term: number, log: readonly LogEntry[]): void {
    const other = this.leaders.get(term);
    if (other !== undefined && other !== id) {
      throw new SimViolation("election-safety", `${id} and ${other} both lead term ${term}`);
    }
    this.leaders.set(term, id);
    // Raft promises committed entries only to leaders of terms after the commit.
    for (const e of this.committed) {
      if (this.#commitTerms[e.index - 1] < term && !same(log[e.index - 1], e)) {
        throw new SimViolation(
          "leader-completeness",
          `${id} leads term ${term} without committed ${describe(e)}; has ${
            describe(log[e.index - 1])
          }`,
        );
      }
    }
  }

  /**
   * Log matching: an (index, term) names one entry and one predecessor, across all nodes and time.
   * Single-server changes: a configuration entry differs from the one in force before it by at most one voter.
   */
  entriesWritten(id: string, log: readonly LogEntry[], written: readonly LogEntry[]): void {
    for (const e of written) {
      if (isConfigEntry(e)) this.#singleServer(id, log, e);
      const key = `${e.index}:${e.term}`;
      const payload = payloadKey(e);
      const known = this.#payloadAt.get(key);
      if (known === undefined) this.#payloadAt.set(key, payload);
      else if (known !== payload) {
        throw new SimViolation(
          "log-matching",
          `${id} wrote ${describe(e)} but (${e.index},${e.term}) was ${known} elsewhere`,
        );
      }
      const prevTerm = e.index === 1 ? 0 : log[e.index - 2].term;
      const knownPrev = this.#prevTermAt.get(key);
      if (knownPrev === undefined) this.#prevTermAt.set(key, prevTerm);
      else if (knownPrev !== prevTerm) {
        throw new SimViolation(
          "log-matching",
          `${id} has ${describe(e)} after term ${prevTerm}; elsewhere it follows term ${knownPrev}`,
        );
      }
    }
  }

  /** Entries `from..to` of `id`'s log are committed (it is at `term`): they must agree with what others committed. */
  committedUpTo(
    id: string,
    term: number,
    log: readonly LogEntry[],
    from: number,
    to: number,
  ): void {
    for (let i = from; i <= to; i++) {
      const e = log[i - 1];
      if (e === undefined) {
        throw new SimViolation("ready-contract", `${id} commits ${i} beyond its log ${log.length}`);
      }
      this.#agree(id, "committed", e, term);
    }
  }

  /** `id` (at `term`) applied `e`: applied sequences must be prefixes of one another. */
  applied(id: string, term: number, e: LogEntry): void {
    this.#agree(id, "applied", e, term);
    const ack = this.acknowledged.get(e.index);
    if (ack && (ack.term !== e.term || payloadKey(e) !== `stroke:${ack.id}`)) {
      throw new SimViolation(
        "acknowledged-lost",
        `${id} applied ${describe(e)} where (${e.index},${ack.term},${ack.id}) was acknowledged`,
      );
    }
  }

  /** `id` installed a snapshot holding `entries` (1..n): they must be the committed log. */
  snapshotInstalled(id: string, term: number, entries: readonly LogEntry[]): void {
    for (const e of entries) this.#agree(id, "installed", e, term);
  }

  /** A client was told its stroke is committed at `index`. */
  acknowledge(index: number, id: string): void {
    const e = this.committed[index - 1];
    if (!e || payloadKey(e) !== `stroke:${id}`) {
      throw new SimViolation(
        "acknowledged-lost",
        `ack of ${id} at ${index} but the committed entry is ${describe(e)}`,
      );
    }
    this.acknowledged.set(index, { term: e.term, id });
  }

  #singleServer(
    id: string,
    log: readonly LogEntry[],
    e: LogEntry & { config: { members: Member[] } },
  ): void {
    let before: readonly Member[] = this.bootstrap;
    for (let i = e.index - 2; i >= 0; i--) {
      const p = log[i];
      if (p && isConfigEntry(p)) {
        before = p.config.members;
        break;
      }
    }
    const was = new Set(voterIds(before));
    const is = new Set(voterIds(e.config.members));
    const changed = [...is].filter((v) => !was.has(v)).length +
      [...was].filter((v) => !is.has(v)).length;
    if (changed > 1 || is.size === 0) {
      throw new SimViolation(
        "membership",
        `${id} wrote configuration (${e.index},${e.term}) ${describeMembers(e.config.members)} ` +
          `after ${describeMembers(before)}: ${changed} voters changed at once`,
      );
    }
  }

  #agree(id: string, what: string, e: LogEntry, term: number): void {
    const known = this.committed[e.index - 1];
    if (known !== undefined) {
      if (!same(known, e)) {
        throw new SimViolation(
          "state-machine-safety",
          `${id} ${what} ${describe(e)} but ${describe(known)} was committed before`,
        );
      }
    } else if (e.index === this.committed.length + 1) {
      this.committed.push(e);
      this.#commitTerms.push(term);
    } else {
      throw new SimViolation(
        "ready-contract",
        `${id} ${what} ${describe(e)} while the committed log ends at ${this.committed.length}`,
      );
    }
  }
}
