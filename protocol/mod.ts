/**
 * The one wire protocol of the whiteboard: the replica RPC API (seed field
 * names), the gateway WebSocket messages and the stroke itself. Replica,
 * gateway and UI import their shapes from here; validation lives beside it in
 * `validate.ts`.
 */

/** Bumped whenever a message changes shape in a way old peers cannot read. */
export const PROTOCOL_VERSION = 1;

/** One straight segment of a drawing. `id` is chosen by the client and unique. */
export interface Stroke {
  id: string;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  color: string;
  width: number;
  /** Board (room) the stroke belongs to; the gateway fills it, default "default". */
  board?: string;
}

/** What a log entry carries besides its index and term. */
export type EntryPayload =
  | { stroke: Stroke }
  /** A new leader's first entry of its term (Raft's no-op). */
  | { noop: true };

/** One entry of the replicated log. Indexes start at 1; 0 means "before the first". */
export type LogEntry = { index: number; term: number } & EntryPayload;

/** True when the entry carries a stroke. */
export function isStrokeEntry(e: LogEntry): e is LogEntry & { stroke: Stroke } {
  return "stroke" in e;
}

// ---------------------------------------------------------------------------
// Replica RPC (POST bodies and their answers). Optional fields are our
// extensions to the seed; the seed's fields are always present.

export interface RequestVoteRequest {
  term: number;
  candidateId: string;
  lastLogIndex: number;
  lastLogTerm: number;
  /** Pre-vote (Raft thesis 9.6): ask without bumping anyone's term. */
  preVote?: boolean;
  /** Campaign started by a leadership transfer: voters skip the leader lease. */
  transfer?: boolean;
}
export interface RequestVoteResponse {
  term: number;
  voteGranted: boolean;
}

export interface AppendEntriesRequest {
  term: number;
  leaderId: string;
  prevLogIndex: number;
  prevLogTerm: number;
  entries: LogEntry[];
  leaderCommit: number;
}
export interface AppendEntriesResponse {
  term: number;
  success: boolean;
  /** Index of the follower's last entry. */
  logLength: number;
  /** On success: the last index known to match the leader's log. */
  matchIndex?: number;
  /** On failure: a hint where the logs may match (index and its term), one round trip per term. */
  hintIndex?: number;
  hintTerm?: number;
  /** Drawn by the replica at each start; a change tells the leader it restarted. */
  incarnation?: number;
}

export interface HeartbeatRequest {
  term: number;
  leaderId: string;
  /** min(leader commit, follower match): lets idle followers learn commits. */
  leaderCommit?: number;
}
export interface HeartbeatResponse {
  term: number;
  success: boolean;
  logLength?: number;
  commitIndex?: number;
  incarnation?: number;
}

/** Bulk catch-up with committed entries only; `entries[0].index === fromIndex + 1`. */
export interface SyncLogRequest {
  fromIndex: number;
  entries: LogEntry[];
  term?: number;
  leaderId?: string;
  /** Term of entry `fromIndex` (0 when fromIndex is 0), checked like prevLogTerm. */
  fromTerm?: number;
  leaderCommit?: number;
}
export interface SyncLogResponse {
  success: boolean;
  syncedUpTo: number;
  term?: number;
  logLength?: number;
  hintIndex?: number;
  hintTerm?: number;
  incarnation?: number;
}

/** Leadership transfer: the leader tells an up-to-date follower to campaign now. */
export interface TimeoutNowRequest {
  term: number;
  leaderId: string;
}
export interface TimeoutNowResponse {
  term: number;
  success: boolean;
}

/** A replica with an empty disk asks its peers whether the cluster has any history. */
export interface ProbeRequest {
  term: number;
  from: string;
  nonce: number;
}
export interface ProbeResponse {
  term: number;
  /** True when the answering replica has no term, vote or log either. */
  empty: boolean;
  nonce: number;
}

/** Replica role as the seed names it. */
export type ReplicaState = "leader" | "follower" | "candidate";

/** `GET /status`. */
export interface StatusResponse {
  replicaId: string;
  state: ReplicaState;
  term: number;
  commitIndex: number;
  logLength: number;
  leaderId: string | null;
  leaderUrl?: string | null;
  appliedIndex?: number;
  /** True while a replica whose disk was empty is not yet allowed to vote. */
  recovering?: boolean;
  protocolVersion?: number;
}

/** `GET /entries?from=N&limit=M[&waitMs=W]`: committed entries from index N. */
export interface EntriesResponse {
  entries: LogEntry[];
  commitIndex: number;
}

/** `POST /propose`: strokes to append; answered once all are committed. */
export interface ProposeRequest {
  strokes: Stroke[];
}
export interface ProposeResponse {
  /** One per stroke, in request order; a repeated id gets the index of its first commit. */
  results: { id: string; index: number }[];
  commitIndex: number;
}

/** A follower's answer to `/propose` (status 421): where the leader is. */
export interface NotLeaderResponse {
  error: string;
  leaderId: string | null;
  leaderUrl: string | null;
}

/** Every 4xx/5xx body. */
export interface ErrorResponse {
  error: string;
}

// ---------------------------------------------------------------------------
// Gateway WebSocket protocol (CONTRACT.md).

/** A committed stroke as clients see it. */
export interface CommittedStroke {
  index: number;
  stroke: Stroke;
}

/** Gateway's view of one replica, for `/status` and the UI. */
export interface ReplicaView {
  url: string;
  replicaId: string | null;
  state: ReplicaState | null;
  term: number | null;
  commitIndex: number | null;
  logLength: number | null;
  reachable: boolean;
}

/** Gateway `GET /status`. */
export interface ClusterStatus {
  leaderId: string | null;
  leaderUrl: string | null;
  term: number | null;
  commitIndex: number;
  replicas: ReplicaView[];
  clients: number;
}

export type ServerMessage =
  | {
    type: "hello";
    clientId: string;
    board: string;
    commitIndex: number;
    protocolVersion?: number;
  }
  | { type: "strokes"; entries: CommittedStroke[] }
  | { type: "ack"; id: string; index: number }
  | { type: "error"; id?: string; code: string; message: string }
  | { type: "cluster"; status: ClusterStatus };

export type ClientMessage =
  | { type: "stroke"; stroke: Stroke }
  | { type: "ping" };

/** Error codes of `{type:"error"}`. */
export const ErrorCode = {
  badMessage: "bad_message",
  badStroke: "bad_stroke",
  rateLimited: "rate_limited",
  tooLarge: "too_large",
  unavailable: "unavailable",
} as const;
