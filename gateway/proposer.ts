/**
 * Batches strokes and board ops from all clients into few `POST /propose` calls on the leader
 * and retries each batch (same ids) until it commits: the replica's id dedup makes every retry
 * safe. Batches may commit in any order; a client whose items must commit in order (an undo
 * after its stroke) waits for one before submitting the next (`Session`).
 */
import {
  decodeNotLeader,
  itemKey,
  type ProposalItem,
  type Stroke,
  strokeKey,
} from "../protocol/mod.ts";
import type { ReplicaClient } from "../replica/client.ts";
import type { Cluster, LeaderInfo } from "./cluster.ts";
import type { Logger } from "../common/log.ts";
import { backoffMs, sleep } from "./retry.ts";

/**
 * Longest pause between retries. An election takes 500-800 ms, and followers
 * point at the dead leader until it is over: a retry that backs off further
 * than this only adds latency after the new leader is ready.
 */
const RETRY_MAX_MS = 50;

/** Why a submitted stroke will not be acked. */
export class ProposeRefused extends Error {
  constructor(readonly code: "bad_stroke" | "bad_message" | "unavailable", message: string) {
    super(message);
  }
}

/** Tuning; times in milliseconds. */
export interface ProposerOptions {
  cluster: Cluster;
  client: ReplicaClient;
  log: Logger;
  maxBatch?: number;
  maxInFlight?: number;
  batchDelayMs?: number;
  /**
   * Longest wait for one attempt's answer before asking the cluster again:
   * about one election timeout (the seed's 500-800 ms), so a leader that hangs
   * instead of dying costs about one election, not the whole hang.
   */
  attemptTimeoutMs?: number;
  /** Strokes accepted but not yet committed, beyond which new ones are refused. */
  maxPending?: number;
  /** Longest pause between retries (RETRY_MAX_MS); a new leader ends any pause. */
  retryMaxMs?: number;
}

interface Pending {
  item: ProposalItem;
  waiters: { resolve: (index: number) => void; reject: (e: ProposeRefused) => void }[];
}

type Outcome =
  | { kind: "committed"; indexes: number[] }
  | { kind: "rejected"; error: string }
  /**
   * `down`: unreachable; `stale`: answered but does not lead; `keep`: leader still believed;
   * `slow`: no answer in time (look again, keep it meanwhile); `moved`: the leader changed.
   */
  | {
    kind: "retry";
    reason: string;
    url: string;
    verdict: "down" | "stale" | "keep" | "slow" | "moved";
  };

/** One per gateway; `submit` is the only entry point. */
export class Proposer {
  readonly #o: Required<ProposerOptions>;
  readonly #pending = new Map<string, Pending>();
  readonly #stop = new AbortController();
  #queue: string[] = [];
  #inFlight = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #flushQueued = false;
  #lastFailure = "";
  /** Attempts waiting for an answer, by the replica asked. */
  readonly #attempts = new Set<{ leader: LeaderInfo; abort: AbortController }>();

  constructor(opts: ProposerOptions) {
    this.#o = {
      maxBatch: 500,
      maxInFlight: 4,
      batchDelayMs: 2,
      attemptTimeoutMs: 800,
      maxPending: 100_000,
      retryMaxMs: RETRY_MAX_MS,
      ...opts,
    };
    // An attempt on a replica that no longer leads can only end in a timeout or
    // a refusal: cut it short and retry on the new leader (ids make that safe).
    opts.cluster.watchLeader((leader) => {
      if (!leader) return;
      for (const a of this.#attempts) {
        if (a.leader.url !== leader.url || a.leader.relayed !== leader.relayed) a.abort.abort();
      }
    });
  }

  /** Strokes accepted and not yet committed. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Resolves with the stroke's log index once committed; a repeated id shares the first's fate. */
  submit(stroke: Stroke): Promise<number> {
    return this.submitItem({ stroke });
  }

  /** Resolves with the stroke's or op's log index once committed; as `submit`. */
  submitItem(item: ProposalItem): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.#stop.signal.aborted) {
        return reject(new ProposeRefused("unavailable", "gateway is shutting down"));
      }
      // A stroke or op is its id on its board: the same id on two boards is two of them.
      const key = strokeKey(itemKey(item));
      const known = this.#pending.get(key);
      if (known) return known.waiters.push({ resolve, reject });
      if (this.#pending.size >= this.#o.maxPending) {
        return reject(
          new ProposeRefused("unavailable", "too many strokes waiting for the cluster"),
        );
      }
      this.#pending.set(key, { item, waiters: [{ resolve, reject }] });
      this.#queue.push(key);
      this.#schedule();
    });
  }

  /** Stops retrying; strokes still waiting are refused (their clients never got an ack). */
  stop(): void {
    this.#stop.abort();
    clearTimeout(this.#timer);
    const refused = new ProposeRefused("unavailable", "gateway is shutting down");
    for (const p of this.#pending.values()) p.waiters.forEach((w) => w.reject(refused));
    this.#pending.clear();
    this.#queue = [];
  }

  /** Sends at the end of this turn when idle; while requests are in flight, waits a few ms to fill a batch. */
  #schedule(): void {
    if (this.#timer !== undefined || this.#queue.length === 0) return;
    if (this.#inFlight >= this.#o.maxInFlight) return; // a finishing request flushes
    if (this.#inFlight === 0) {
      // Idle: go at the end of this turn (strokes of the same turn still share
      // the batch) rather than after a timer, which costs a sequential client ~1 ms.
      if (this.#flushQueued) return;
      this.#flushQueued = true;
      queueMicrotask(() => {
        this.#flushQueued = false;
        this.#flush();
      });
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#flush();
    }, this.#o.batchDelayMs);
  }

  #flush(): void {
    while (this.#queue.length > 0 && this.#inFlight < this.#o.maxInFlight) {
      const keys = this.#queue.splice(0, this.#o.maxBatch);
      this.#inFlight++;
      this.#commit(keys).finally(() => {
        this.#inFlight--;
        this.#schedule();
      });
    }
  }

  /** Retries until committed; a batch the replica calls invalid is split to find the culprit. */
  async #commit(keys: string[]): Promise<void> {
    const items = keys.map((k) => this.#pending.get(k)?.item).filter((s) => s !== undefined);
    const keyOf = (item: ProposalItem) => strokeKey(itemKey(item));
    for (let attempt = 0; !this.#stop.signal.aborted; attempt++) {
      const leader = await this.#o.cluster.waitForLeader(this.#stop.signal);
      if (!leader) return;
      const outcome = await this.#proposeOnce(leader, items);
      if (outcome.kind === "committed") {
        items.forEach((s, i) => this.#settle(keyOf(s), (w) => w.resolve(outcome.indexes[i])));
        this.#noteRecovered();
        return;
      }
      if (outcome.kind === "rejected") {
        if (items.length === 1) {
          const code = "stroke" in items[0] ? "bad_stroke" : "bad_message";
          const refused = new ProposeRefused(code, outcome.error);
          return this.#settle(keyOf(items[0]), (w) => w.reject(refused));
        }
        const half = Math.ceil(keys.length / 2);
        await Promise.all([this.#commit(keys.slice(0, half)), this.#commit(keys.slice(half))]);
        return;
      }
      this.#noteFailure(outcome.reason, leader.id ?? leader.url);
      if (outcome.verdict === "down") this.#o.cluster.reportFailure(outcome.url);
      if (outcome.verdict === "stale") this.#o.cluster.forgetLeader(outcome.url);
      if (outcome.verdict === "slow") void this.#o.cluster.refresh();
      // The first retry goes at once (a fresh leader or hint is usually known by then); later
      // ones back off, but only until another leader is found (a hand-over's new leader).
      if (attempt > 0 && outcome.verdict !== "moved") {
        await this.#backOff(backoffMs(attempt - 1, this.#o.retryMaxMs), leader);
      }
    }
  }

  /**
   * Sleeps `ms`, or less once a status round finds a leader other than `tried`. Not for a
   * mere hint (no term): two stale followers naming each other would be retried back and forth
   * without a pause.
   */
  async #backOff(ms: number, tried: LeaderInfo): Promise<void> {
    const other = (l: LeaderInfo | null) =>
      l !== null && l.term !== null && (l.url !== tried.url || l.term !== tried.term);
    if (other(this.#o.cluster.leader)) return;
    const found = new AbortController();
    const unwatch = this.#o.cluster.watchLeader((l) => {
      if (other(l)) found.abort();
    });
    try {
      await sleep(ms, AbortSignal.any([this.#stop.signal, found.signal]));
    } finally {
      unwatch();
    }
  }

  async #proposeOnce(leader: LeaderInfo, items: ProposalItem[]): Promise<Outcome> {
    let reply;
    const url = leader.url;
    const attempt = { leader, abort: new AbortController() };
    this.#attempts.add(attempt);
    try {
      reply = await this.#o.client.proposeItems(url, items, {
        timeoutMs: this.#o.attemptTimeoutMs,
        signal: AbortSignal.any([this.#stop.signal, attempt.abort.signal]),
      });
    } catch (e) {
      if (attempt.abort.signal.aborted) {
        return { kind: "retry", reason: "leader_changed", url, verdict: "moved" };
      }
      // A timeout is no proof the replica is gone (it may be slow, or hung for a while).
      const reason = errorName(e);
      return { kind: "retry", reason, url, verdict: reason === "timeout" ? "slow" : "down" };
    } finally {
      this.#attempts.delete(attempt);
    }
    if (reply.ok) return { kind: "committed", indexes: reply.value };
    const { status } = reply;
    // A 200 that does not match the strokes sent is not trusted.
    if (status === 200) return { kind: "retry", reason: "malformed_answer", url, verdict: "stale" };
    if (status === 421) {
      const hint = decodeNotLeader(reply.body);
      this.#o.cluster.noteHint(hint.leaderId, hint.leaderUrl);
      return { kind: "retry", reason: "not_leader", url, verdict: "keep" };
    }
    if (status === 400 || status === 413) return { kind: "rejected", error: reply.error };
    // 503 (no leader, or leadership lost: outcome unknown), 5xx, or 401 (token mismatch, which
    // only an operator can fix; the strokes wait meanwhile).
    const verdict = status === 401 ? "keep" : "stale";
    return { kind: "retry", reason: `http_${status}`, url, verdict };
  }

  #settle(key: string, fn: (w: Pending["waiters"][number]) => void): void {
    const p = this.#pending.get(key);
    if (!p) return;
    this.#pending.delete(key);
    p.waiters.forEach(fn);
  }

  /** Logs a failure kind once per streak, not once per retry. */
  #noteFailure(reason: string, leader: string): void {
    if (reason === this.#lastFailure) return;
    this.#lastFailure = reason;
    const log = reason === "not_leader" ? this.#o.log.debug : this.#o.log.warn;
    log("propose_retry", { reason, leader, pending: this.#pending.size });
  }

  #noteRecovered(): void {
    if (this.#lastFailure === "" || this.#lastFailure === "not_leader") {
      this.#lastFailure = "";
      return;
    }
    this.#lastFailure = "";
    this.#o.log.info("propose_recovered", { pending: this.#pending.size });
  }
}

function errorName(e: unknown): string {
  if (e instanceof DOMException && e.name === "TimeoutError") return "timeout";
  // fetch reports refused and broken connections as TypeError.
  return e instanceof TypeError ? "network" : e instanceof Error ? e.name.toLowerCase() : "error";
}
