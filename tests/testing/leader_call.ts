/**
 * A membership API call (`POST /members`, `DELETE /members/{id}`) that must reach the leader:
 * shared by LocalCluster.changeMembers and the supervisor's control endpoint
 * (scripts/control.ts), which differ only in how they find the leader (so that is a parameter).
 */

/** One call and how to find where to send it. */
export interface LeaderCall {
  method: "POST" | "DELETE";
  path: string;
  body?: unknown;
  headers: Record<string, string>;
  /** How long to keep trying, leader searches included. */
  timeoutMs: number;
  /**
   * The base URL of the leader to ask now, or null when there is none yet (asked again shortly).
   * A throw ends the call with it.
   */
  findLeader: () => Promise<string | null>;
  /** How long one request may take (default: what is left of `timeoutMs`). */
  requestTimeoutMs?: number;
}

/**
 * Sends the call to the leader, and again to whichever leads next on 421 or 503 (leadership
 * moved) or a failed connection, until `timeoutMs` is up; any other refusal throws with its
 * status. Resolves with the leader's JSON answer.
 */
export async function callLeader<T = unknown>(c: LeaderCall): Promise<T> {
  const deadline = Date.now() + c.timeoutMs;
  let last = "no leader";
  while (Date.now() < deadline) {
    const leader = await c.findLeader();
    if (leader !== null) {
      const res = await fetch(leader + c.path, {
        method: c.method,
        headers: c.headers,
        body: c.body === undefined ? undefined : JSON.stringify(c.body),
        signal: AbortSignal.timeout(c.requestTimeoutMs ?? Math.max(1, deadline - Date.now())),
      }).catch((e) => e as Error);
      if (res instanceof Response) {
        const text = await res.text();
        if (res.ok) return JSON.parse(text);
        last = `${res.status} ${text}`;
        if (res.status !== 421 && res.status !== 503) {
          throw new Error(`${c.method} ${c.path}: ${last}`);
        }
      } else last = String(res);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${c.method} ${c.path} did not succeed: ${last}`);
}
