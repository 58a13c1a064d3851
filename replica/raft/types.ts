/**
 * Types of the pure Raft core. The core never performs I/O: it is driven by
 * `tick()`, `step(message)` and `propose(payloads)` and hands back a `Ready`
 * holding everything the driver must do.
 */
import type { EntryPayload, LogEntry, Member } from "../../protocol/mod.ts";

export type { EntryPayload, LogEntry, Member };

/** Roles. `preCandidate` runs the pre-vote round before a real campaign. */
export type Role = "follower" | "preCandidate" | "candidate" | "leader";

/** What must survive a crash, persisted (and fsynced) before any message that depends on it leaves. */
export interface HardState {
  term: number;
  /** Who this replica voted for (or followed as leader) in `term`; "" for nobody. */
  votedFor: string;
  /**
   * True while a replica that started from an empty disk may not vote or
   * campaign (see `RaftNode` on disk loss).
   */
  recovering: boolean;
}

/** Seeded randomness, injected so that a seed replays a run exactly. Returns a float in [0, 1). */
export type Random = () => number;

/** Configuration of one node. Times are ticks; the driver converts milliseconds. */
export interface RaftConfig {
  id: string;
  /**
   * Ids of the other members of the bootstrap configuration, all voters, as
   * PEERS names them (used when `members` is absent; urls are then the ids).
   */
  peers: string[];
  /**
   * The bootstrap configuration in full: the members before the log holds
   * any configuration entry. Absent: this node and `peers`, all voters.
   */
  members?: Member[];
  /**
   * JOIN=1: a new server waiting to be added. Started from an empty disk it
   * skips learning the term from every peer (it never voted or acked
   * anything) but stays `recovering` until a leader caught it up; it is not
   * in its own bootstrap configuration, so it never campaigns.
   */
  join?: boolean;
  /**
   * The identity of this node's data dir, drawn once when it was created
   * (DATA_DIR/identity): a wiped disk is a new identity. Answers carry it.
   */
  diskId?: string;
  electionTicksMin: number;
  /** Inclusive upper bound of the randomized election timeout. */
  electionTicksMax: number;
  heartbeatTicks: number;
  random: Random;
  /** Largest number of entries in one AppendEntries message. */
  maxEntriesPerAppend?: number;
  /** Largest number of entries in one bulk sync-log message. */
  maxEntriesPerSync?: number;
  /** AppendEntries messages in flight per follower before waiting for answers. */
  maxInflight?: number;
  /** Followers further behind than this (in entries) are caught up with sync-log. */
  syncThreshold?: number;
}

/** A configuration with its defaults filled in (the bootstrap members stay optional). */
export type NodeConfig = Required<Omit<RaftConfig, "members">> & Pick<RaftConfig, "members">;

/** The last index and term a snapshot covers. */
export interface SnapshotPoint {
  index: number;
  term: number;
  /** The configuration in force at `index` (absent: the bootstrap one, nothing was changed). */
  members?: Member[];
}

/** What the node restarts from: its persisted hard state and log. */
export interface RestoredState {
  hardState: HardState;
  /** Where the stored log was compacted (its entries start right after); absent: nothing was. */
  snapshot?: SnapshotPoint;
  entries: LogEntry[];
  /**
   * Last index the state machine already holds (etcd's `Config.Applied`;
   * default 0). Those entries were committed before they were applied, so
   * the commit index starts there and they are never handed out again.
   */
  applied?: number;
}

/** Which disk an answer comes from, and whether its replica is still rejoining (see recovery.ts). */
interface DiskOfAnswer {
  /** The follower's data dir identity (absent: unknown). */
  disk?: string;
  /** True while the follower started from an empty disk and was not made a voter again since. */
  fresh?: boolean;
}

interface Envelope {
  from: string;
  to: string;
  term: number;
  /** Set by the transport on requests; echoed in the response so an RPC can be answered. */
  reqId?: number;
}

/** Messages between replicas. Every request type gets exactly one response from the core. */
export type Message =
  | Envelope & {
    type: "requestVote";
    lastLogIndex: number;
    lastLogTerm: number;
    preVote: boolean;
    transfer: boolean;
  }
  | Envelope & { type: "requestVoteResponse"; voteGranted: boolean; preVote: boolean }
  | Envelope & {
    type: "appendEntries";
    prevLogIndex: number;
    prevLogTerm: number;
    entries: LogEntry[];
    leaderCommit: number;
    /** Bulk catch-up with committed entries (the seed's /sync-log). */
    bulk: boolean;
    /** The leader's epoch of this follower (see `Leadership.heardFrom`); absent: 0. */
    epoch?: number;
  }
  | Envelope & {
    type: "appendEntriesResponse";
    success: boolean;
    /** On success, the last index verified to match the leader. */
    matchIndex: number;
    /** The follower's last index. */
    logLength: number;
    /** On failure, the prevLogIndex that was refused (lets the leader drop stale refusals). */
    rejectIndex: number;
    /** On failure, where the logs may match: largest index <= rejectIndex whose term <= the leader's prevLogTerm. */
    hintIndex: number;
    hintTerm: number;
    bulk: boolean;
    /** Drawn by the follower at each start: a change tells the leader it restarted. */
    incarnation: number;
    /**
     * The epoch of the request this answers: echoed by the follower, or (over
     * HTTP) taken from the request by the caller, who alone knows it.
     */
    epoch: number;
  } & DiskOfAnswer
  | Envelope & { type: "heartbeat"; leaderCommit: number; epoch?: number }
  | Envelope & {
    type: "heartbeatResponse";
    success: boolean;
    logLength: number;
    commitIndex: number;
    incarnation: number;
    epoch: number;
  } & DiskOfAnswer
  | Envelope & {
    /**
     * The leader's state machine as a snapshot, for a follower that needs
     * entries the leader compacted away. The leader's core asks for one at
     * or past `snapshotIndex` (its compaction point); the transport takes a
     * copy of the state machine, which may be further on, ships it and
     * steps this message into the follower's core with the copy's index and
     * term once it arrived whole and verified.
     */
    type: "installSnapshot";
    snapshotIndex: number;
    snapshotTerm: number;
    /** The configuration the snapshot holds: set by the receiving transport, from the copy. */
    members?: Member[];
    epoch?: number;
  }
  | Envelope & {
    type: "installSnapshotResponse";
    success: boolean;
    /** On success, the last index the follower now matches (the snapshot's, or its commit index). */
    matchIndex: number;
    logLength: number;
    incarnation: number;
    epoch: number;
  }
  | Envelope & { type: "timeoutNow" }
  | Envelope & { type: "timeoutNowResponse"; success: boolean }
  | Envelope & { type: "probe"; nonce: number }
  | Envelope & {
    type: "probeResponse";
    empty: boolean;
    nonce: number;
    /** The members the answering node knows of: a wiped node must hear from all of them. */
    members?: Member[];
  };

/** A message as the node hands it to `send`: the node fills in `from` and `term`. */
export type OutgoingMessage = Message extends infer M
  ? M extends Message ? Omit<M, "from" | "term"> : never
  : never;

/** Message types that expect an answer: every type without a `${type}Response` twin. */
export type RequestType = Exclude<Message["type"], `${string}Response`>;

/** Messages that expect an answer (they travel as HTTP requests). */
export type RequestMessage = Extract<Message, { type: RequestType }>;
/** Answers to requests. */
export type ResponseMessage = Exclude<Message, RequestMessage>;

/** The request types at run time (protocol/rpc.ts proves its table covers each). */
export const REQUEST_TYPES: ReadonlySet<string> = new Set<RequestType>([
  "requestVote",
  "appendEntries",
  "heartbeat",
  "timeoutNow",
  "probe",
  "installSnapshot",
]);

/** True for messages that expect an answer. */
export function isRequest(m: Message): m is RequestMessage {
  return REQUEST_TYPES.has(m.type);
}

/** Something worth a log line, emitted as data so the core stays pure. */
export interface RaftEvent {
  event: string;
  [field: string]: string | number | boolean;
}

/**
 * Terms and indexes stay below this bound: the protocol's decoders refuse
 * anything at or above it (protocol/validate.ts `MAX_INDEX`, checked equal by
 * a test), so the core must never produce such a value, or its own peers
 * could never hear it again.
 */
export const INDEX_LIMIT = 2 ** 48;

/** Role and leader as the outside world sees them. */
export interface SoftState {
  role: Role;
  leaderId: string | null;
}

/**
 * Work handed to the driver. The order is the contract:
 * 1. send `messages` at once: they promise nothing about this node's disk
 *    (requests of a term already durable, such as the leader's
 *    AppendEntries, which it may send while it writes its own copy: Raft
 *    thesis 10.2.1; the leader counts itself towards commit only once its
 *    entries are stable);
 * 2. install `snapshot` (if set), persist `hardState` (if set) and `entries`
 *    (truncating the stored log from `entries[0].index` first), and fsync
 *    when `mustSync`;
 * 3. only then send `messagesAfterPersist` (votes and acks promise what was
 *    just persisted; a request of a new term waits so that no peer learns a
 *    term this node could forget), as etcd's msgsAfterAppend;
 * 4. apply `committedEntries` to the state machine, in order;
 * 5. call `advance(ready)`.
 */
export interface Ready {
  hardState: HardState | null;
  /**
   * A snapshot from the leader replaces the whole log and the state machine:
   * install it (the driver holds the verified copy that was stepped in)
   * before `entries`, which then follow it. Set with `mustSync`.
   */
  snapshot: SnapshotPoint | null;
  entries: LogEntry[];
  mustSync: boolean;
  /** May leave before (or while) this Ready is persisted. */
  messages: Message[];
  /** Leave only once `hardState` and `entries` of this Ready are durable. */
  messagesAfterPersist: Message[];
  committedEntries: LogEntry[];
  softState: SoftState;
  events: RaftEvent[];
}

/** Thrown by `propose` on a node that is not the leader (or is transferring leadership). */
export class NotLeaderError extends Error {
  constructor(readonly leaderId: string | null) {
    super(leaderId ? `not the leader; try ${leaderId}` : "no leader known");
    this.name = "NotLeaderError";
  }
}

/** Thrown when the core reaches a state Raft says is impossible: crash loudly, never diverge. */
export class RaftInvariantError extends Error {
  constructor(message: string) {
    super(`raft invariant violated: ${message}`);
    this.name = "RaftInvariantError";
  }
}

/** Per-follower replication state, exposed for status and tests. */
export interface FollowerProgress {
  matchIndex: number;
  nextIndex: number;
  mode: "probe" | "replicate" | "snapshot";
  inflight: number;
  recentlyActive: boolean;
}

/** A snapshot of the node for status pages and checks. */
export interface NodeStatus {
  id: string;
  role: Role;
  term: number;
  votedFor: string;
  leaderId: string | null;
  commitIndex: number;
  appliedIndex: number;
  lastIndex: number;
  /** Last index the compacted prefix of the log covers (0: nothing compacted). */
  snapshotIndex: number;
  recovering: boolean;
  transferringTo: string | null;
  progress: Record<string, FollowerProgress>;
  /** The configuration in force, and the index of its entry (0: bootstrap or snapshot). */
  members: Member[];
  configIndex: number;
  /** Whether this node is a voter in it. */
  voter: boolean;
}
