/**
 * The gateway's one follower of the committed log: long-polls `/entries` from its last index
 * (on the leader when known, else any reachable replica) and keeps the strokes and board ops
 * of the recent entries in a bounded cache for the sessions that are in step. Older history
 * stays on the replicas (`HistoryReader`), and so do the board counts (`GET /boards`).
 */
import type { EntriesResponse } from "../protocol/mod.ts";
import type { ReplicaClient } from "../replica/client.ts";
import type { Cluster } from "./cluster.ts";
import type { Logger } from "../common/log.ts";
import { boardEntryOf, RecentCache } from "./recent_cache.ts";
import { backoffMs, sleep } from "./retry.ts";

/** Tuning; times in milliseconds. */
export interface CommitStreamOptions {
  cluster: Cluster;
  client: ReplicaClient;
  log: Logger;
  /** Called once per page taken in, with the boards that got new entries (maybe none). */
  onCommitted: (boards: Set<string>) => void;
  pollWaitMs?: number;
  batchLimit?: number;
  /** Strokes kept for in-step sessions; at least twice `batchLimit`, so a page never skips them. */
  cacheEntries?: number;
}

/**
 * Default size of the recent cache, ~15 MiB: at a few thousand strokes a second it holds more
 * than `slowClientTimeoutMs` of traffic, so a live client that lags (and is not closed for it)
 * stays in the cache; paging from a replica is for replays and truly slow readers, since under
 * load it costs far more than a cache read (a 4096-stroke cache made the bench's 64-client
 * runs lag by seconds).
 */
export const DEFAULT_CACHE_ENTRIES = 65_536;

/** One per gateway. */
export class CommitStream {
  readonly #o: Required<CommitStreamOptions>;
  readonly #stop = new AbortController();
  readonly cache: RecentCache;
  #lastIndex = 0;
  #caughtUp = false;
  #source: string | null = null;
  #poll: AbortController | null = null;

  constructor(opts: CommitStreamOptions) {
    this.#o = {
      pollWaitMs: 10_000,
      batchLimit: 1000,
      cacheEntries: DEFAULT_CACHE_ENTRIES,
      ...opts,
    };
    this.cache = new RecentCache(Math.max(this.#o.cacheEntries, 2 * this.#o.batchLimit));
  }

  /** Index of the last log entry (of any board) the gateway has taken in. */
  get lastIndex(): number {
    return this.#lastIndex;
  }

  /** True once a replica's answer showed nothing committed beyond `lastIndex` (it may lag since). */
  get caughtUp(): boolean {
    return this.#caughtUp;
  }

  /** Starts following the log. */
  start(): void {
    void this.#run();
  }

  /** Stops following; an outstanding long poll is aborted. */
  stop(): void {
    this.#stop.abort();
    this.#poll?.abort();
  }

  /** The leader changed: leave a follower's long poll to read from the leader (less lag). */
  preferLeader(): void {
    const leader = this.#o.cluster.leader;
    if (leader && leader.url !== this.#source) this.#poll?.abort();
  }

  async #run(): Promise<void> {
    let failures = 0;
    let failedUrl: string | null = null;
    while (!this.#stop.signal.aborted) {
      const url = this.#pickSource(failedUrl);
      if (!url) {
        await this.#o.cluster.refresh();
        await sleep(backoffMs(failures++, 100), this.#stop.signal);
        continue;
      }
      const error = await this.#pollOnce(url);
      if (error === null) {
        failures = 0;
        failedUrl = null;
        continue;
      }
      if (this.#stop.signal.aborted) return;
      if (error === "switch") continue;
      this.#o.log[failures === 0 ? "info" : "debug"]("stream_source_failed", { url, error });
      failedUrl = url;
      if (error === "network") this.#o.cluster.reportFailure(url);
      await sleep(backoffMs(failures++, 100), this.#stop.signal);
    }
  }

  /** The leader unless it just failed us; otherwise the next reachable replica after it. */
  #pickSource(failedUrl: string | null): string | null {
    const leader = this.#o.cluster.leader?.url;
    if (leader && leader !== failedUrl) return this.#switchTo(leader);
    const candidates = this.#o.cluster.reachableUrls().filter((u) => u !== failedUrl);
    const all = this.#o.cluster.urls.filter((u) => u !== failedUrl);
    return this.#switchTo(candidates[0] ?? all[0] ?? failedUrl);
  }

  #switchTo(url: string | null): string | null {
    if (url !== null && url !== this.#source) {
      this.#o.log.debug("stream_source", { url, from: this.#lastIndex + 1 });
    }
    this.#source = url;
    return url;
  }

  /** One `/entries` call; null on success, otherwise why it failed. */
  async #pollOnce(url: string): Promise<string | null> {
    this.#poll = new AbortController();
    const from = this.#lastIndex + 1;
    let reply;
    try {
      reply = await this.#o.client.entries(
        url,
        { from, limit: this.#o.batchLimit, waitMs: this.#o.pollWaitMs },
        { timeoutMs: 5000, signal: AbortSignal.any([this.#stop.signal, this.#poll.signal]) },
      );
    } catch (e) {
      if (this.#poll.signal.aborted) return "switch";
      // No answer in time is no proof the replica is gone: on its peer stream, a proposal that
      // timed out ends the poll beside it too. Another source is tried; only a broken
      // connection marks the replica down for the whole gateway.
      return e instanceof DOMException && e.name === "TimeoutError" ? "timeout" : "network";
    }
    if (!reply.ok) return reply.status === 200 ? "malformed_answer" : `http_${reply.status}`;
    this.#take(reply.value, from);
    return null;
  }

  /**
   * Files a contiguous page starting at `from` (the decoder checked that) by board. The
   * strokes passed a replica's `/propose`, so only what filing needs is looked at.
   */
  #take(page: EntriesResponse, from: number): void {
    const boards = new Set<string>();
    for (const e of page.entries) {
      const filed = boardEntryOf(e);
      if (filed === null) {
        // No-ops, and entry kinds this gateway does not know yet, advance the index only. A
        // stroke without an id is skipped: every replica holds it, refusing would stall forever.
        if ("stroke" in e) {
          this.#o.log.warn("committed_stroke_skipped", { index: e.index, error: "no stroke id" });
        }
        continue;
      }
      this.cache.add(filed.board, filed.entry);
      boards.add(filed.board);
    }
    this.#lastIndex = from - 1 + page.entries.length;
    this.cache.advance(this.#lastIndex);
    this.#caughtUp = this.#lastIndex >= page.commitIndex;
    if (page.entries.length > 0 || this.#caughtUp) this.#o.onCommitted(boards);
  }
}
