/**
 * Reads committed history back from the replicas for sessions that are behind the recent cache
 * (a replay from an old `since`, a slow reader that fell behind). Every replica serves the same
 * committed entries, so any reachable one will do; followers are asked first to spare the
 * leader. A few pages at most are in flight at once, so many replaying clients cost a bounded
 * amount of memory, not one history each.
 */
import type { LogEntry } from "../protocol/mod.ts";
import type { ReplicaClient } from "../replica/client.ts";
import type { Cluster } from "./cluster.ts";
import type { Logger } from "../common/log.ts";

/** Construction options; times in milliseconds. */
export interface HistoryReaderOptions {
  cluster: Pick<Cluster, "leader" | "reachableUrls" | "urls" | "reportFailure">;
  client: Pick<ReplicaClient, "entries">;
  log: Logger;
  /** Entries (of all boards) per `/entries` call. */
  pageLimit?: number;
  /** Pages in flight at once, over all sessions. */
  maxConcurrent?: number;
  timeoutMs?: number;
}

/** One per gateway, shared by its sessions. */
export class HistoryReader {
  readonly #o: Required<HistoryReaderOptions>;
  #active = 0;
  #queue: (() => void)[] = [];
  #turn = 0;
  #pages = 0;

  constructor(opts: HistoryReaderOptions) {
    this.#o = { pageLimit: 2000, maxConcurrent: 4, timeoutMs: 5000, ...opts };
  }

  /** Pages served so far (tests check that a replay really went to a replica). */
  get pagesRead(): number {
    return this.#pages;
  }

  /**
   * Committed entries from index `from` on, contiguous (the client's decoder checks it); empty
   * when no replica answered with any (all down, or all behind): the caller retries later.
   * Rejects only when `signal` aborts.
   */
  async page(from: number, signal: AbortSignal): Promise<LogEntry[]> {
    await this.#acquire(signal);
    try {
      for (const url of this.#candidates()) {
        signal.throwIfAborted();
        const entries = await this.#ask(url, from, signal);
        if (entries && entries.length > 0) {
          this.#pages++;
          return entries;
        }
      }
      return [];
    } finally {
      this.#release();
    }
  }

  async #ask(url: string, from: number, signal: AbortSignal): Promise<LogEntry[] | null> {
    try {
      const reply = await this.#o.client.entries(
        url,
        { from, limit: this.#o.pageLimit },
        { timeoutMs: this.#o.timeoutMs, signal },
      );
      if (reply.ok) return reply.value.entries;
      this.#o.log.debug("history_read_failed", { url, from, error: `http_${reply.status}` });
      return null;
    } catch (e) {
      signal.throwIfAborted();
      this.#o.log.debug("history_read_failed", { url, from, error: String(e) });
      this.#o.cluster.reportFailure(url);
      return null;
    }
  }

  /** Reachable followers (rotating, so readers spread), then the leader, then the rest. */
  #candidates(): string[] {
    const leader = this.#o.cluster.leader?.url;
    const reachable = this.#o.cluster.reachableUrls();
    const followers = reachable.filter((u) => u !== leader);
    const turn = this.#turn++ % Math.max(1, followers.length);
    const ordered = [...followers.slice(turn), ...followers.slice(0, turn)];
    if (leader) ordered.push(leader);
    for (const u of this.#o.cluster.urls) if (!ordered.includes(u)) ordered.push(u);
    return ordered;
  }

  #acquire(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    if (this.#active < this.#o.maxConcurrent) {
      this.#active++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal.removeEventListener("abort", abort);
        resolve(); // the slot passes straight from the releaser
      };
      const abort = () => {
        this.#queue = this.#queue.filter((g) => g !== grant);
        reject(signal.reason);
      };
      signal.addEventListener("abort", abort, { once: true });
      this.#queue.push(grant);
    });
  }

  #release(): void {
    const next = this.#queue.shift();
    if (next) next();
    else this.#active--;
  }
}
