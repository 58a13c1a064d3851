/**
 * The gateway's metrics (`GET /metrics`). Board names come from clients, so no series is
 * labelled by board: clients and boards are totals. Labels are the server's own small sets
 * (error codes, close codes, results).
 */
import { LATENCY_BUCKETS_S, Registry } from "../common/metrics.ts";
import { ErrorCode } from "../protocol/mod.ts";
import { CloseCode } from "./session_limits.ts";

/** What the gauges read at scrape time. */
export interface GatewayView {
  clients(): number;
  boards(): number;
  lastIndex(): number;
  leaderKnown(): boolean;
}

/** Pages of the log taken in recently: (after, through] seen at `atMs`. */
interface Seen {
  after: number;
  through: number;
  atMs: number;
}

/** How many recent pages the fan-out lag can be measured against. */
const SEEN_PAGES = 256;

/** Every series of one gateway. */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly #r = this.registry;
  readonly messagesIn = this.#r.counter(
    "gateway_ws_messages_in_total",
    "WebSocket messages received from clients.",
  );
  readonly messagesOut = this.#r.counter(
    "gateway_ws_messages_out_total",
    "WebSocket messages sent to clients (hello, strokes, acks, errors, presence...).",
  );
  readonly bytesOut = this.#r.counter(
    "gateway_ws_bytes_out_total",
    "UTF-16 code units of WebSocket text sent to clients (about bytes for ASCII JSON).",
  );
  readonly connections = this.#r.counter(
    "gateway_ws_connections_total",
    "WebSocket sessions opened.",
  );
  readonly proposed = this.#r.counter(
    "gateway_strokes_proposed_total",
    "Strokes and board operations handed to the proposer.",
  );
  readonly acked = this.#r.counter(
    "gateway_strokes_acked_total",
    "Strokes and board operations committed and acked to their client.",
  );
  readonly failed = this.#r.counter(
    "gateway_strokes_failed_total",
    "Submissions that ended in an error to the client instead of an ack.",
  );
  readonly ackLatency = this.#r.histogram(
    "gateway_ack_latency_seconds",
    "From a stroke handed to the proposer to its commit (the ack), per stroke.",
    LATENCY_BUCKETS_S,
  );
  readonly fanOutLag = this.#r.histogram(
    "gateway_fanout_lag_seconds",
    "From a committed page taken in by the gateway to its strokes sent to one client.",
    LATENCY_BUCKETS_S,
  );
  readonly refused = this.#r.counter(
    "gateway_messages_refused_total",
    "Client messages answered with an error, by code.",
    Object.values(ErrorCode).map((code) => ({ code })),
  );
  readonly closed = this.#r.counter(
    "gateway_ws_closed_total",
    "Sockets the gateway closed itself (1008 rate limit, 1009 too big, 1011 internal, " +
      "1013 too slow or too much before hello), by close code.",
    Object.values(CloseCode).filter((c) => c !== CloseCode.goingAway).map((c) => ({
      code: String(c),
    })),
  );
  readonly replayReads = this.#r.counter(
    "gateway_replay_reads_total",
    "History pages read from a replica for a session behind the recent cache.",
  );
  readonly replayEntries = this.#r.counter(
    "gateway_replay_entries_total",
    "Log entries in those pages.",
  );
  readonly #seen: Seen[] = [];
  #lastSeen = 0;

  constructor(view: GatewayView) {
    const r = this.#r;
    r.gauge("gateway_ws_clients", "Connected WebSocket clients.", () => view.clients());
    r.gauge("gateway_boards", "Boards with at least one client.", () => view.boards());
    r.gauge(
      "gateway_commit_index",
      "Index of the last committed entry the gateway has taken in.",
      () => view.lastIndex(),
    );
    r.gauge(
      "gateway_leader_known",
      "1 while the gateway knows a leader.",
      () => view.leaderKnown() ? 1 : 0,
    );
  }

  /** The commit stream took in the log up to `through`. */
  seen(through: number): void {
    if (through <= this.#lastSeen) return;
    this.#seen.push({ after: this.#lastSeen, through, atMs: performance.now() });
    if (this.#seen.length > SEEN_PAGES) this.#seen.shift();
    this.#lastSeen = through;
  }

  /** A client was sent the board's strokes up to `through` (live, from the recent cache). */
  sent(through: number): void {
    // From the newest: an in-step client was just sent the page taken in last.
    const page = this.#seen.findLast((p) => p.after < through && through <= p.through);
    if (page) this.fanOutLag.observe((performance.now() - page.atMs) / 1000);
  }

  /** Counts and times every submission to the proposer. */
  timeSubmit<A extends unknown[]>(
    submit: (...a: A) => Promise<number>,
    onAcked: (ms: number) => void = () => {},
  ): (...a: A) => Promise<number> {
    return (...a) => {
      this.proposed.inc();
      const started = performance.now();
      return submit(...a).then((index) => {
        const ms = performance.now() - started;
        this.acked.inc();
        this.ackLatency.observe(ms / 1000);
        onAcked(ms);
        return index;
      }, (e) => {
        this.failed.inc();
        throw e;
      });
    };
  }

  /** Counts history reads. */
  countReads<A extends unknown[], E>(
    page: (...a: A) => Promise<E[]>,
  ): (...a: A) => Promise<E[]> {
    return async (...a) => {
      this.replayReads.inc();
      const entries = await page(...a);
      this.replayEntries.inc({}, entries.length);
      return entries;
    };
  }
}
