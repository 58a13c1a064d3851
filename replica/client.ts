/**
 * The one typed client of the replica API (`/status`, `/entries`,
 * `/propose`): the gateway, the scripts, the bench and the tests all talk to
 * replicas through it. It carries the cluster token, a timeout per call, and
 * decodes every answer with the protocol's decoders.
 */
import {
  type BoardsResponse,
  decodeBoards,
  decodeEntries,
  decodeProposeResponse,
  decodeStatus,
  type EntriesQuery,
  type EntriesResponse,
  errorOf,
  itemKey,
  type LogEntry,
  type ProposalItem,
  proposeBody,
  type Result,
  type StatusResponse,
  type Stroke,
} from "../protocol/mod.ts";
import { ENTRIES_PATH, PROPOSE_PATH, type StreamPath } from "../protocol/peer_stream.ts";
import type { PeerStreams } from "./peer_stream.ts";

/** A decoded 200 answer, or the status and error of any other (the body is kept for hints). */
export type Reply<T> =
  | { ok: true; value: T }
  | { ok: false; status: number; error: string; body: unknown };

/** Per-call options; times in milliseconds. */
export interface CallOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Largest page the replica serves. */
export const MAX_ENTRIES_PAGE = 10_000;

/** Talks to any replica; one instance per process (or per token). */
export class ReplicaClient {
  readonly #headers: Record<string, string>;

  /**
   * With `streams`, proposals and `/entries` go over the replica's peer stream while it is
   * open (protocol/peer_stream.ts: no HTTP request per call), else as HTTP requests;
   * either way a lost answer throws as fetch would (TimeoutError, TypeError).
   */
  constructor(
    token?: string | null,
    readonly defaultTimeoutMs = 1000,
    private readonly streams?: PeerStreams,
  ) {
    this.#headers = token ? { authorization: `Bearer ${token}` } : {};
  }

  /**
   * One call to `url + path`. Throws on network failure, timeout or abort,
   * never because of an HTTP status; a 200 whose body fails `decode` is
   * reported with status 200 and the decoder's error. With `streamed`, the
   * call goes as that request over the replica's stream while it is open (its body, or the
   * POST's when it has none).
   */
  async call<T>(
    url: string,
    path: string,
    decode: (body: unknown) => Result<T>,
    opts: CallOptions & { body?: unknown; streamed?: { path: StreamPath; body?: string } } = {},
  ): Promise<Reply<T>> {
    const timeoutMs = opts.timeoutMs ?? this.defaultTimeoutMs;
    const post = opts.body !== undefined;
    const sent = post ? JSON.stringify(opts.body) : undefined;
    const streamBody = opts.streamed?.body ?? sent;
    const streamed = opts.streamed && streamBody !== undefined &&
      this.streams?.request(url, opts.streamed.path, streamBody, timeoutMs);
    let status: number;
    let text: string;
    if (streamed) {
      const r = await untilAborted(streamed, opts.signal);
      if (r === "timeout") {
        throw new DOMException(`${url}${path}: no answer in ${timeoutMs} ms`, "TimeoutError");
      }
      if (r === "closed") throw new TypeError(`${url}: the stream closed before the answer`);
      ({ status, body: text } = r);
    } else {
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
      const res = await fetch(url + path, {
        method: post ? "POST" : "GET",
        headers: post ? { ...this.#headers, "content-type": "application/json" } : this.#headers,
        body: sent,
        signal,
      });
      status = res.status;
      text = await res.text();
    }
    let body: unknown = null;
    try {
      body = JSON.parse(text);
    } catch {
      // A proxy's HTML error page or a truncated body: no answer to decode.
    }
    if (status !== 200) return { ok: false, status, error: errorOf(body, status), body };
    const decoded = decode(body);
    return decoded.ok
      ? decoded
      : { ok: false, status: 200, error: `malformed answer: ${decoded.error}`, body };
  }

  /** `GET /status`, or null when the replica does not answer well in time. Never throws. */
  async status(url: string, opts: CallOptions = {}): Promise<StatusResponse | null> {
    try {
      const reply = await this.call(url, "/status", decodeStatus, opts);
      return reply.ok ? reply.value : null;
    } catch {
      return null;
    }
  }

  /** `/status` of each URL, in order (null for those that did not answer). */
  statuses(urls: readonly string[], opts: CallOptions = {}): Promise<(StatusResponse | null)[]> {
    return Promise.all(urls.map((u) => this.status(u, opts)));
  }

  /** `GET /entries`: committed entries from `q.from`, checked to start there without gaps. */
  entries(url: string, q: EntriesQuery, opts: CallOptions = {}): Promise<Reply<EntriesResponse>> {
    // Integers only, so no escaping (URLSearchParams showed in the gateway's profile).
    const params = `from=${q.from}` + (q.limit === undefined ? "" : `&limit=${q.limit}`) +
      (q.waitMs === undefined ? "" : `&waitMs=${q.waitMs}`);
    // A long poll must outlive its wait.
    const timeoutMs = (opts.timeoutMs ?? this.defaultTimeoutMs) + (q.waitMs ?? 0);
    return this.call(url, `/entries?${params}`, (b) => decodeEntries(b, q.from), {
      ...opts,
      timeoutMs,
      streamed: { path: ENTRIES_PATH, body: JSON.stringify(q) },
    });
  }

  /**
   * Every committed entry a replica serves, from index 1, paging through `/entries`, with the
   * commit index of the last page. Throws on failure.
   */
  async allEntries(url: string, opts: CallOptions = {}): Promise<EntriesResponse> {
    const entries: LogEntry[] = [];
    for (;;) {
      const from = entries.length + 1;
      const page = await this.entries(url, { from, limit: MAX_ENTRIES_PAGE }, opts);
      if (!page.ok) throw new Error(`${url}/entries: HTTP ${page.status} ${page.error}`);
      entries.push(...page.value.entries);
      const { commitIndex } = page.value;
      if (page.value.entries.length === 0 || entries.length >= commitIndex) {
        return { entries, commitIndex };
      }
    }
  }

  /**
   * `POST /propose`: the committed index of each stroke, in order. A
   * follower answers 421 (`decodeNotLeader(reply.body)` says where the
   * leader is), a bad stroke 400, an unknown outcome 503.
   */
  propose(url: string, strokes: Stroke[], opts: CallOptions = {}): Promise<Reply<number[]>> {
    return this.proposeItems(url, strokes.map((stroke) => ({ stroke })), opts);
  }

  /** `POST /propose` of strokes and board ops, committed in this order; answers as `propose`. */
  proposeItems(
    url: string,
    items: ProposalItem[],
    opts: CallOptions = {},
  ): Promise<Reply<number[]>> {
    const ids = items.map((i) => itemKey(i).id);
    return this.call(url, PROPOSE_PATH, (b) => decodeProposeResponse(b, ids), {
      ...opts,
      body: proposeBody(items),
      streamed: { path: PROPOSE_PATH },
    });
  }

  /** `GET /boards`: boards with committed entries, most recently active first. */
  boards(url: string, opts: CallOptions = {}): Promise<Reply<BoardsResponse>> {
    return this.call(url, "/boards", decodeBoards, opts);
  }
}

/** `p`, or the signal's reason once it aborts first. */
function untilAborted<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** The leader with the highest term among the answers (two claim it while an old one lags). */
export function findLeader(statuses: readonly (StatusResponse | null)[]): StatusResponse | null {
  let best: StatusResponse | null = null;
  for (const s of statuses) {
    if (s?.state === "leader" && (best === null || s.term > best.term)) best = s;
  }
  return best;
}
