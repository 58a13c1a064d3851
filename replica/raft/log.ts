/**
 * The in-memory Raft log of one node: the entries after its snapshot, commit
 * and apply positions, and which suffix is not yet on stable storage. Pure
 * data, no I/O. Entries up to `snapshotIndex` were compacted away: the state
 * machine holds them (it is the snapshot), and only the index and term of
 * the last of them are kept, so that the entry after it can still be matched.
 * The log also knows which configuration is in force (the latest one it
 * holds, see membership.ts), since appends, truncations and snapshots move it.
 */
import { isConfigEntry } from "../../protocol/mod.ts";
import { type ConfigAt, ConfigHistory, type Member } from "./membership.ts";
import { INDEX_LIMIT, type LogEntry, RaftInvariantError, type SnapshotPoint } from "./types.ts";

/** The replicated log with its commit, apply and stable marks. */
export class RaftLog {
  /** entries[i].index === snapshotIndex + i + 1. */
  private entries: LogEntry[];
  /** Last index (and its term) that the snapshot covers; 0 when nothing was compacted. */
  snapshotIndex: number;
  snapshotTerm: number;
  committed: number;
  applied: number;
  /** Last index known to be on stable storage. */
  stabled: number;
  private readonly configs: ConfigHistory;

  /** `bootstrap`: the members before any configuration entry (PEERS), unless the snapshot holds some. */
  constructor(
    restored: LogEntry[] = [],
    snapshot: SnapshotPoint = { index: 0, term: 0 },
    bootstrap: Member[] = [],
  ) {
    restored.forEach((e, i) => {
      if (e.index !== snapshot.index + i + 1) {
        throw new RaftInvariantError(`restored log has a gap at ${snapshot.index + i + 1}`);
      }
    });
    this.configs = new ConfigHistory({
      index: snapshot.members ? snapshot.index : 0,
      members: snapshot.members ?? bootstrap,
    }, bootstrap);
    this.entries = [];
    this.snapshotIndex = snapshot.index;
    this.snapshotTerm = snapshot.term;
    // What a snapshot covers was committed and applied before it was taken.
    this.committed = snapshot.index;
    this.applied = snapshot.index;
    this.append(restored);
    this.stabled = this.lastIndex();
  }

  /** The configuration in force: the latest the log holds. */
  config(): ConfigAt {
    return this.configs.current();
  }

  /** The configuration in force at `index` (the last committed one, for the commit index). */
  configAt(index: number): ConfigAt {
    return this.configs.at(index);
  }

  /** The bootstrap member known as `from` (its URL) is `to` (see `RaftNode.identifyPeer`). */
  renameMember(from: string, to: string): void {
    this.configs.rename(from, to);
  }

  /**
   * A restart with the state machine already at `index`: applied entries
   * were committed, so commit starts there too. A state machine ahead of the
   * restored log would mean applied entries that were never durable here.
   */
  restoreApplied(index: number): void {
    if (!Number.isSafeInteger(index) || index > this.lastIndex()) {
      throw new RaftInvariantError(
        `state machine applied ${index} but the restored log ends at ${this.lastIndex()}`,
      );
    }
    if (index < this.snapshotIndex) {
      throw new RaftInvariantError(
        `state machine applied ${index} but the log was compacted up to ${this.snapshotIndex}`,
      );
    }
    this.committed = index;
    this.applied = index;
  }

  /** Index of the last entry (0 when empty). */
  lastIndex(): number {
    return this.snapshotIndex + this.entries.length;
  }

  /** First index still held as an entry (lastIndex() + 1 when none is). */
  firstIndex(): number {
    return this.snapshotIndex + 1;
  }

  /** Term of the last entry (0 when empty). */
  lastTerm(): number {
    return this.termAt(this.lastIndex());
  }

  /** Term of entry `index`; 0 for index 0; undefined past the end or inside the snapshot. */
  term(index: number): number | undefined {
    if (index === this.snapshotIndex) return this.snapshotTerm;
    if (index < this.snapshotIndex) return undefined;
    return this.entries[index - this.snapshotIndex - 1]?.term;
  }

  /** Term of an index that must exist. */
  termAt(index: number): number {
    const t = this.term(index);
    if (t === undefined) {
      throw new RaftInvariantError(`no entry at ${index} (last ${this.lastIndex()})`);
    }
    return t;
  }

  /** Entry at `index` (must exist, after the snapshot). */
  entry(index: number): LogEntry {
    const e = this.entries[index - this.snapshotIndex - 1];
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

  /** Entries with index in [lo, hi); `lo` must be after the snapshot. */
  slice(lo: number, hi: number): LogEntry[] {
    if (lo <= this.snapshotIndex) {
      throw new RaftInvariantError(`entry ${lo} was compacted (snapshot at ${this.snapshotIndex})`);
    }
    const off = this.snapshotIndex + 1;
    return this.entries.slice(lo - off, hi - off);
  }

  /** Leader path: appends entries that continue the log exactly. */
  append(entries: LogEntry[]): void {
    for (const e of entries) {
      if (e.index !== this.lastIndex() + 1) {
        throw new RaftInvariantError(`append of ${e.index} after ${this.lastIndex()}`);
      }
      if (e.index >= INDEX_LIMIT) throw new RaftInvariantError(`index ${e.index} beyond 2^48`);
      this.entries.push(e);
      if (isConfigEntry(e)) this.configs.appended(e.index, e.config.members);
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
    this.entries.length = index - this.snapshotIndex - 1;
    this.configs.truncatedFrom(index);
    this.stabled = Math.min(this.stabled, index - 1);
  }

  /**
   * Conflict hint (etcd's findConflictByTerm): the largest index <= `index`
   * whose term is <= `term`, with that term. The leader can skip a whole
   * diverging term per round trip instead of one entry.
   */
  findConflictByTerm(index: number, term: number): [number, number] {
    let i = Math.min(index, this.lastIndex());
    // Below the snapshot the terms are gone; everything there is committed,
    // so the snapshot's last entry is as far back as a hint needs to go.
    if (i < this.snapshotIndex) return [i, 0];
    while (i > this.snapshotIndex && this.termAt(i) > term) i--;
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
    return this.entries.slice(this.stabled - this.snapshotIndex);
  }

  /** Marks entries up to `index` stable if the entry there still has `term` (it may have been replaced meanwhile). */
  stableTo(index: number, term: number): void {
    if (index > this.stabled && this.matchTerm(index, term)) this.stabled = index;
  }

  /** Committed entries that are not applied yet and are on stable storage or about to be. */
  toApply(): LogEntry[] {
    // A restored snapshot not installed yet: it brings everything up to its index.
    if (this.applied < this.snapshotIndex) return [];
    const off = this.snapshotIndex;
    return this.entries.slice(this.applied - off, this.committed - off);
  }

  /**
   * Drops the entries up to `index`, which the state machine holds durably
   * (it is the snapshot); returns the new snapshot point. Only applied
   * entries may go, and only stable ones (the storage rewrites its file
   * with the remaining stable entries). The point carries the configuration
   * in force there, which a restart starts from.
   */
  compact(index: number): SnapshotPoint {
    if (index <= this.snapshotIndex) {
      return {
        index: this.snapshotIndex,
        term: this.snapshotTerm,
        members: this.configs.at(this.snapshotIndex).members,
      };
    }
    if (index > this.applied || index > this.stabled) {
      throw new RaftInvariantError(
        `compaction to ${index} past applied ${this.applied} or stable ${this.stabled}`,
      );
    }
    const term = this.termAt(index);
    this.entries = this.entries.slice(index - this.snapshotIndex);
    this.snapshotIndex = index;
    this.snapshotTerm = term;
    this.configs.compactedTo(index);
    return { index, term, members: this.configs.at(index).members };
  }

  /**
   * Replaces the whole log by a snapshot of the leader's state machine at
   * (index, term): every entry is dropped (those up to `index` are in the
   * snapshot and committed; later ones may conflict with the leader's).
   * Whether it may (it must be ahead of what we committed) is the node's
   * rule, `mayIgnoreSnapshot`, which a mutation test breaks on purpose.
   */
  restore(point: SnapshotPoint): void {
    this.entries = [];
    this.snapshotIndex = point.index;
    this.snapshotTerm = point.term;
    this.committed = point.index;
    this.stabled = point.index;
    this.configs.restored(point.index, point.members);
    // `applied` moves once the driver installed it (`appliedTo` from advance): a
    // Ready handed out before may still be applying earlier entries meanwhile.
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
