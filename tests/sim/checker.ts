/**
 * Cluster-wide safety properties of Raft (Figure 3 of the paper), checked
 * against everything any node has ever written, committed or applied.
 */
import type { LogEntry } from "../../replica/raft/types.ts";
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

  /** Log matching: an (index, term) names one entry and one predecessor, across all nodes and time. */
  entriesWritten(id: string, log: readonly LogEntry[], written: readonly LogEntry[]): void {
    for (const e of written) {
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
