/**
 * The leader's side of a snapshot, for the HTTP transport: turns the core's
 * `installSnapshot` request into a copy of the state database (make.ts;
 * shared by every follower that needs one while it is recent enough) streamed to the follower, and the follower's final answer back
 * into the core's `installSnapshotResponse`.
 */
import type { SnapshotMeta } from "../../protocol/snapshot.ts";
import type { RequestMessage, ResponseMessage } from "../raft/types.ts";
import { makeSnapshot } from "./make.ts";
import { sendSnapshot } from "./sender.ts";
import { isDiskFull } from "../storage/disk_full.ts";

type InstallSnapshot = Extract<RequestMessage, { type: "installSnapshot" }>;

/** How long after the last compaction a copy is made ahead of need (see `prepare`). */
const QUIET_MS = 1000;
/** The longest the duty-cycle rule delays it: a pause in writes gets its copy within seconds. */
const MAX_COOLDOWN_MS = 5000;

/** Files of this name in DATA_DIR are the leader's outgoing copies (removed at start). */
export const OUTGOING_PREFIX = "snapshot.outgoing-";

interface Copy {
  path: string;
  meta: SnapshotMeta;
  /** Transfers reading the file; the file is removed once it is replaced and unread. */
  readers: number;
  replaced: boolean;
}

/** Ships snapshots of one replica's state database to its peers. */
export class SnapshotShipper {
  #current: Copy | null = null;
  #making: Promise<Copy> | null = null;
  #generation = 0;
  /** A copy made ahead of need waits for this timer (see `prepare`). */
  #prepareTimer: ReturnType<typeof setTimeout> | undefined;
  #lastMadeAt = 0;
  #lastMakeMs = 0;

  constructor(
    private readonly dataDir: string,
    private readonly dbPath: string,
    private readonly token: string | null,
    private readonly timeoutMs: number,
    private readonly onEvent: (event: string, fields: Record<string, string | number>) => void,
    /** A full disk while copying stops the replica (see `disk_full.ts`). */
    private readonly onFatal: (e: unknown) => void,
  ) {}

  /** The follower's answer as the core's message, or null when it could not be delivered. */
  async ship(m: InstallSnapshot, url: string): Promise<ResponseMessage | null> {
    let copy: Copy;
    const asked = Date.now();
    try {
      copy = await this.#copyAtLeast(m.snapshotIndex);
    } catch (e) {
      if (isDiskFull(e)) this.onFatal(e);
      this.onEvent("snapshot_copy_failed", { error: String(e) });
      return null;
    }
    copy.readers++;
    const started = Date.now();
    try {
      const r = await sendSnapshot({
        url,
        token: this.token,
        path: copy.path,
        meta: copy.meta,
        term: m.term,
        leaderId: m.from,
        timeoutMs: this.timeoutMs,
      });
      this.onEvent("snapshot_shipped", {
        to: m.to,
        index: copy.meta.index,
        bytes: copy.meta.bytes,
        ms: Date.now() - started,
        copy_ms: started - asked,
        result: r.kind,
      });
      const envelope = { from: m.to, to: m.from, epoch: m.epoch ?? 0 };
      if (r.kind === "failed") return null;
      if (r.kind === "stale") {
        // A newer term: the core steps down on hearing it.
        const base = { ...envelope, term: r.term, matchIndex: 0, logLength: 0, incarnation: 0 };
        return { ...base, type: "installSnapshotResponse", success: false };
      }
      const a = r.answer;
      return {
        ...envelope,
        type: "installSnapshotResponse",
        term: a.term,
        success: a.success,
        matchIndex: a.matchIndex,
        logLength: a.logLength,
        incarnation: a.incarnation,
      };
    } finally {
      copy.readers--;
      this.#removeIfDone(copy);
    }
  }

  /**
   * Makes a copy covering `index` ahead of need, in the background (the
   * leader calls this after each compaction, when the copy it holds stops
   * covering its snapshot point), so a follower that needs a snapshot gets
   * one at once instead of waiting for a copy of the whole database. A copy
   * reads and writes the whole database: under sustained writes, copies
   * made after every compaction (a 140 MB copy every few seconds at 1M
   * strokes) came with leader changes on a busy 2-core machine. So the copy
   * waits for writes to pause (no compaction for `QUIET_MS`), and copies
   * take at most a tenth of the time (the next starts no sooner than nine
   * times the last one's duration after it ended, but within 5 s: at 1M
   * strokes the rule alone kept the copy from being ready 20 s after the
   * writes stopped). Under sustained writes a catch-up makes its copy on
   * demand, as before.
   */
  prepare(index: number): void {
    if (this.#current && this.#current.meta.index >= index) return;
    clearTimeout(this.#prepareTimer);
    const cooldown = this.#lastMadeAt + 9 * this.#lastMakeMs - Date.now();
    this.#prepareTimer = setTimeout(() => {
      this.#prepareTimer = undefined;
      if (this.#making) return; // a catch-up is making one
      this.#copyAtLeast(index).catch((e) => {
        if (isDiskFull(e)) this.onFatal(e);
        this.onEvent("snapshot_copy_failed", { error: String(e) });
      });
    }, Math.max(QUIET_MS, Math.min(cooldown, MAX_COOLDOWN_MS)));
  }

  /** Stops a copy waiting to be made ahead of need. */
  close(): void {
    clearTimeout(this.#prepareTimer);
    this.#prepareTimer = undefined;
  }

  /** The current copy if it covers `index`, else a new one (one copy is made at a time). */
  async #copyAtLeast(index: number): Promise<Copy> {
    if (this.#current && this.#current.meta.index >= index) return this.#current;
    if (!this.#making) {
      const path = `${this.dataDir}/${OUTGOING_PREFIX}${++this.#generation}.sqlite`;
      const started = Date.now();
      this.#making = makeSnapshot(this.dbPath, path).then((meta) => {
        this.#lastMadeAt = Date.now();
        this.#lastMakeMs = this.#lastMadeAt - started;
        this.onEvent("snapshot_copy_made", {
          index: meta.index,
          bytes: meta.bytes,
          ms: this.#lastMakeMs,
        });
        const old = this.#current;
        this.#current = { path, meta, readers: 0, replaced: false };
        if (old) {
          old.replaced = true;
          this.#removeIfDone(old);
        }
        return this.#current;
      }).finally(() => this.#making = null);
    }
    const copy = await this.#making;
    // Made for an earlier, smaller request: one more round.
    return copy.meta.index >= index ? copy : this.#copyAtLeast(index);
  }

  #removeIfDone(copy: Copy): void {
    if (copy.replaced && copy.readers === 0) Deno.remove(copy.path).catch(() => {});
  }
}
