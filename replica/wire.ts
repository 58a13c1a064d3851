/**
 * Mapping between the core's messages and the seed's HTTP endpoints: which
 * path a request goes to, its JSON body, and how the JSON answer becomes the
 * response message. The only place that knows both shapes.
 */
import type {
  AppendEntriesRequest,
  AppendEntriesResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  ProbeRequest,
  ProbeResponse,
  RequestVoteRequest,
  RequestVoteResponse,
  SyncLogRequest,
  SyncLogResponse,
  TimeoutNowRequest,
  TimeoutNowResponse,
} from "../protocol/mod.ts";
import { checkEntries, isIndex, isObject } from "../protocol/validate.ts";
import type { Message } from "./raft/types.ts";

type Msg<T extends Message["type"]> = Extract<Message, { type: T }>;
/** Request messages, the ones that travel as HTTP requests. */
export type RequestMessage = Msg<
  "requestVote" | "appendEntries" | "heartbeat" | "timeoutNow" | "probe"
>;
/** Response messages, the ones that travel as HTTP answers. */
export type ResponseMessage = Exclude<Message, RequestMessage>;

/** True for messages that are HTTP requests. */
export function isRequest(m: Message): m is RequestMessage {
  return m.type === "requestVote" || m.type === "appendEntries" || m.type === "heartbeat" ||
    m.type === "timeoutNow" || m.type === "probe";
}

/** Path and JSON body of a request message. */
export function encodeRequest(m: RequestMessage): { path: string; body: unknown } {
  switch (m.type) {
    case "requestVote":
      return {
        path: "/request-vote",
        body: {
          term: m.term,
          candidateId: m.from,
          lastLogIndex: m.lastLogIndex,
          lastLogTerm: m.lastLogTerm,
          preVote: m.preVote,
          transfer: m.transfer,
        } satisfies RequestVoteRequest,
      };
    case "appendEntries":
      if (m.bulk) {
        return {
          path: "/sync-log",
          body: {
            fromIndex: m.prevLogIndex,
            fromTerm: m.prevLogTerm,
            entries: m.entries,
            term: m.term,
            leaderId: m.from,
            leaderCommit: m.leaderCommit,
          } satisfies SyncLogRequest,
        };
      }
      return {
        path: "/append-entries",
        body: {
          term: m.term,
          leaderId: m.from,
          prevLogIndex: m.prevLogIndex,
          prevLogTerm: m.prevLogTerm,
          entries: m.entries,
          leaderCommit: m.leaderCommit,
        } satisfies AppendEntriesRequest,
      };
    case "heartbeat":
      return {
        path: "/heartbeat",
        body: {
          term: m.term,
          leaderId: m.from,
          leaderCommit: m.leaderCommit,
        } satisfies HeartbeatRequest,
      };
    case "timeoutNow":
      return {
        path: "/timeout-now",
        body: { term: m.term, leaderId: m.from } satisfies TimeoutNowRequest,
      };
    case "probe":
      return {
        path: "/probe",
        body: { term: m.term, from: m.from, nonce: m.nonce } satisfies ProbeRequest,
      };
  }
}

/** JSON answer for a response message. */
export function encodeResponse(m: ResponseMessage): unknown {
  switch (m.type) {
    case "requestVoteResponse":
      return { term: m.term, voteGranted: m.voteGranted } satisfies RequestVoteResponse;
    case "appendEntriesResponse":
      if (m.bulk) {
        return {
          success: m.success,
          syncedUpTo: m.matchIndex,
          term: m.term,
          logLength: m.logLength,
          hintIndex: m.hintIndex,
          hintTerm: m.hintTerm,
          incarnation: m.incarnation,
        } satisfies SyncLogResponse;
      }
      return {
        term: m.term,
        success: m.success,
        logLength: m.logLength,
        matchIndex: m.matchIndex,
        hintIndex: m.hintIndex,
        hintTerm: m.hintTerm,
        incarnation: m.incarnation,
      } satisfies AppendEntriesResponse;
    case "heartbeatResponse":
      return {
        term: m.term,
        success: m.success,
        logLength: m.logLength,
        commitIndex: m.commitIndex,
        incarnation: m.incarnation,
      } satisfies HeartbeatResponse;
    case "timeoutNowResponse":
      return { term: m.term, success: m.success } satisfies TimeoutNowResponse;
    case "probeResponse":
      return { term: m.term, empty: m.empty, nonce: m.nonce } satisfies ProbeResponse;
  }
}

/** Result of decoding untrusted JSON. */
export type Decoded<T> = { ok: true; value: T } | { ok: false; error: string };

function fail(error: string): { ok: false; error: string } {
  return { ok: false, error };
}

function indexes(body: Record<string, unknown>, keys: string[]): string | null {
  for (const k of keys) {
    if (!isIndex(body[k])) return `${k} must be a safe non-negative integer`;
  }
  return null;
}

function peerId(v: unknown, key: string): string | null {
  return typeof v === "string" && v.length > 0 && v.length <= 64
    ? null
    : `${key} must be a replica id`;
}

/**
 * Validates the JSON body of an incoming RPC and turns it into a request
 * message addressed to `self`. Anything malformed is refused here, so the
 * core never sees bad input.
 */
export function decodeRequest(path: string, body: unknown, self: string): Decoded<RequestMessage> {
  if (!isObject(body)) return fail("body must be a JSON object");
  const b = body;
  switch (path) {
    case "/request-vote": {
      const bad = indexes(b, ["term", "lastLogIndex", "lastLogTerm"]) ??
        peerId(b.candidateId, "candidateId");
      if (bad) return fail(bad);
      return {
        ok: true,
        value: {
          type: "requestVote",
          from: b.candidateId as string,
          to: self,
          term: b.term as number,
          lastLogIndex: b.lastLogIndex as number,
          lastLogTerm: b.lastLogTerm as number,
          preVote: b.preVote === true,
          transfer: b.transfer === true,
        },
      };
    }
    case "/append-entries":
    case "/sync-log": {
      const bulk = path === "/sync-log";
      const prevKey = bulk ? "fromIndex" : "prevLogIndex";
      const termKey = bulk ? "fromTerm" : "prevLogTerm";
      if (bulk && (b.term === undefined || b.leaderId === undefined)) {
        return fail("sync-log needs term and leaderId: only the current leader may send it");
      }
      // The seed's sync-log body is {fromIndex, entries}; our leader adds the rest.
      const required = bulk
        ? ["term", "fromIndex"]
        : ["term", "prevLogIndex", "prevLogTerm", "leaderCommit"];
      const present = bulk ? ["fromTerm", "leaderCommit"].filter((k) => b[k] !== undefined) : [];
      const bad = indexes(b, [...required, ...present]) ?? peerId(b.leaderId, "leaderId") ??
        (bulk && b.fromTerm === undefined && b.fromIndex !== 0
          ? "fromTerm is required unless fromIndex is 0"
          : null);
      if (bad) return fail(bad);
      const prev = b[prevKey] as number;
      const entries = checkEntries(b.entries, prev);
      if (!entries.ok) return entries;
      return {
        ok: true,
        value: {
          type: "appendEntries",
          from: b.leaderId as string,
          to: self,
          term: b.term as number,
          prevLogIndex: prev,
          prevLogTerm: (b[termKey] as number | undefined) ?? 0,
          entries: entries.value,
          leaderCommit: (b.leaderCommit as number | undefined) ?? 0,
          bulk,
        },
      };
    }
    case "/heartbeat": {
      const bad = indexes(b, ["term"]) ?? peerId(b.leaderId, "leaderId") ??
        (b.leaderCommit !== undefined ? indexes(b, ["leaderCommit"]) : null);
      if (bad) return fail(bad);
      return {
        ok: true,
        value: {
          type: "heartbeat",
          from: b.leaderId as string,
          to: self,
          term: b.term as number,
          leaderCommit: (b.leaderCommit as number | undefined) ?? 0,
        },
      };
    }
    case "/timeout-now": {
      const bad = indexes(b, ["term"]) ?? peerId(b.leaderId, "leaderId");
      if (bad) return fail(bad);
      return {
        ok: true,
        value: { type: "timeoutNow", from: b.leaderId as string, to: self, term: b.term as number },
      };
    }
    case "/probe": {
      const bad = indexes(b, ["term", "nonce"]) ?? peerId(b.from, "from");
      if (bad) return fail(bad);
      return {
        ok: true,
        value: {
          type: "probe",
          from: b.from as string,
          to: self,
          term: b.term as number,
          nonce: b.nonce as number,
        },
      };
    }
  }
  return fail(`unknown RPC ${path}`);
}

/**
 * Turns a peer's JSON answer to `req` into the response message, or null if
 * the answer is malformed (then it is treated as lost).
 */
export function decodeResponse(req: RequestMessage, body: unknown): ResponseMessage | null {
  if (!isObject(body)) return null;
  const b = body;
  const base = { from: req.to, to: req.from };
  const term = isIndex(b.term) ? b.term : null;
  switch (req.type) {
    case "requestVote":
      if (term === null || typeof b.voteGranted !== "boolean") return null;
      return {
        ...base,
        type: "requestVoteResponse",
        term,
        voteGranted: b.voteGranted,
        preVote: req.preVote,
      };
    case "appendEntries": {
      const match = req.bulk ? b.syncedUpTo : b.matchIndex;
      if (term === null || typeof b.success !== "boolean" || !isIndex(b.logLength)) return null;
      return {
        ...base,
        type: "appendEntriesResponse",
        term,
        success: b.success,
        matchIndex: isIndex(match) ? match : 0,
        logLength: b.logLength,
        rejectIndex: b.success ? 0 : req.prevLogIndex,
        hintIndex: isIndex(b.hintIndex) ? b.hintIndex : 0,
        hintTerm: isIndex(b.hintTerm) ? b.hintTerm : 0,
        bulk: req.bulk,
        incarnation: isIndex(b.incarnation) ? b.incarnation : 0,
      };
    }
    case "heartbeat":
      if (term === null || typeof b.success !== "boolean") return null;
      return {
        ...base,
        type: "heartbeatResponse",
        term,
        success: b.success,
        logLength: isIndex(b.logLength) ? b.logLength : 0,
        commitIndex: isIndex(b.commitIndex) ? b.commitIndex : 0,
        incarnation: isIndex(b.incarnation) ? b.incarnation : 0,
      };
    case "timeoutNow":
      if (term === null || typeof b.success !== "boolean") return null;
      return { ...base, type: "timeoutNowResponse", term, success: b.success };
    case "probe":
      if (term === null || typeof b.empty !== "boolean" || !isIndex(b.nonce)) return null;
      return { ...base, type: "probeResponse", term, empty: b.empty, nonce: b.nonce };
  }
}
