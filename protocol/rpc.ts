/**
 * The Raft RPCs over HTTP: one table from path to its four codecs (encode and
 * decode the request, encode and decode the answer). The list of request
 * types and of RPC paths is read from it, never written out again.
 *
 * Every decoder checks the envelope (terms, indexes, ids) fully: the contract
 * answers an ill-typed field with 400 even from a peer. Entries are checked
 * fully at the trust edge and by shape for a peer that proved the cluster
 * token, whose strokes all passed `/propose`.
 */
import type {
  Message,
  RequestMessage,
  RequestType,
  ResponseMessage,
} from "../replica/raft/types.ts";
import { checkEntries, type Trust } from "./stroke.ts";
import { checkMembers, isReplicaId } from "./members.ts";
import { badIndex, fail, isIndex, isObject, ok, type Result } from "./validate.ts";
import type * as B from "./rpc_bodies.ts";

// The core owns which messages are requests; this module owns how they travel.
export {
  isRequest,
  REQUEST_TYPES,
  type RequestMessage,
  type RequestType,
  type ResponseMessage,
} from "../replica/raft/types.ts";
type Req<T extends RequestType> = Extract<Message, { type: T }>;
type Resp<T extends RequestType> = Extract<Message, { type: `${T}Response` }>;

type Body = Record<string, unknown>;

/** The codecs of one path. */
interface Rpc<T extends RequestType> {
  type: T;
  /** For a type served on two paths (append-entries, sync-log): whether this one carries `m`. */
  carries?(m: Req<T>): boolean;
  encodeRequest(m: Req<T>): unknown;
  decodeRequest(b: Body, self: string, trust: Trust): Result<Req<T>>;
  encodeResponse(m: Resp<T>): unknown;
  /** Null when the answer is malformed (then it is treated as lost). */
  decodeResponse(req: Req<T>, b: Body): Resp<T> | null;
}

const rpc = <T extends RequestType>(r: Rpc<T>): Rpc<T> => r;

function peerId(v: unknown, key: string): string | null {
  return typeof v === "string" && v.length > 0 && v.length <= 64
    ? null
    : `${key} must be a replica id`;
}

const termOf = (b: Body): number | null => isIndex(b.term) ? b.term : null;
const indexOr0 = (v: unknown): number => isIndex(v) ? v : 0;
const envelope = (req: Message) => ({ from: req.to, to: req.from });

/** Append-entries and sync-log decode alike; their field names differ (the seed's). */
function decodeAppend(
  b: Body,
  self: string,
  trust: Trust,
  bulk: boolean,
): Result<Req<"appendEntries">> {
  if (bulk && (b.term === undefined || b.leaderId === undefined)) {
    return fail("sync-log needs term and leaderId: only the current leader may send it");
  }
  // The seed's sync-log body is {fromIndex, entries}; our leader adds the rest.
  const required = bulk
    ? ["term", "fromIndex"]
    : ["term", "prevLogIndex", "prevLogTerm", "leaderCommit"];
  const present = bulk ? ["fromTerm", "leaderCommit"].filter((k) => b[k] !== undefined) : [];
  const bad = badIndex(b, [...required, ...present]) ?? peerId(b.leaderId, "leaderId") ??
    (bulk && b.fromTerm === undefined && b.fromIndex !== 0
      ? "fromTerm is required unless fromIndex is 0"
      : null);
  if (bad) return fail(bad);
  const prev = (bulk ? b.fromIndex : b.prevLogIndex) as number;
  const entries = checkEntries(b.entries, prev, trust);
  if (!entries.ok) return entries;
  return ok({
    type: "appendEntries",
    from: b.leaderId as string,
    to: self,
    term: b.term as number,
    prevLogIndex: prev,
    prevLogTerm: ((bulk ? b.fromTerm : b.prevLogTerm) as number | undefined) ?? 0,
    entries: entries.value,
    leaderCommit: (b.leaderCommit as number | undefined) ?? 0,
    bulk,
  });
}

function decodeAppendResponse(req: Req<"appendEntries">, b: Body): Resp<"appendEntries"> | null {
  const term = termOf(b);
  if (term === null || typeof b.success !== "boolean" || !isIndex(b.logLength)) return null;
  return {
    ...envelope(req),
    type: "appendEntriesResponse",
    term,
    success: b.success,
    matchIndex: indexOr0(req.bulk ? b.syncedUpTo : b.matchIndex),
    logLength: b.logLength,
    rejectIndex: b.success ? 0 : req.prevLogIndex,
    hintIndex: indexOr0(b.hintIndex),
    hintTerm: indexOr0(b.hintTerm),
    bulk: req.bulk,
    incarnation: indexOr0(b.incarnation),
    // The epoch never travels: the call it answers is the leader's own.
    epoch: req.epoch ?? 0,
  };
}

/** Path to codecs: the whole RPC surface of a replica. */
export const RPCS = {
  "/request-vote": rpc({
    type: "requestVote",
    encodeRequest: (m): B.RequestVoteRequest => ({
      term: m.term,
      candidateId: m.from,
      lastLogIndex: m.lastLogIndex,
      lastLogTerm: m.lastLogTerm,
      preVote: m.preVote,
      transfer: m.transfer,
    }),
    decodeRequest(b, self) {
      const bad = badIndex(b, ["term", "lastLogIndex", "lastLogTerm"]) ??
        peerId(b.candidateId, "candidateId");
      if (bad) return fail(bad);
      return ok({
        type: "requestVote",
        from: b.candidateId as string,
        to: self,
        term: b.term as number,
        lastLogIndex: b.lastLogIndex as number,
        lastLogTerm: b.lastLogTerm as number,
        preVote: b.preVote === true,
        transfer: b.transfer === true,
      });
    },
    encodeResponse: (m): B.RequestVoteResponse => ({ term: m.term, voteGranted: m.voteGranted }),
    decodeResponse(req, b) {
      const term = termOf(b);
      if (term === null || typeof b.voteGranted !== "boolean") return null;
      const base = { ...envelope(req), term, voteGranted: b.voteGranted, preVote: req.preVote };
      return { ...base, type: "requestVoteResponse" };
    },
  }),
  "/append-entries": rpc({
    type: "appendEntries",
    carries: (m) => !m.bulk,
    encodeRequest: (m): B.AppendEntriesRequest => ({
      term: m.term,
      leaderId: m.from,
      prevLogIndex: m.prevLogIndex,
      prevLogTerm: m.prevLogTerm,
      entries: m.entries,
      leaderCommit: m.leaderCommit,
    }),
    decodeRequest: (b, self, trust) => decodeAppend(b, self, trust, false),
    encodeResponse: (m): B.AppendEntriesResponse => ({
      term: m.term,
      success: m.success,
      logLength: m.logLength,
      matchIndex: m.matchIndex,
      hintIndex: m.hintIndex,
      hintTerm: m.hintTerm,
      incarnation: m.incarnation,
    }),
    decodeResponse: decodeAppendResponse,
  }),
  "/sync-log": rpc({
    type: "appendEntries",
    carries: (m) => m.bulk,
    encodeRequest: (m): B.SyncLogRequest => ({
      fromIndex: m.prevLogIndex,
      fromTerm: m.prevLogTerm,
      entries: m.entries,
      term: m.term,
      leaderId: m.from,
      leaderCommit: m.leaderCommit,
    }),
    decodeRequest: (b, self, trust) => decodeAppend(b, self, trust, true),
    encodeResponse: (m): B.SyncLogResponse => ({
      success: m.success,
      syncedUpTo: m.matchIndex,
      term: m.term,
      logLength: m.logLength,
      hintIndex: m.hintIndex,
      hintTerm: m.hintTerm,
      incarnation: m.incarnation,
    }),
    decodeResponse: decodeAppendResponse,
  }),
  "/heartbeat": rpc({
    type: "heartbeat",
    encodeRequest: (m): B.HeartbeatRequest => ({
      term: m.term,
      leaderId: m.from,
      leaderCommit: m.leaderCommit,
    }),
    decodeRequest(b, self) {
      const bad = badIndex(b, ["term"]) ?? peerId(b.leaderId, "leaderId") ??
        (b.leaderCommit !== undefined ? badIndex(b, ["leaderCommit"]) : null);
      if (bad) return fail(bad);
      return ok({
        type: "heartbeat",
        from: b.leaderId as string,
        to: self,
        term: b.term as number,
        leaderCommit: (b.leaderCommit as number | undefined) ?? 0,
      });
    },
    encodeResponse: (m): B.HeartbeatResponse => ({
      term: m.term,
      success: m.success,
      logLength: m.logLength,
      commitIndex: m.commitIndex,
      incarnation: m.incarnation,
    }),
    decodeResponse(req, b) {
      const term = termOf(b);
      if (term === null || typeof b.success !== "boolean") return null;
      return {
        ...envelope(req),
        type: "heartbeatResponse",
        term,
        success: b.success,
        logLength: indexOr0(b.logLength),
        commitIndex: indexOr0(b.commitIndex),
        incarnation: indexOr0(b.incarnation),
        epoch: req.epoch ?? 0,
      };
    },
  }),
  "/timeout-now": rpc({
    type: "timeoutNow",
    encodeRequest: (m): B.TimeoutNowRequest => ({ term: m.term, leaderId: m.from }),
    decodeRequest(b, self) {
      const bad = badIndex(b, ["term"]) ?? peerId(b.leaderId, "leaderId");
      if (bad) return fail(bad);
      return ok({
        type: "timeoutNow",
        from: b.leaderId as string,
        to: self,
        term: b.term as number,
      });
    },
    encodeResponse: (m): B.TimeoutNowResponse => ({ term: m.term, success: m.success }),
    decodeResponse(req, b) {
      const term = termOf(b);
      if (term === null || typeof b.success !== "boolean") return null;
      return { ...envelope(req), type: "timeoutNowResponse", term, success: b.success };
    },
  }),
  "/probe": rpc({
    type: "probe",
    encodeRequest: (m): B.ProbeRequest => ({ term: m.term, from: m.from, nonce: m.nonce }),
    decodeRequest(b, self) {
      const bad = badIndex(b, ["term", "nonce"]) ?? peerId(b.from, "from");
      if (bad) return fail(bad);
      const nonce = b.nonce as number;
      return ok({ type: "probe", from: b.from as string, to: self, term: b.term as number, nonce });
    },
    encodeResponse: (m): B.ProbeResponse => {
      // Members not identified yet (a PEERS URL as placeholder id) are in the asker's PEERS too.
      const members = m.members?.filter((x) => isReplicaId(x.id)) ?? [];
      const body: B.ProbeResponse = { term: m.term, empty: m.empty, nonce: m.nonce };
      return members.length > 0 ? { ...body, members } : body;
    },
    decodeResponse(req, b) {
      const term = termOf(b);
      if (term === null || typeof b.empty !== "boolean" || !isIndex(b.nonce)) return null;
      // A wiped replica fences on these answers: one with a broken member list is no answer.
      const members = b.members === undefined ? undefined : checkMembers(b.members);
      if (members && !members.ok) return null;
      const named = members ? { members: members.value } : {};
      return {
        ...envelope(req),
        type: "probeResponse",
        term,
        empty: b.empty,
        nonce: b.nonce,
        ...named,
      };
    },
  }),
} as const;

/** Every JSON RPC path a replica serves. */
export type RpcPath = keyof typeof RPCS;
/**
 * The request that does not travel as one JSON body: a snapshot is a file of
 * any size, streamed in checksummed chunks (`snapshot.ts`, `/install-snapshot`).
 */
export type StreamedRequestType = "installSnapshot";
/** Requests that travel as one JSON body, through the table. */
export type JsonRequestMessage = Exclude<RequestMessage, { type: StreamedRequestType }>;
// Compile-time proof that the table covers every other request type of the core.
const _covered: [Exclude<RequestType, StreamedRequestType>] extends [(typeof RPCS)[RpcPath]["type"]]
  ? true
  : never = true;
void _covered;

type AnyRpc = Rpc<RequestType>;
const TABLE = Object.entries(RPCS) as [RpcPath, AnyRpc][];

/** The paths of the table, for route registration. */
export const RPC_PATHS: readonly RpcPath[] = TABLE.map(([path]) => path);
/** The request types the table carries (a test compares them with the core's). */
export const TABLE_TYPES: ReadonlySet<string> = new Set(TABLE.map(([, r]) => r.type));

/** True for the requests the table carries. */
export function isJsonRequest(m: RequestMessage): m is JsonRequestMessage {
  return m.type !== "installSnapshot";
}

/** The path that carries a request message. */
export function pathOf(m: JsonRequestMessage): RpcPath {
  for (const [path, r] of TABLE) if (r.type === m.type && (r.carries?.(m) ?? true)) return path;
  throw new Error(`no RPC path carries ${m.type}`);
}

/** Path and JSON body of a request message. */
export function encodeRequest(m: JsonRequestMessage): { path: RpcPath; body: unknown } {
  const path = pathOf(m);
  return { path, body: (RPCS[path] as AnyRpc).encodeRequest(m) };
}

/** JSON answer for a response message to a request that came in on `path`. */
export function encodeResponse(path: RpcPath, m: ResponseMessage): unknown {
  return (RPCS[path] as AnyRpc).encodeResponse(m);
}

/**
 * Validates the JSON body of an incoming RPC and turns it into a request
 * message addressed to `self`; anything malformed is refused here, so the
 * core never sees bad input.
 */
export function decodeRequest(
  path: string,
  body: unknown,
  self: string,
  trust: Trust = "full",
): Result<RequestMessage> {
  const r = (RPCS as Record<string, AnyRpc | undefined>)[path];
  if (!r) return fail(`unknown RPC ${path}`);
  if (!isObject(body)) return fail("body must be a JSON object");
  return r.decodeRequest(body, self, trust);
}

/** A peer's JSON answer to `req` as the response message, or null if malformed. */
export function decodeResponse(req: JsonRequestMessage, body: unknown): ResponseMessage | null {
  if (!isObject(body)) return null;
  return (RPCS[pathOf(req)] as AnyRpc).decodeResponse(req, body);
}
