/**
 * An in-process stand-in for a three-replica cluster, for gateway tests: real `Deno.serve`
 * servers on 127.0.0.1 with the replica's `/status`, `/propose`, `/entries` and `GET /members`
 * semantics over one shared log and one shared configuration. Tests kill replicas, move leadership and hold commits back. Each replica sits
 * behind a TCP relay, so a kill breaks open connections the way a crashed process does.
 */
import { Hono } from "hono";
import {
  decodeProposeRequest,
  DEFAULT_BOARD,
  itemKey,
  type LogEntry,
  type Member,
  type ProposalItem,
  type StatusResponse,
  type Stroke,
  strokeKey,
} from "../../protocol/mod.ts";
import { TcpProxy } from "./tcp_proxy.ts";

/** Construction options. */
export interface FakeClusterOptions {
  size?: number;
  token?: string;
  commitDelayMs?: number;
  /** Replicas in the first configuration (default all); the others wait to be added. */
  members?: number[];
}

type CommitOutcome = "committed" | "lost" | "killed";
type PollOutcome = "ready" | "timeout" | "killed";
interface Waiter<T> {
  replica: number;
  /** Commit index that resolves the waiter. */
  index: number;
  resolve: (outcome: T) => void;
}

/** Counters of what replicas answered, for assertions about batching and redirects. */
export interface FakeStats {
  proposeCalls: number;
  proposedStrokes: number;
  notLeader: number;
  unavailable: number;
  /** `/entries` calls each replica served. */
  entriesCalls: number[];
}

/** The fake cluster; `start` it, `close` it. */
export class FakeCluster {
  readonly ids: string[];
  /** Replica 0 leads term 1 and, like a real leader, starts it with a committed no-op. */
  readonly log: LogEntry[] = [{ index: 1, term: 1, noop: true }];
  readonly stats: FakeStats;
  urls: string[] = [];
  commitIndex = 1;
  term = 1;
  leader: number | null = 0;
  /** The replicas in the configuration, as `GET /members` reports it (0: bootstrap). */
  memberIndexes: number[];
  configIndex = 0;
  commitDelayMs: number;
  readonly #token: string | undefined;
  readonly #servers: Deno.HttpServer<Deno.NetAddr>[] = [];
  readonly #proxies: (TcpProxy | null)[] = [];
  readonly #firstIndex = new Map<string, number>();
  #commitWaiters: Waiter<CommitOutcome>[] = [];
  #pollWaiters: Waiter<PollOutcome>[] = [];
  #paused = false;

  private constructor(opts: FakeClusterOptions) {
    const size = opts.size ?? 3;
    this.ids = Array.from({ length: size }, (_, i) => `replica${i + 1}`);
    this.#token = opts.token;
    this.commitDelayMs = opts.commitDelayMs ?? 0;
    this.memberIndexes = opts.members ?? this.ids.map((_, i) => i);
    this.stats = {
      proposeCalls: 0,
      proposedStrokes: 0,
      notLeader: 0,
      unavailable: 0,
      entriesCalls: this.ids.map(() => 0),
    };
  }

  /** Starts every replica on a free port; replica 0 leads term 1. */
  static start(opts: FakeClusterOptions = {}): FakeCluster {
    const cluster = new FakeCluster(opts);
    for (let i = 0; i < cluster.ids.length; i++) {
      const server = Deno.serve(
        { hostname: "127.0.0.1", port: 0, onListen: () => {} },
        cluster.#app(i).fetch,
      );
      cluster.#servers.push(server);
      cluster.#proxies.push(new TcpProxy(server.addr.port));
    }
    cluster.urls = cluster.#proxies.map((p) => `http://127.0.0.1:${p?.port}`);
    return cluster;
  }

  /** True while replica `i` serves requests. */
  isAlive(i: number): boolean {
    return this.#proxies[i] !== null;
  }

  /** Crashes replica `i`: its connections break and new ones are refused. */
  kill(i: number, opts: { loseUncommitted?: boolean } = {}): void {
    const proxy = this.#proxies[i];
    if (!proxy) return;
    proxy.close();
    this.#proxies[i] = null;
    this.#settle(this.#commitWaiters, (w) => w.replica === i, "killed");
    this.#settle(this.#pollWaiters, (w) => w.replica === i, "killed");
    if (this.leader === i) {
      this.leader = null;
      if (opts.loseUncommitted) this.#truncateUncommitted();
    }
  }

  /** Brings replica `i` back on its old port, as a follower. */
  restart(i: number): void {
    if (this.#proxies[i]) return;
    const port = Number(new URL(this.urls[i]).port);
    this.#proxies[i] = new TcpProxy(this.#servers[i].addr.port, port);
  }

  /** Makes replica `i` leader of a new term (null: an election is under way). */
  setLeader(i: number | null): void {
    if (i === this.leader) return;
    this.#settle(this.#commitWaiters, () => true, "lost");
    this.leader = i;
    if (i === null) return;
    this.term++;
    this.log.push({ index: this.log.length + 1, term: this.term, noop: true });
    this.#scheduleCommit();
  }

  /**
   * A membership change: appends (and commits) a configuration entry holding replicas
   * `indexes`, as a real leader does, so readers of the log see it between strokes.
   */
  setMembers(indexes: number[]): void {
    this.memberIndexes = [...indexes];
    const index = this.log.length + 1;
    this.log.push({ index, term: this.term, config: { members: this.#members() } });
    this.configIndex = index;
    this.#scheduleCommit();
  }

  /** Holds every commit back until `resumeCommits`. */
  pauseCommits(): void {
    this.#paused = true;
  }

  /** Commits everything appended so far (if there is a leader). */
  resumeCommits(): void {
    this.#paused = false;
    this.#scheduleCommit();
  }

  /** Appends and commits strokes directly (no HTTP), e.g. to build a long history. */
  appendCommitted(strokes: Stroke[]): number[] {
    const indexes = this.#append(strokes.map((stroke) => ({ stroke })));
    this.#advanceCommit(this.log.length);
    return indexes;
  }

  /** Committed stroke entries in index order. */
  committedStrokes(): { index: number; stroke: Stroke }[] {
    return this.log.slice(0, this.commitIndex).flatMap((e) =>
      "stroke" in e ? [{ index: e.index, stroke: e.stroke }] : []
    );
  }

  /** Stops every replica. */
  async close(): Promise<void> {
    this.ids.forEach((_, i) => this.kill(i));
    await Promise.all(this.#servers.map((s) => s.shutdown()));
  }

  #app(i: number): Hono {
    const app = new Hono();
    app.get("/status", (c) => c.json(this.#status(i)));
    app.use("/propose", (c, next) => this.#guard(c.req.header("authorization"), next));
    app.use("/entries", (c, next) => this.#guard(c.req.header("authorization"), next));
    app.use("/members", (c, next) => this.#guard(c.req.header("authorization"), next));
    app.use("/boards", (c, next) => this.#guard(c.req.header("authorization"), next));
    app.get("/boards", (c) => c.json({ boards: this.#boards() }));
    app.get("/members", (c) => c.json({ members: this.#members(), configIndex: this.configIndex }));
    app.post("/propose", async (c) => {
      const body = await c.req.json().catch(() => null);
      return this.#propose(i, body);
    });
    app.get("/entries", (c) => {
      this.stats.entriesCalls[i]++;
      return this.#entries(i, {
        from: Number(c.req.query("from") ?? "1"),
        limit: Number(c.req.query("limit") ?? "1000"),
        waitMs: Number(c.req.query("waitMs") ?? "0"),
      });
    });
    return app;
  }

  async #guard(header: string | undefined, next: () => Promise<void>): Promise<Response | void> {
    if (this.#token !== undefined && header !== `Bearer ${this.#token}`) {
      return Response.json({ error: "unauthorized" }, { status: 401 });
    }
    await next();
  }

  #members(): Member[] {
    return this.memberIndexes.map((i) => ({ id: this.ids[i], url: this.urls[i], voter: true }));
  }

  #status(i: number): StatusResponse {
    const leader = this.leader;
    return {
      replicaId: this.ids[i],
      state: leader === i ? "leader" : leader === null ? "candidate" : "follower",
      term: this.term,
      commitIndex: this.commitIndex,
      logLength: this.log.length,
      leaderId: leader === null ? null : this.ids[leader],
      leaderUrl: leader === null ? null : this.urls[leader],
    };
  }

  async #propose(i: number, body: unknown): Promise<Response> {
    this.stats.proposeCalls++;
    if (this.leader !== i) {
      const leader = this.leader;
      if (leader === null) {
        this.stats.unavailable++;
        return Response.json({ error: "no leader" }, { status: 503 });
      }
      this.stats.notLeader++;
      const hint = {
        error: "not leader",
        leaderId: this.ids[leader],
        leaderUrl: this.urls[leader],
      };
      return Response.json(hint, { status: 421 });
    }
    const proposal = decodeProposeRequest(body);
    if (!proposal.ok) return Response.json({ error: proposal.error }, { status: 400 });
    const { items } = proposal.value;
    this.stats.proposedStrokes += items.length;
    const indexes = this.#append(items);
    const outcome = await this.#waitCommit(i, Math.max(...indexes));
    if (outcome !== "committed") {
      // After a kill nobody receives this: the relay has already dropped the connection.
      if (outcome === "lost") this.stats.unavailable++;
      return Response.json({ error: "leadership lost" }, { status: 503 });
    }
    const results = items.map((item, k) => ({ id: itemKey(item).id, index: indexes[k] }));
    return Response.json({ results, commitIndex: this.commitIndex });
  }

  async #entries(i: number, q: { from: number; limit: number; waitMs: number }): Promise<Response> {
    if (![q.from, q.limit, q.waitMs].every((n) => Number.isSafeInteger(n) && n >= 0)) {
      return Response.json({ error: "from, limit and waitMs must be integers" }, { status: 400 });
    }
    const from = Math.max(1, q.from);
    if (this.commitIndex < from && q.waitMs > 0) {
      await this.#waitPoll(i, from, Math.min(q.waitMs, 30_000));
    }
    const end = Math.min(this.commitIndex, from - 1 + Math.min(q.limit || 1000, 10_000));
    return Response.json({ entries: this.log.slice(from - 1, end), commitIndex: this.commitIndex });
  }

  /** Committed board entries (strokes and ops) by board, as the replicas' `GET /boards` counts them. */
  #boards(): { name: string; entries: number; lastIndex: number }[] {
    const boards = new Map<string, { name: string; entries: number; lastIndex: number }>();
    for (const e of this.log.slice(0, this.commitIndex)) {
      if ("noop" in e || "config" in e) continue;
      const name = itemKey(e as ProposalItem).board ?? DEFAULT_BOARD;
      const b = boards.get(name) ?? { name, entries: 0, lastIndex: 0 };
      boards.set(name, { name, entries: b.entries + 1, lastIndex: e.index });
    }
    return [...boards.values()].sort((a, b) => b.lastIndex - a.lastIndex);
  }

  /** An item (its id on its board) already in the log keeps the index of its first occurrence. */
  #append(items: ProposalItem[]): number[] {
    const indexes = items.map((item) => {
      const key = strokeKey(itemKey(item));
      const known = this.#firstIndex.get(key);
      if (known !== undefined) return known;
      const index = this.log.length + 1;
      this.log.push({ index, term: this.term, ...item });
      this.#firstIndex.set(key, index);
      return index;
    });
    this.#scheduleCommit();
    return indexes;
  }

  #truncateUncommitted(): void {
    for (const e of this.log.splice(this.commitIndex)) {
      if (!("noop" in e) && !("config" in e)) {
        this.#firstIndex.delete(strokeKey(itemKey(e as ProposalItem)));
      }
    }
  }

  #scheduleCommit(): void {
    setTimeout(() => {
      if (!this.#paused && this.leader !== null) this.#advanceCommit(this.log.length);
    }, this.commitDelayMs);
  }

  #advanceCommit(index: number): void {
    if (index <= this.commitIndex) return;
    this.commitIndex = index;
    this.#settle(this.#commitWaiters, (w) => w.index <= index, "committed");
    this.#settle(this.#pollWaiters, (w) => w.index <= index, "ready");
  }

  #waitCommit(replica: number, index: number): Promise<CommitOutcome> {
    if (index <= this.commitIndex) return Promise.resolve("committed");
    return new Promise((resolve) => this.#commitWaiters.push({ replica, index, resolve }));
  }

  #waitPoll(replica: number, index: number, waitMs: number): Promise<PollOutcome> {
    return new Promise((resolve) => {
      const timer = setTimeout(
        () => this.#settle(this.#pollWaiters, (w) => w === waiter, "timeout"),
        waitMs,
      );
      const waiter: Waiter<PollOutcome> = {
        replica,
        index,
        resolve: (o) => {
          clearTimeout(timer);
          resolve(o);
        },
      };
      this.#pollWaiters.push(waiter);
    });
  }

  #settle<T>(list: Waiter<T>[], match: (w: Waiter<T>) => boolean, outcome: T): void {
    const hit = list.filter(match);
    if (hit.length === 0) return;
    const keep = list.filter((w) => !match(w));
    list.length = 0;
    list.push(...keep);
    hit.forEach((w) => w.resolve(outcome));
  }
}
