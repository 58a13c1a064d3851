/** Waiting between retries: an abortable sleep and the gateway's backoff. */

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
