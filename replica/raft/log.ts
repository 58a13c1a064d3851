/**
 * The in-memory Raft log of one node: entries, commit and apply positions,
 * and which suffix is not yet on stable storage. Pure data, no I/O.
 */
import { INDEX_LIMIT, type LogEntry, RaftInvariantError } from "./types.ts";

/** The replicated log with its commit, apply and stable marks. */
export class RaftLog {
  /** entries[i].index === i + 1. Snapshots will add an offset here. */
  private entries: LogEntry[];
  committed = 0;
  applied = 0;
  /** Last index known to be on stable storage. */
  stabled: number;

  constructor(restored: LogEntry[] = []) {
    restored.forEach((e, i) => {
      if (e.index !== i + 1) throw new RaftInvariantError(`restored log has a gap at ${i + 1}`);
    });
    this.entries = restored.slice();
    this.stabled = this.entries.length;
  }

  /**
   * A restart with the state machine already at `index`: applied entries
   * were committed, so commit starts there too. A state machine ahead of the
   * restored log would mean applied entries that were never durable here.
   */
  restoreApplied(index: number): void {
    if (!Number.isSafeInteger(index) || index < 0 || index > this.lastIndex()) {
      throw new RaftInvariantError(
        `state machine applied ${index} but the restored log ends at ${this.lastIndex()}`,
      );
    }
    this.committed = index;
    this.applied = index;
  }

  /** Index of the last entry (0 when empty). */
  lastIndex(): number {
    return this.entries.length;
  }

  /** Term of the last entry (0 when empty). */
  lastTerm(): number {
    return this.termAt(this.lastIndex());
  }

  /** Term of entry `index`; 0 for index 0; undefined past the end. */
  term(index: number): number | undefined {
    if (index === 0) return 0;
    return this.entries[index - 1]?.term;
  }

  /** Term of an index that must exist. */
  termAt(index: number): number {
    const t = this.term(index);
    if (t === undefined) {
      throw new RaftInvariantError(`no entry at ${index} (last ${this.lastIndex()})`);
    }
    return t;
  }

  /** Entry at `index` (must exist). */
  entry(index: number): LogEntry {
    const e = this.entries[index - 1];
    if (!e) throw new RaftInvariantError(`no entry at ${index}`);
    return e;
  }

  /** True when the log has an entry at `index` with `term` (index 0 always matches). */
  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** Raft 5.4.1: is a log ending at (lastIndex, lastTerm) at least as up to date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /** Entries with index in [lo, hi). */
  slice(lo: number, hi: number): LogEntry[] {
    return this.entries.slice(lo - 1, hi - 1);
  }

  /** Leader path: appends entries that continue the log exactly. */
  append(entries: LogEntry[]): void {
    for (const e of entries) {
      if (e.index !== this.lastIndex() + 1) {
        throw new RaftInvariantError(`append of ${e.index} after ${this.lastIndex()}`);
      }
      if (e.index >= INDEX_LIMIT) throw new RaftInvariantError(`index ${e.index} beyond 2^48`);
      this.entries.push(e);
    }
  }

  /**
   * Follower path: if our log matches (prevIndex, prevTerm), merges `entries`
   * (truncating from the first conflict only) and returns the last index now
   * known to match the sender; otherwise returns null.
   */
  maybeAppend(prevIndex: number, prevTerm: number, entries: LogEntry[]): number | null {
    if (!this.matchTerm(prevIndex, prevTerm)) return null;
    const lastNew = prevIndex + entries.length;
    const conflict = entries.find((e) => !this.matchTerm(e.index, e.term));
    if (conflict) {
      if (conflict.index <= this.lastIndex()) this.truncateFrom(conflict.index);
      this.append(entries.slice(conflict.index - prevIndex - 1));
    }
    return lastNew;
  }

  /** Drops entries from `index` on. Committed entries are never dropped. */
  private truncateFrom(index: number): void {
    if (index <= this.committed) {
      throw new RaftInvariantError(`truncating at ${index} at or below commit ${this.committed}`);
    }
    this.entries.length = index - 1;
    this.stabled = Math.min(this.stabled, index - 1);
  }

  /**
   * Conflict hint (etcd's findConflictByTerm): the largest index <= `index`
   * whose term is <= `term`, with that term. The leader can skip a whole
   * diverging term per round trip instead of one entry.
   */
  findConflictByTerm(index: number, term: number): [number, number] {
    let i = Math.min(index, this.lastIndex());
    while (i > 0 && this.termAt(i) > term) i--;
    return [i, this.term(i) ?? 0];
  }

  /** Raises the commit index; lower values are stale news and ignored. */
  commitTo(index: number): boolean {
    if (index <= this.committed) return false;
    if (index > this.lastIndex()) {
      throw new RaftInvariantError(`commit ${index} beyond last index ${this.lastIndex()}`);
    }
    this.committed = index;
    return true;
  }

  /** Entries not yet on stable storage. */
  unstable(): LogEntry[] {
    return this.entries.slice(this.stabled);
  }

  /** Marks entries up to `index` stable if the entry there still has `term` (it may have been replaced meanwhile). */
  stableTo(index: number, term: number): void {
    if (index > this.stabled && this.matchTerm(index, term)) this.stabled = index;
  }

  /** Committed entries that are not applied yet and are on stable storage or about to be. */
  toApply(): LogEntry[] {
    return this.entries.slice(this.applied, this.committed);
  }

  /** Records that entries up to `index` were applied. */
  appliedTo(index: number): void {
    if (index > this.committed) {
      throw new RaftInvariantError(`applied ${index} beyond commit ${this.committed}`);
    }
    if (index < this.applied) throw new RaftInvariantError(`applied going back to ${index}`);
    this.applied = index;
  }
}
