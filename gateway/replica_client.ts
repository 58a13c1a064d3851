/** HTTP calls from the gateway to replicas: JSON bodies, the cluster token, a timeout per call. */

/** A replica's answer; `body` is null when it was not JSON. */
export interface ReplicaReply {
  status: number;
  body: unknown;
}

/** Options of one call. */
export interface RequestOptions {
  method?: "GET" | "POST";
  body?: unknown;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Sends requests to replicas; one instance per gateway. */
export class ReplicaClient {
  readonly #headers: Record<string, string>;

  constructor(token: string | undefined) {
    this.#headers = token ? { authorization: `Bearer ${token}` } : {};
  }

  /** Throws on network failure, timeout or abort; never because of an HTTP status. */
  async request(url: string, opts: RequestOptions): Promise<ReplicaReply> {
    const timeout = AbortSignal.timeout(opts.timeoutMs);
    const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
    const headers = opts.body === undefined
      ? this.#headers
      : { ...this.#headers, "content-type": "application/json" };
    const res = await fetch(url, {
      method: opts.method ?? "GET",
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal,
    });
    const text = await res.text();
    let body: unknown = null;
    try {
      body = JSON.parse(text);
    } catch {
      // A proxy's HTML error page or a truncated body: callers treat null as "no answer".
    }
    return { status: res.status, body };
  }
}

/** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Exponential backoff: 20 ms doubling per attempt, capped at `maxMs`. */
export function backoffMs(attempt: number, maxMs = 500): number {
  return Math.min(maxMs, 20 * 2 ** Math.min(attempt, 10));
}
