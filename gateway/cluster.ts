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
  /** True when `url` is a follower that relays to leader `id`, which the gateway cannot reach. */
  relayed?: boolean;
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
  /** Status calls in flight, one per replica at most. */
  readonly #polls = new Map<ReplicaView, Promise<void>>();
  /** The leader each replica named in its last status. */
  readonly #namedLeader = new Map<ReplicaView, string | null>();
  readonly #watchers = new Set<(leader: LeaderInfo | null) => void>();
  /** `waitForLeader` callers to wake when a leader is found or a round ends. */
  #waiters: (() => void)[] = [];

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

  /**
   * Starts the light periodic refresh that keeps the cluster view current. A
   * round starts every interval whether or not the last has ended, so one hung
   * replica (its status call waits for its timeout) does not hide the others.
   */
  start(): void {
    void (async () => {
      while (!this.#stop.signal.aborted) {
        void this.refresh();
        await sleep(this.#opts.refreshIntervalMs, this.#stop.signal);
      }
    })();
  }

  /** Stops the refresh loop and wakes every `waitForLeader` caller (they get null). */
  stop(): void {
    this.#stop.abort();
  }

  /**
   * Asks every replica for `/status` in parallel (a replica whose last call is
   * still out is not asked twice). Each answer is applied on arrival, so a new
   * leader is known as soon as it answers; at the end the view settles on the
   * highest-term claimant.
   */
  async refresh(): Promise<void> {
    await Promise.all(this.#views.map((v) => this.#poll(v)));
    if (!this.#stop.signal.aborted) this.#setLeader(this.#bestClaim());
    this.#wakeWaiters();
  }

  /** Resolves with a leader as soon as one is known, polling quickly meanwhile; null on stop. */
  async waitForLeader(signal?: AbortSignal): Promise<LeaderInfo | null> {
    for (let attempt = 0;; attempt++) {
      if (this.#stop.signal.aborted || signal?.aborted) return null;
      if (this.#leader) return this.#leader;
      await Promise.race([this.refresh(), new Promise<void>((r) => this.#waiters.push(r))]);
      if (this.#leader) return this.#leader;
      await sleep(backoffMs(attempt, 50), this.#stop.signal); // an election is 500-800 ms: poll finely
    }
  }

  /** Calls `fn` on every change of the leader or its term; returns the unsubscribe. */
  watchLeader(fn: (leader: LeaderInfo | null) => void): () => void {
    this.#watchers.add(fn);
    return () => this.#watchers.delete(fn);
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
      leaderUrl: this.#leader?.relayed
        ? this.#views.find((v) => v.replicaId === this.#leader?.id)?.url ?? null
        : this.#leader?.url ?? null,
      term: terms.length > 0 ? Math.max(...terms) : null,
      commitIndex: Math.max(gatewayIndex, ...commits),
      replicas: this.#views.map((v) => ({ ...v })),
      clients,
    };
  }

  #poll(view: ReplicaView): Promise<void> {
    let poll = this.#polls.get(view);
    if (poll) return poll;
    poll = this.#fetchStatus(view.url).then((s) => {
      if (this.#stop.signal.aborted) return; // aborted calls say nothing about the replicas
      if (s) this.#markUp(view, s);
      else this.#markDown(view);
      // A newer term, or a direct route where a relayed one was used, wins at once; the end
      // of the round settles the rest.
      const best = this.#bestClaim();
      const current = this.#leader;
      if (
        best && (current === null || best.term! > (current.term ?? -1) ||
          (current.relayed && !best.relayed))
      ) {
        this.#setLeader(best);
      }
    }).finally(() => this.#polls.delete(view));
    this.#polls.set(view, poll);
    return poll;
  }

  /**
   * The reachable replica claiming leadership in the highest term. Two
   * claimants happen when an old leader has not yet heard of the new term.
   */
  #bestClaim(): LeaderInfo | null {
    let best: LeaderInfo | null = null;
    for (const v of this.#views) {
      if (!v.reachable || v.state !== "leader" || v.term === null) continue;
      if (best === null || v.term > best.term!) {
        best = { url: v.url, id: v.replicaId, term: v.term };
      }
    }
    if (best) return best;
    // Followers name a leader the gateway cannot reach: only the link to it may be down (it
    // keeps its followers, so no election comes). Send through a follower; it relays.
    for (const v of this.#views) {
      const id = this.#namedLeader.get(v);
      if (!v.reachable || v.state !== "follower" || !id) continue;
      if (this.#views.some((w) => w.replicaId === id && w.reachable)) continue;
      return { url: v.url, id, term: v.term, relayed: true };
    }
    return null;
  }

  #wakeWaiters(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    waiters.forEach((wake) => wake());
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
    this.#namedLeader.set(view, s.leaderId);
  }

  #markDown(view: ReplicaView): void {
    if (view.reachable) this.#opts.log.info("replica_down", { url: view.url, id: view.replicaId });
    view.reachable = false;
    view.state = null;
  }

  #setLeader(next: LeaderInfo | null): void {
    const prev = this.#leader;
    if (
      prev?.url === next?.url && prev?.id === next?.id && prev?.term === next?.term &&
      prev?.relayed === next?.relayed
    ) return;
    this.#leader = next;
    if (prev?.url !== next?.url || prev?.id !== next?.id) {
      this.#opts.log.info("leader_changed", {
        leader: next ? next.id ?? next.url : "none",
        term: next?.term ?? undefined,
        via: next?.relayed ? next.url : undefined,
      });
    }
    this.#opts.onLeaderChange?.(next);
    this.#watchers.forEach((fn) => fn(next));
    if (next) this.#wakeWaiters();
  }
}
