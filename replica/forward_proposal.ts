/**
 * A follower relays a proposal to its leader and hands the answer back, as
 * etcd forwards proposals: a gateway that can reach a follower but not the
 * leader (a cut link, no election since the leader keeps its followers) still
 * gets its strokes committed instead of a 421 pointing where it cannot go.
 */
import { type ProposalItem, proposeBody } from "../protocol/mod.ts";

/** Set on a relayed proposal: the receiver answers it itself and never relays it again (no loops). */
export const FORWARDED_BY_HEADER = "x-forwarded-by";

/** Where to relay and with what. */
export interface ForwardOptions {
  leaderId: string;
  leaderUrl: string;
  replicaId: string;
  clusterToken: string | null;
  timeoutMs: number;
  /** The incoming request's signal: a caller that gave up stops the relay too. */
  signal?: AbortSignal;
}

/**
 * The leader's answer (status and JSON body) to `items`, or a 503 naming the
 * leader when it cannot be reached in time: the caller then looks elsewhere.
 */
export async function forwardProposal(
  items: ProposalItem[],
  o: ForwardOptions,
): Promise<Response> {
  const timeout = AbortSignal.timeout(o.timeoutMs);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    [FORWARDED_BY_HEADER]: o.replicaId,
  };
  if (o.clusterToken) headers.authorization = `Bearer ${o.clusterToken}`;
  try {
    const res = await fetch(`${o.leaderUrl}/propose`, {
      method: "POST",
      headers,
      body: JSON.stringify(proposeBody(items)),
      signal: o.signal ? AbortSignal.any([timeout, o.signal]) : timeout,
    });
    const text = await res.text();
    return new Response(text, {
      status: res.status,
      headers: { "content-type": res.headers.get("content-type") ?? "application/json" },
    });
  } catch (e) {
    const reason = e instanceof DOMException && e.name === "TimeoutError" ? "timed out" : String(e);
    return Response.json({
      error: `leader ${o.leaderId} unreachable from ${o.replicaId}: ${reason}`,
      leaderId: o.leaderId,
      leaderUrl: o.leaderUrl,
    }, { status: 503 });
  }
}
