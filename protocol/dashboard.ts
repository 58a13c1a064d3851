/**
 * The gateway's `GET /cluster/events` (server-sent events, `event: cluster`): what the live
 * dashboard shows. An extension of the contract; the UI imports this file directly.
 */
import type { ClusterStatus } from "./ws.ts";

/** One board as `GET /boards` lists it. */
export interface BoardInfo {
  name: string;
  entries: number;
  clients: number;
}

/** Who led which term, from when (`leaderId` null: no leader known from `at`). */
export interface ElectionEvent {
  term: number | null;
  leaderId: string | null;
  at: number;
}

/** Ack latency of the strokes acked since the previous sample. */
export interface AckSummary {
  count: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

/** The body of each `cluster` event. */
export interface DashboardSample {
  /** Epoch milliseconds at the gateway. */
  at: number;
  status: ClusterStatus;
  boards: BoardInfo[];
  /** Log entries the gateway took in per second since the previous sample (all boards). */
  committedPerSec: number;
  ack: AckSummary;
  /** Newest last, at most `MAX_ELECTIONS`. */
  elections: ElectionEvent[];
  gateway: { rssBytes: number };
}
