/**
 * A replica's metrics (`GET /metrics`). The Raft core stays pure: everything is counted here,
 * in the adapter layer, from the core's events, its status at scrape time, the storage's
 * syncs, the transport's failures and the HTTP routes. Labels come from small fixed sets
 * (roles, event reasons, RPC types, peer ids of the configuration, status codes).
 */
import type { MiddlewareHandler } from "hono";
import { LATENCY_BUCKETS_S, Registry, SIZE_BUCKETS_BYTES } from "../common/metrics.ts";
import type { Driver, Storage } from "./driver.ts";
import type { RaftEvent, RequestMessage, Role } from "./raft/types.ts";
import { RPC_PATHS } from "../protocol/rpc.ts";
import { SNAPSHOT_PATH } from "../protocol/snapshot.ts";

const ROLES: Role[] = ["follower", "preCandidate", "candidate", "leader"];

/** Paths that may appear as a `route` label; anything else is counted as `other`. */
const ROUTES: ReadonlySet<string> = new Set([
  ...RPC_PATHS,
  SNAPSHOT_PATH,
  "/status",
  "/entries",
  "/propose",
  "/members",
  "/metrics",
]);

function routeLabel(path: string): string {
  if (ROUTES.has(path)) return path;
  return path.startsWith("/members/") ? "/members/{id}" : "other";
}

/** Every series of one replica. */
export class ReplicaMetrics {
  readonly registry = new Registry();
  readonly #r = this.registry;
  readonly electionsStarted = this.#r.counter(
    "raft_elections_started_total",
    "Elections this replica started (kind: pre_vote is the pre-vote round, vote the real one).",
    [{ kind: "pre_vote" }, { kind: "vote" }],
  );
  readonly electionsWon = this.#r.counter("raft_elections_won_total", "Elections won.");
  readonly messagesRefused = this.#r.counter(
    "raft_messages_refused_total",
    "Peer messages the core refused, by reason (stale term, a leader contradicting commit...).",
    [],
  );
  readonly proposalsReceived = this.#r.counter(
    "raft_proposals_received_total",
    "Strokes and board operations received in POST /propose on this replica.",
  );
  readonly proposalsCommitted = this.#r.counter(
    "raft_proposals_committed_total",
    "Proposals this replica proposed as leader and saw committed (a retried id that was " +
      "committed already counts again).",
  );
  readonly commitLatency = this.#r.histogram(
    "raft_commit_latency_seconds",
    "From a proposal accepted by the leader to its commit (and apply), per entry.",
    LATENCY_BUCKETS_S,
  );
  readonly fsyncLatency = this.#r.histogram(
    "raft_fsync_latency_seconds",
    "Time to make one batch of log appends durable (one fsync per Ready that needs it).",
    LATENCY_BUCKETS_S,
  );
  readonly entriesPersisted = this.#r.counter(
    "raft_entries_persisted_total",
    "Log entries written to the durable log.",
  );
  readonly snapshotsSent = this.#r.counter(
    "raft_snapshots_sent_total",
    "Snapshots this leader streamed to a follower, by result.",
    [],
  );
  readonly snapshotSentBytes = this.#r.histogram(
    "raft_snapshot_sent_bytes",
    "Size of each snapshot sent.",
    SIZE_BUCKETS_BYTES,
  );
  readonly snapshotsInstalled = this.#r.counter(
    "raft_snapshots_installed_total",
    "Snapshots received from a leader, by whether the core took them.",
    [{ taken: "true" }, { taken: "false" }],
  );
  readonly snapshotInstalledBytes = this.#r.histogram(
    "raft_snapshot_installed_bytes",
    "Size of each snapshot received.",
    SIZE_BUCKETS_BYTES,
  );
  readonly compactions = this.#r.counter("raft_log_compactions_total", "Log compactions.");
  readonly peerRpcErrors = this.#r.counter(
    "raft_peer_rpc_errors_total",
    "Messages to a peer that got no usable answer (timeout, refused connection, 4xx/5xx).",
    [],
  );
  readonly httpRefused = this.#r.counter(
    "replica_http_refused_total",
    "Requests answered 4xx, by route and status (bad input 400, token 401, size 413, " +
      "not the leader 421...).",
    [],
  );

  /** `driver` is read at scrape time (the driver is built after its storage is wrapped). */
  constructor(driver: () => Driver) {
    const st = () => driver().node.status();
    const r = this.#r;
    r.gauge("raft_term", "Current term.", () => st().term);
    r.gauge(
      "raft_role",
      "1 for the role this replica is in, 0 for the others.",
      () => ROLES.map((role) => [{ role }, st().role === role ? 1 : 0]),
    );
    r.gauge("raft_is_leader", "1 while this replica leads.", () => st().role === "leader" ? 1 : 0);
    r.gauge("raft_voter", "1 while this replica is a voter.", () => st().voter ? 1 : 0);
    r.gauge("raft_commit_index", "Index of the last committed entry.", () => st().commitIndex);
    r.gauge(
      "raft_applied_index",
      "Index of the last entry applied to the state database.",
      () => driver().store.lastIndex(),
    );
    r.gauge("raft_log_length", "Index of the last log entry.", () => st().lastIndex);
    r.gauge(
      "raft_snapshot_index",
      "Last index the compacted prefix of the log covers (0: nothing compacted).",
      () => st().snapshotIndex,
    );
    r.gauge("raft_members", "Members of the configuration in force.", () => st().members.length);
    r.gauge(
      "raft_follower_match_index",
      "On the leader: the highest index known replicated on each follower.",
      () => Object.entries(st().progress).map(([peer, p]) => [{ peer }, p.matchIndex]),
    );
  }

  /** A core event (the same stream as the log lines). */
  onEvent(e: RaftEvent): void {
    switch (e.event) {
      case "pre_vote_started":
        return this.electionsStarted.inc({ kind: "pre_vote" });
      case "election_started":
        return this.electionsStarted.inc({ kind: "vote" });
      case "election_won":
        return this.electionsWon.inc();
      case "message_refused":
        return this.messagesRefused.inc({ reason: String(e.reason) });
      case "log_compacted":
        return this.compactions.inc();
    }
  }

  /** The snapshot shipper's events. */
  onShipperEvent(event: string, fields: Record<string, string | number>): void {
    if (event !== "snapshot_shipped") return;
    this.snapshotsSent.inc({ result: String(fields.result) });
    if (typeof fields.bytes === "number") this.snapshotSentBytes.observe(fields.bytes);
  }

  /** A snapshot from the leader was stepped into the core. */
  onSnapshotReceived(bytes: number, taken: boolean): void {
    this.snapshotsInstalled.inc({ taken: String(taken) });
    this.snapshotInstalledBytes.observe(bytes);
  }

  /** The transport could not reach a peer. */
  onUnreachable(m: RequestMessage): void {
    this.peerRpcErrors.inc({ peer: m.to, type: m.type });
  }

  /** Times each durable sync of the log. */
  timed(storage: Storage): Storage {
    return {
      save: (hs, entries) => {
        if (entries.length > 0) this.entriesPersisted.inc({}, entries.length);
        storage.save(hs, entries);
      },
      sync: (mustSync) => {
        if (!mustSync) return storage.sync(false);
        const started = performance.now();
        const done = storage.sync(true);
        const seen = () => this.fsyncLatency.observe((performance.now() - started) / 1000);
        if (!done) return seen();
        return done.then(seen);
      },
      rewrite: (point, tail) => storage.rewrite(point, tail),
    };
  }

  /** Counts every 4xx answer by route and status. */
  refusals(): MiddlewareHandler {
    return async (c, next) => {
      await next();
      const status = c.res.status;
      if (status >= 400 && status < 500) {
        this.httpRefused.inc({ route: routeLabel(c.req.path), status: String(status) });
      }
    };
  }
}
