/**
 * The JSON bodies of the Raft RPCs with the seed's field names. Optional
 * fields are our extensions; the seed's fields are always present.
 */
import type { LogEntry } from "./stroke.ts";
import type { Member } from "./members.ts";

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
  /** The answering replica's configuration (a wiped replica must hear from every member). */
  members?: Member[];
}
