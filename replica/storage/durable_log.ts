/**
 * The durable storage of one replica: an append-only file of checksummed
 * records (see `record.ts`) holding the Raft log and hard state. Writes are
 * buffered by `save` and reach the disk in one write, with one fdatasync, per
 * `sync`: the group commit. Compaction (and a snapshot from the leader)
 * rewrites the file as hard state, snapshot point and the entries after it,
 * into a new file renamed over the old one: a crash leaves one or the other.
 */
import {
  type HardState,
  type LogEntry,
  RaftInvariantError,
  type SnapshotPoint,
} from "../raft/types.ts";
import {
  decodeRecords,
  encodeRecord,
  isHardState,
  type LogRecord,
  RecordContentError,
} from "./record.ts";
import { concat, writeAll } from "../../common/bytes.ts";
import { judgeTail } from "./torn_tail.ts";
import { exists, parentOf, syncDirectory } from "./fs.ts";

/** Name of the log file inside the data directory. */
export const LOG_FILE_NAME = "raft.log";

const READ_CHUNK_BYTES = 1024 * 1024;

/** What a replica restarts from. */
export interface RestoredLog {
  hardState: HardState;
  /** Where the file was compacted; `entries` start right after it. */
  snapshot?: SnapshotPoint;
  entries: LogEntry[];
  /** True when the directory held no state at all (a new or wiped disk). */
  fresh: boolean;
  /** Bytes cut off the end of the file because a crash tore them (0 normally). */
  discardedBytes: number;
}

/**
 * Without a persisted hard state this disk never promised a vote, which is
 * indistinguishable from a lost disk: the replica must not vote until it has caught up.
 */
const NO_HARD_STATE: HardState = { term: 0, votedFor: "", recovering: true };

/**
 * The log file holds damaged data that is not a torn tail: the replica must
 * not start on it (it may have lost fsynced votes or acknowledged entries).
 */
export class CorruptLogError extends Error {
  constructor(readonly path: string, readonly offset: number, reason: string) {
    super(
      `log file ${path} is corrupt at byte ${offset}: ${reason}; refusing to start ` +
        `(restore the file, or move the data directory away to rejoin empty and be caught up)`,
    );
    this.name = "CorruptLogError";
  }
}

/** Entries per batch record: one JSON encode and one CRC per batch instead of per entry. */
const ENTRIES_PER_RECORD = 4096;

/** The persisted Raft log and hard state of one replica. */
export class DurableLog {
  #restored: RestoredLog | null;
  #lastIndex: number;
  /** The last hard state saved: a rewritten file starts with it. */
  #hardState: HardState;
  #file: Deno.FsFile;
  #writtenBytes: number;
  #buffer: Uint8Array[] = [];
  #bufferedBytes = 0;
  /** Bytes written since the last fdatasync. */
  #unsynced = false;
  /** Tail of the chain that serializes `sync` calls. */
  #queue: Promise<void> = Promise.resolve();
  #failure: Error | null = null;
  #closed = false;

  private constructor(
    readonly path: string,
    file: Deno.FsFile,
    restored: RestoredLog,
    writtenBytes: number,
  ) {
    this.#file = file;
    this.#restored = restored;
    this.#lastIndex = (restored.snapshot?.index ?? 0) + restored.entries.length;
    this.#hardState = restored.hardState;
    this.#writtenBytes = writtenBytes;
  }

  /** Opens (creating if missing) the log in `dir` and recovers its state; see `restored()`. */
  static async open(dir: string): Promise<DurableLog> {
    const dirExisted = await exists(dir);
    await Deno.mkdir(dir, { recursive: true });
    const path = `${dir}/${LOG_FILE_NAME}`;
    const fileExisted = await exists(path);
    const file = await Deno.open(path, { read: true, write: true, create: true });
    try {
      const { restored, validBytes } = await recover(file, path);
      if (restored.discardedBytes > 0) {
        // Later appends must follow the last good record, or recovery would stop before them.
        await file.truncate(validBytes);
        await file.syncData();
      }
      await file.seek(validBytes, Deno.SeekMode.Start);
      // A new file (or directory) only survives a power cut once its directory entry is synced.
      if (!fileExisted) await syncDirectory(dir);
      if (!dirExisted) await syncDirectory(parentOf(dir));
      return new DurableLog(path, file, restored, validBytes);
    } catch (error) {
      file.close();
      throw error;
    }
  }

  /**
   * The state found at open. Handed over once: the log keeps no copy of its
   * entries, so a second call throws.
   */
  restored(): RestoredLog {
    const restored = this.#restored;
    if (!restored) throw new Error("DurableLog.restored() may be called only once");
    this.#restored = null;
    return restored;
  }

  /** Index of the last stored entry, counting saves not yet synced (0 when empty). */
  lastIndex(): number {
    return this.#lastIndex;
  }

  /** Bytes the log file holds once everything saved is written. */
  sizeBytes(): number {
    return this.#writtenBytes + this.#bufferedBytes;
  }

  /**
   * Buffers a Ready's writes: `hardState` (if any), then, if `entries[0]` is at
   * or below the last index, a truncation to just before it, then `entries`.
   * Throws, changing nothing, on entries that would leave a gap or are not consecutive.
   */
  save(hardState: HardState | null, entries: LogEntry[]): void {
    this.#assertUsable();
    // The hard state goes first so that any entry surviving a torn write
    // comes with the term and vote of the same Ready.
    const records: LogRecord[] = [];
    if (hardState !== null) {
      if (!isHardState(hardState)) {
        throw new TypeError(`invalid hard state ${JSON.stringify(hardState)}`);
      }
      records.push({ hardState });
      this.#hardState = hardState;
    }
    let lastIndex = this.#lastIndex;
    if (entries.length > 0) {
      const first = entries[0].index;
      checkContiguous(entries, lastIndex);
      if (first <= lastIndex) records.push({ truncate: first - 1 });
      // Batches keep every record far below MAX_PAYLOAD_BYTES (a stroke is ~200 bytes).
      for (let i = 0; i < entries.length; i += ENTRIES_PER_RECORD) {
        records.push({ entries: entries.slice(i, i + ENTRIES_PER_RECORD) });
      }
      lastIndex = first + entries.length - 1;
    }
    const encoded = records.map(encodeRecord);
    this.#buffer.push(...encoded);
    for (const bytes of encoded) this.#bufferedBytes += bytes.length;
    this.#lastIndex = lastIndex;
  }

  /**
   * Writes everything saved so far in one write and, when `mustSync`, makes it
   * durable with one fdatasync. Calls run one after another. After an I/O
   * error every later call throws: what reached the disk is then unknown
   * (a failed fsync may have dropped the data), so the replica must restart.
   */
  async sync(mustSync: boolean): Promise<void> {
    this.#assertUsable();
    const turn = this.#queue.then(() => this.#flush(mustSync));
    this.#queue = turn.catch(() => {});
    await turn;
  }

  /**
   * Replaces the stored log by `point` and `tail`, the entries right after
   * it (compaction passes every entry saved after the point; a snapshot
   * from the leader passes none, dropping the whole log), durably: a new
   * file is written and fsynced,
   * renamed over this one, and the directory fsynced. Runs in turn with
   * `sync`; a failure leaves the old file in place and the log unusable
   * (the replica must restart).
   */
  async rewrite(point: SnapshotPoint, tail: LogEntry[]): Promise<void> {
    this.#assertUsable();
    if (tail.length > 0) checkContiguous(tail, point.index);
    if (tail.length > 0 && tail[0].index !== point.index + 1) {
      throw new RaftInvariantError(`log tail starts at ${tail[0].index}, not after ${point.index}`);
    }
    const turn = this.#queue.then(() => this.#rewrite(point, tail));
    this.#queue = turn.catch(() => {});
    await turn;
  }

  async #rewrite(point: SnapshotPoint, tail: LogEntry[]): Promise<void> {
    if (this.#failure) throw this.#failure;
    const records: LogRecord[] = [{ hardState: this.#hardState }, { snapshot: point }];
    for (let i = 0; i < tail.length; i += ENTRIES_PER_RECORD) {
      records.push({ entries: tail.slice(i, i + ENTRIES_PER_RECORD) });
    }
    const encoded = records.map(encodeRecord);
    const bytes = concat(encoded);
    const next = `${this.path}.rewrite`;
    try {
      // Writes still buffered belong to the old file: the caller's `tail` says what stays.
      this.#buffer = [];
      this.#bufferedBytes = 0;
      const file = await Deno.open(next, { write: true, create: true, truncate: true });
      try {
        await writeAll(file, bytes);
        await file.syncData();
      } finally {
        file.close();
      }
      await Deno.rename(next, this.path);
      await syncDirectory(parentOf(this.path));
      this.#file.close();
      this.#file = await Deno.open(this.path, { read: true, write: true });
      await this.#file.seek(0, Deno.SeekMode.End);
      this.#writtenBytes = bytes.length;
      this.#unsynced = false;
      this.#lastIndex = point.index + tail.length;
    } catch (error) {
      this.#failure = new Error(`durable log ${this.path} failed to rewrite, restart the replica`, {
        cause: error,
      });
      throw this.#failure;
    }
  }

  /** Writes and syncs anything still buffered, then closes the file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#queue.then(() => this.#flush(true));
    } finally {
      this.#file.close();
    }
  }

  async #flush(mustSync: boolean): Promise<void> {
    if (this.#failure) throw this.#failure;
    try {
      if (this.#buffer.length > 0) {
        const bytes = concat(this.#buffer);
        this.#buffer = [];
        this.#bufferedBytes = 0;
        await writeAll(this.#file, bytes);
        this.#writtenBytes += bytes.length;
        this.#unsynced = true;
      }
      if (mustSync && this.#unsynced) {
        await this.#file.syncData();
        this.#unsynced = false;
      }
    } catch (error) {
      this.#failure = new Error(`durable log ${this.path} failed, restart the replica`, {
        cause: error,
      });
      throw this.#failure;
    }
  }

  #assertUsable(): void {
    if (this.#closed) throw new Error(`durable log ${this.path} is closed`);
    if (this.#failure) throw this.#failure;
  }
}

function checkContiguous(entries: LogEntry[], lastIndex: number): void {
  const first = entries[0].index;
  if (!Number.isSafeInteger(first) || first < 1) {
    throw new RaftInvariantError(`cannot truncate the stored log to ${first - 1} (below 0)`);
  }
  if (first > lastIndex + 1) {
    throw new RaftInvariantError(
      `entry ${first} would leave a gap after stored index ${lastIndex}`,
    );
  }
  entries.forEach((entry, i) => {
    if (entry.index !== first + i || !Number.isSafeInteger(entry.term) || entry.term < 0) {
      throw new RaftInvariantError(
        `entry ${i} of a batch from ${first} has index ${entry.index}, term ${entry.term}`,
      );
    }
  });
}

/**
 * Replays the records in order. Decoding stops at the first record that is
 * short or fails its checksum; the bytes from there on are dropped only when
 * `judgeTail` finds them a torn tail, and are reported as corruption otherwise.
 */
async function recover(
  file: Deno.FsFile,
  path: string,
): Promise<{ restored: RestoredLog; validBytes: number }> {
  const entries: LogEntry[] = [];
  let hardState: HardState | null = null;
  let snapshot: SnapshotPoint | undefined;
  let validBytes = 0;
  let pending: Uint8Array = new Uint8Array(0);
  const chunk = new Uint8Array(READ_CHUNK_BYTES);
  while (true) {
    const n = await file.read(chunk);
    if (n === null) break;
    pending = concat([pending, chunk.subarray(0, n)]);
    let decoded;
    try {
      decoded = decodeRecords(pending);
    } catch (error) {
      if (!(error instanceof RecordContentError)) throw error;
      throw new CorruptLogError(path, validBytes + error.offset, error.reason);
    }
    for (const [i, record] of decoded.records.entries()) {
      const at = { path, offset: validBytes + decoded.offsets[i] };
      const base = snapshot?.index ?? 0;
      if ("hardState" in record) hardState = record.hardState;
      else if ("snapshot" in record) {
        if (snapshot || entries.length > 0) {
          throw new CorruptLogError(path, at.offset, "snapshot point after the start of the log");
        }
        snapshot = record.snapshot;
      } else if ("truncate" in record) truncateTo(entries, base, record.truncate, at);
      else if ("entries" in record) {
        for (const e of record.entries) appendEntry(entries, base, e, at);
      } else appendEntry(entries, base, record.entry, at);
    }
    validBytes += decoded.consumedBytes;
    pending = pending.subarray(decoded.consumedBytes);
    if (decoded.bad) {
      pending = await readRest(file, pending, (await file.stat()).size - validBytes);
      break;
    }
  }
  if (pending.length > 0) {
    const verdict = judgeTail(pending, validBytes);
    if (!verdict.torn) throw new CorruptLogError(path, validBytes, verdict.reason);
  }
  const restored = {
    hardState: hardState ?? { ...NO_HARD_STATE },
    ...(snapshot ? { snapshot } : {}),
    entries,
    fresh: validBytes === 0,
    discardedBytes: pending.length,
  };
  return { restored, validBytes };
}

/** `head` followed by the rest of the file, `totalBytes` in all, read once into one buffer. */
async function readRest(
  file: Deno.FsFile,
  head: Uint8Array,
  totalBytes: number,
): Promise<Uint8Array> {
  const out = new Uint8Array(Math.max(totalBytes, head.length));
  out.set(head);
  let filled = head.length;
  while (filled < out.length) {
    const n = await file.read(out.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  return out.subarray(0, filled);
}

/** Where a record was read, for errors. */
interface RecordAt {
  path: string;
  offset: number;
}

// Checksummed records that contradict the log were written by a bug: crash, never guess.
function truncateTo(entries: LogEntry[], base: number, index: number, at: RecordAt): void {
  const last = base + entries.length;
  if (index > last || index < base) {
    throw new CorruptLogError(
      at.path,
      at.offset,
      `truncation to ${index} outside ${base}..${last}`,
    );
  }
  entries.length = index - base;
}

function appendEntry(entries: LogEntry[], base: number, entry: LogEntry, at: RecordAt): void {
  const last = base + entries.length;
  if (entry.index !== last + 1) {
    throw new CorruptLogError(at.path, at.offset, `entry ${entry.index} after ${last}`);
  }
  entries.push(entry);
}
