/**
 * A node's disk: what was fsynced survives a crash; what was only written may
 * survive in part (a prefix of the writes, in order) or not at all. A
 * rewrite (compaction, a snapshot from the leader) is durable at once, as
 * the replica's rename is; the disk keeps every entry for the checks and
 * hands back only those after the snapshot point on a restart.
 */
import type {
  HardState,
  LogEntry,
  RestoredState,
  SnapshotPoint,
} from "../../replica/raft/types.ts";
import type { Prng } from "../testing/prng.ts";
import { SimViolation } from "./violation.ts";

type Write = { hardState: HardState } | { entries: LogEntry[] };

/** Puts `entries` into `log`, truncating from `entries[0].index` first (the Ready contract). */
export function writeEntries(log: LogEntry[], entries: readonly LogEntry[]): void {
  if (entries.length === 0) return;
  const first = entries[0].index;
  if (first < 1 || first > log.length + 1) {
    throw new SimViolation(
      "ready-contract",
      `entries start at ${first} but the log ends at ${log.length}`,
    );
  }
  log.length = first - 1;
  for (let i = 0; i < entries.length; i++) {
    if (entries[i].index !== first + i) {
      throw new SimViolation("ready-contract", `entries not contiguous at ${entries[i].index}`);
    }
    log.push(entries[i]);
  }
}

/** Durable state of one node, with a crash model for unsynced writes. */
export class SimDisk {
  #hardState: HardState | null = null;
  #log: LogEntry[] = [];
  #snapshot: SnapshotPoint | null = null;
  #pending: Write[] = [];

  /** Writes a Ready's hard state and entries; `sync` makes everything written so far durable. */
  write(hardState: HardState | null, entries: readonly LogEntry[], sync: boolean): void {
    if (entries.length > 0) this.#pending.push({ entries: entries.slice() });
    if (hardState) this.#pending.push({ hardState: { ...hardState } });
    if (sync) this.#flush(this.#pending.length);
  }

  /** Makes everything written so far durable (an fsync). */
  sync(): void {
    this.#flush(this.#pending.length);
  }

  /** The durable hard state (what a restart would read), null for none. */
  syncedHardState(): HardState | null {
    return this.#hardState;
  }

  /** The durable log (what a restart would read); not to be modified. */
  syncedLog(): readonly LogEntry[] {
    return this.#log;
  }

  /**
   * The stored log now starts after `point`. `prefix` (entries 1..point) is
   * what a snapshot from the leader brought; compaction passes none, as the
   * disk already holds those entries.
   */
  rewrite(point: SnapshotPoint, prefix?: readonly LogEntry[]): void {
    this.sync();
    if (prefix) this.#log = prefix.slice();
    if (this.#log[point.index - 1]?.term !== point.term) {
      throw new SimViolation("ready-contract", `rewrite to ${point.index} unlike the stored log`);
    }
    this.#snapshot = { ...point };
  }

  /** The durable snapshot point, if the log was ever compacted. */
  snapshotPoint(): SnapshotPoint | null {
    return this.#snapshot;
  }

  /** Power loss: a random prefix of the unsynced writes reaches the platter. Returns how many were lost. */
  crash(prng: Prng): number {
    const kept = prng.int(0, this.#pending.length);
    const lost = this.#pending.length - kept;
    this.#flush(kept);
    this.#pending = [];
    return lost;
  }

  /** The disk is replaced by an empty one. */
  wipe(): void {
    this.#hardState = null;
    this.#log = [];
    this.#snapshot = null;
    this.#pending = [];
  }

  /** What a restarted node reads back; undefined for an empty disk. */
  restored(): RestoredState | undefined {
    if (!this.#hardState && this.#log.length === 0) return undefined;
    const hardState = this.#hardState ?? { term: 0, votedFor: "", recovering: true };
    if (!this.#snapshot) return { hardState: { ...hardState }, entries: this.#log.slice() };
    return {
      hardState: { ...hardState },
      snapshot: { ...this.#snapshot },
      entries: this.#log.slice(this.#snapshot.index),
    };
  }

  #flush(count: number): void {
    for (const w of this.#pending.slice(0, count)) {
      if ("hardState" in w) this.#hardState = w.hardState;
      else writeEntries(this.#log, w.entries);
    }
    this.#pending = this.#pending.slice(count);
  }
}
