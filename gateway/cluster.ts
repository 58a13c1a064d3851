/** Replica discovery: who is reachable, who leads, as seen from `/status` and 421 hints. */
import type { ClusterStatus, ReplicaView, StatusResponse } from "../protocol/mod.ts";
import type { ReplicaClient } from "../replica/client.ts";
import type { Logger } from "../common/log.ts";
import { backoffMs, sleep } from "./retry.ts";

/** The replica to send proposals to. `term` is null when it came from a hint. */
export interface LeaderInfo {
  url: string;
  id: string | null;
  term: number | null;
}

/** Construction options; times in milliseconds. */
export interface ClusterOptions {
  urls: string[];
  client: ReplicaClient;
  log: Logger;
  statusTimeoutMs?: number;
  refreshIntervalMs?: number;
  /** Called when the leader or its term changes. */
  onLeaderChange?: (leader: LeaderInfo | null) => void;
}

/** Tracks the replicas; all network errors end up as `reachable: false`, never as exceptions. */
export class Cluster {
  readonly #views: ReplicaView[];
  readonly #opts: Required<Omit<ClusterOptions, "onLeaderChange">> & ClusterOptions;
  readonly #stop = new AbortController();
  #leader: LeaderInfo | null = null;
  #refreshing: Promise<void> | null = null;

  constructor(opts: ClusterOptions) {
    this.#opts = { statusTimeoutMs: 1000, refreshIntervalMs: 500, ...opts };
    this.#views = opts.urls.map((url) => ({
      url,
      replicaId: null,
      state: null,
      term: null,
      commitIndex: null,
      logLength: null,
      reachable: false,
    }));
  }

  /** The current leader, or null while none is known. */
  get leader(): LeaderInfo | null {
    return this.#leader;
  }

  /** Starts the light periodic refresh that keeps the cluster view current. */
  start(): void {
    void (async () => {
      while (!this.#stop.signal.aborted) {
        await this.refresh();
        await sleep(this.#opts.refreshIntervalMs, this.#stop.signal);
      }
    })();
  }

  /** Stops the refresh loop and wakes every `waitForLeader` caller (they get null). */
  stop(): void {
    this.#stop.abort();
  }

  /** Asks every replica for `/status` in parallel; concurrent callers share one round. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refreshAll().finally(() => this.#refreshing = null);
    return this.#refreshing;
  }

  /** Resolves with a leader as soon as one is known, polling quickly meanwhile; null on stop. */
  async waitForLeader(signal?: AbortSignal): Promise<LeaderInfo | null> {
    for (let attempt = 0;; attempt++) {
      if (this.#stop.signal.aborted || signal?.aborted) return null;
      if (this.#leader) return this.#leader;
      await this.refresh();
      if (this.#leader) return this.#leader;
      await sleep(backoffMs(attempt, 50), this.#stop.signal); // an election is 500-800 ms: poll finely
    }
  }

  /** A call to `url` failed at the network level: stop trusting it and look again now. */
  reportFailure(url: string): void {
    const view = this.#views.find((v) => v.url === url);
    if (view) this.#markDown(view);
    if (this.#leader?.url === url) this.#setLeader(null);
    void this.refresh();
  }

  /** `url` answered but does not lead (503, odd answer): look for the leader again now. */
  forgetLeader(url: string): void {
    if (this.#leader?.url === url) this.#setLeader(null);
    void this.refresh();
  }

  /** A follower answered 421 with where it thinks the leader is. */
  noteHint(leaderId: string | null, leaderUrl: string | null): void {
    const known = leaderId === null ? undefined : this.#views.find((v) => v.replicaId === leaderId);
    const url = known?.url ?? leaderUrl;
    if (url === null || url === this.#leader?.url) {
      // No hint, or the hint is the replica that just refused: discover from scratch.
      this.#setLeader(null);
      void this.refresh();
      return;
    }
    this.#setLeader({ url, id: leaderId, term: null });
  }

  /** URLs of replicas that answered their last status request, in configuration order. */
  reachableUrls(): string[] {
    return this.#views.filter((v) => v.reachable).map((v) => v.url);
  }

  /** All configured replica URLs. */
  get urls(): string[] {
    return this.#views.map((v) => v.url);
  }

  /** The cluster as `GET /status` and the `cluster` message report it. */
  status(clients: number, gatewayIndex: number): ClusterStatus {
    const reachable = this.#views.filter((v) => v.reachable);
    const terms = reachable.map((v) => v.term ?? 0);
    const commits = reachable.map((v) => v.commitIndex ?? 0);
    return {
      leaderId: this.#leader?.id ?? null,
      leaderUrl: this.#leader?.url ?? null,
      term: terms.length > 0 ? Math.max(...terms) : null,
      commitIndex: Math.max(gatewayIndex, ...commits),
      replicas: this.#views.map((v) => ({ ...v })),
      clients,
    };
  }

  async #refreshAll(): Promise<void> {
    const statuses = await Promise.all(this.#views.map((v) => this.#fetchStatus(v.url)));
    if (this.#stop.signal.aborted) return; // aborted calls say nothing about the replicas
    // Two claimants happen when an old leader has not yet heard of the new term: trust the newer.
    let best: LeaderInfo | null = null;
    for (const [i, s] of statuses.entries()) {
      const view = this.#views[i];
      if (!s) {
        this.#markDown(view);
        continue;
      }
      this.#markUp(view, s);
      if (s.state === "leader" && (best === null || s.term > (best.term ?? -1))) {
        best = { url: view.url, id: s.replicaId, term: s.term };
      }
    }
    this.#setLeader(best);
  }

  #fetchStatus(url: string): Promise<StatusResponse | null> {
    return this.#opts.client.status(url, {
      timeoutMs: this.#opts.statusTimeoutMs,
      signal: this.#stop.signal,
    });
  }

  #markUp(view: ReplicaView, s: StatusResponse): void {
    if (!view.reachable) this.#opts.log.info("replica_up", { url: view.url, id: s.replicaId });
    Object.assign(view, {
      replicaId: s.replicaId,
      state: s.state,
      term: s.term,
      commitIndex: s.commitIndex,
      logLength: s.logLength,
      reachable: true,
    });
  }

  #markDown(view: ReplicaView): void {
    if (view.reachable) this.#opts.log.info("replica_down", { url: view.url, id: view.replicaId });
    view.reachable = false;
    view.state = null;
  }

  #setLeader(next: LeaderInfo | null): void {
    const prev = this.#leader;
    if (prev?.url === next?.url && prev?.id === next?.id && prev?.term === next?.term) return;
    this.#leader = next;
    if (prev?.url !== next?.url || prev?.id !== next?.id) {
      this.#opts.log.info("leader_changed", {
        leader: next ? next.id ?? next.url : "none",
        term: next?.term ?? undefined,
      });
    }
    this.#opts.onLeaderChange?.(next);
  }
}
