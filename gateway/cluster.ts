/**
 * Replica discovery: who is reachable, who leads, as seen from `/status` and 421 hints, and who
 * is a member, as `GET /members` says. `REPLICA_URLS` are only the seeds: the configuration
 * adds the replicas that joined later and retires the ones that left, so a replica added live is
 * used without restarting the gateway. A seed is never forgotten (only set aside while it is
 * out of the configuration), so the gateway can always find the cluster again.
 */
import type { ClusterStatus, Member, ReplicaView, StatusResponse } from "../protocol/mod.ts";
import type { ReplicaClient } from "../replica/client.ts";
import type { Logger } from "../common/log.ts";
import { sleep } from "./retry.ts";
import { getMembers, type MembersResponse } from "./members.ts";

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
  /** How often to ask for `GET /members`. */
  membersIntervalMs?: number;
  /** Called when the leader or its term changes. */
  onLeaderChange?: (leader: LeaderInfo | null) => void;
}

/** Tracks the replicas; all network errors end up as `reachable: false`, never as exceptions. */
export class Cluster {
  #views: ReplicaView[];
  /** The `REPLICA_URLS`: kept whatever the configuration says. */
  readonly #seeds: ReadonlySet<string>;
  /** The last configuration learned (null: none yet, every view counts as a member). */
  #members: Member[] | null = null;
  #configIndex = -1;
  #discovery: Promise<void> | null = null;
  readonly #opts: Required<Omit<ClusterOptions, "onLeaderChange">> & ClusterOptions;
  readonly #stop = new AbortController();
  #leader: LeaderInfo | null = null;
  /** Status calls in flight, one per replica at most. */
  readonly #polls = new Map<ReplicaView, Promise<void>>();
  /** The leader each replica named in its last status. */
  readonly #namedLeader = new WeakMap<ReplicaView, string | null>();
  readonly #watchers = new Set<(leader: LeaderInfo | null) => void>();
  /** `waitForLeader` callers to wake when a leader is found or a round ends. */
  #waiters: (() => void)[] = [];

  constructor(opts: ClusterOptions) {
    this.#opts = {
      statusTimeoutMs: 1000,
      refreshIntervalMs: 500,
      membersIntervalMs: 1000,
      ...opts,
    };
    this.#seeds = new Set(opts.urls);
    this.#views = [...this.#seeds].map(newView);
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
    void (async () => {
      while (!this.#stop.signal.aborted) {
        await this.discover();
        await sleep(this.#opts.membersIntervalMs, this.#stop.signal);
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

  /**
   * Asks for the configuration (`GET /members`): the leader first, then reachable members, then
   * the seeds, until one answers. The leader's answer is taken as is (a change it appended but
   * has not committed is already in force on it); another replica's only when it is not older
   * than what the gateway knows. A cluster without the route (404 everywhere) changes nothing.
   */
  discover(): Promise<void> {
    this.#discovery ??= this.#discover().finally(() => (this.#discovery = null));
    return this.#discovery;
  }

  /** The last configuration learned and the index of its entry, or null before any. */
  get members(): MembersResponse | null {
    return this.#members && { members: this.#members, configIndex: this.#configIndex };
  }

  /** Resolves with a leader as soon as one is known, polling quickly meanwhile; null on stop. */
  async waitForLeader(signal?: AbortSignal): Promise<LeaderInfo | null> {
    for (let attempt = 0;; attempt++) {
      if (this.#stop.signal.aborted || signal?.aborted) return null;
      if (this.#leader) return this.#leader;
      await Promise.race([this.refresh(), new Promise<void>((r) => this.#waiters.push(r))]);
      if (this.#leader) return this.#leader;
      await sleep(leaderPollMs(attempt), this.#stop.signal);
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

  /** URLs of members that answered their last status request, seeds first. */
  reachableUrls(): string[] {
    return this.#active().filter((v) => v.reachable).map((v) => v.url);
  }

  /** URLs of all members (all seeds until a configuration is known), seeds first. */
  get urls(): string[] {
    return this.#active().map((v) => v.url);
  }

  /** The cluster as `GET /status` and the `cluster` message report it. */
  status(clients: number, gatewayIndex: number): ClusterStatus {
    const active = this.#active();
    const reachable = active.filter((v) => v.reachable);
    const terms = reachable.map((v) => v.term ?? 0);
    const commits = reachable.map((v) => v.commitIndex ?? 0);
    return {
      leaderId: this.#leader?.id ?? null,
      leaderUrl: this.#leader?.relayed
        ? this.#views.find((v) => v.replicaId === this.#leader?.id)?.url ?? null
        : this.#leader?.url ?? null,
      term: terms.length > 0 ? Math.max(...terms) : null,
      commitIndex: Math.max(gatewayIndex, ...commits),
      replicas: active.map((v) => ({ ...v })),
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
    const active = this.#active();
    let best: LeaderInfo | null = null;
    for (const v of active) {
      if (!v.reachable || v.state !== "leader" || v.term === null) continue;
      if (best === null || v.term > best.term!) {
        best = { url: v.url, id: v.replicaId, term: v.term };
      }
    }
    if (best) return best;
    // Followers name a leader the gateway cannot reach: only the link to it may be down (it
    // keeps its followers, so no election comes). Send through a follower; it relays.
    for (const v of active) {
      const id = this.#namedLeader.get(v);
      if (!v.reachable || v.state !== "follower" || !id) continue;
      if (active.some((w) => w.replicaId === id && w.reachable)) continue;
      return { url: v.url, id, term: v.term, relayed: true };
    }
    return null;
  }

  async #discover(): Promise<void> {
    for (const url of this.#membersSources()) {
      if (this.#stop.signal.aborted) return;
      let reply;
      try {
        reply = await getMembers(this.#opts.client, url, {
          timeoutMs: this.#opts.statusTimeoutMs,
          signal: this.#stop.signal,
        });
      } catch {
        continue; // down: the status round will say so
      }
      if (this.#stop.signal.aborted) return;
      if (!reply.ok) {
        this.#opts.log.debug("members_failed", { url, error: `http_${reply.status}` });
        continue;
      }
      // A leader of an older term (not yet deposed in the gateway's view) may hold an older one.
      const terms = this.#views.filter((v) => v.reachable).map((v) => v.term ?? 0);
      const term = this.#views.find((v) => v.url === url)?.term ?? -1;
      const fromLeader = this.#leader?.url === url && !this.#leader.relayed &&
        term >= Math.max(0, ...terms);
      if (fromLeader || reply.value.configIndex >= this.#configIndex) {
        this.#applyMembers(reply.value);
      }
      return;
    }
  }

  /** Where to ask for the configuration: the leader, reachable members, then the seeds. */
  #membersSources(): string[] {
    const urls: string[] = [];
    if (this.#leader && !this.#leader.relayed) urls.push(this.#leader.url);
    urls.push(...this.reachableUrls());
    urls.push(
      ...this.#views.filter((v) => v.reachable && this.#seeds.has(v.url)).map((v) => v.url),
    );
    urls.push(...this.urls, ...this.#seeds);
    return [...new Set(urls)];
  }

  /**
   * Takes a configuration in: a view for each member not yet known (matched by id, else by
   * URL, since a seed may name a member by another address), and the views of members that
   * left dropped, or set aside for a seed.
   */
  #applyMembers({ members, configIndex }: MembersResponse): void {
    const known = this.#configIndex;
    this.#members = members;
    this.#configIndex = configIndex;
    if (configIndex !== known) {
      this.#opts.log.info("members", {
        configIndex,
        members: members.map((m) => m.voter ? m.id : `${m.id}(learner)`).join(","),
      });
    }
    for (const m of members) {
      if (this.#views.some((v) => v.replicaId === m.id || v.url === m.url)) continue;
      const view = newView(m.url);
      this.#views.push(view);
      this.#opts.log.info("member_discovered", { id: m.id, url: m.url });
      void this.#poll(view);
    }
    this.#views = this.#views.filter((v) => {
      if (this.#seeds.has(v.url)) return true;
      const twin = v.replicaId !== null &&
        this.#views.some((w) => w !== v && this.#seeds.has(w.url) && w.replicaId === v.replicaId);
      if (this.#isMember(v) && !twin) return true;
      this.#opts.log.info("member_dropped", { id: v.replicaId ?? undefined, url: v.url });
      this.#namedLeader.delete(v);
      return false;
    });
    const leader = this.#leader;
    if (leader && !this.#active().some((v) => v.url === leader.url)) {
      this.#setLeader(this.#bestClaim());
    }
  }

  /** Whether a view is in the configuration: by replica id once known, else by URL. */
  #isMember(v: ReplicaView): boolean {
    const members = this.#members;
    if (members === null) return true;
    return members.some((m) => v.replicaId !== null ? m.id === v.replicaId : m.url === v.url);
  }

  /** The views of members, seeds first; a view that names a seed's replica again is left out. */
  #active(): ReplicaView[] {
    const members = this.#views.filter((v) => this.#isMember(v));
    const seedIds = new Set(
      members.filter((v) => this.#seeds.has(v.url) && v.replicaId !== null).map((v) => v.replicaId),
    );
    return members.filter((v) => this.#seeds.has(v.url) || !seedIds.has(v.replicaId));
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
      // Extensions the dashboard shows (`/cluster/events`); undefined when the replica is older.
      snapshotIndex: s.snapshotIndex,
      voter: s.voter,
      lastContactMs: s.lastContactMs,
      rssBytes: s.rssBytes,
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

function newView(url: string): ReplicaView {
  return {
    url,
    replicaId: null,
    state: null,
    term: null,
    commitIndex: null,
    logLength: null,
    reachable: false,
  };
}

/**
 * Pause between status rounds while no leader is known: 20 ms through the first second or so, as
 * an election takes 500-800 ms and the strokes waiting for it wait for the round after it too
 * (a 50 ms pause added ~25 ms to a failover on average), then 100 ms, for a cluster without a
 * quorum.
 */
function leaderPollMs(attempt: number): number {
  return attempt < FAST_LEADER_POLLS ? 20 : 100;
}
const FAST_LEADER_POLLS = 50;
