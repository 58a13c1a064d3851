/**
 * The replica's client API (CONTRACT.md): `/status`, `/entries`, `/propose`
 * and the 421 answer of a follower, with their decoders. Answers come from
 * replicas, so the decoders check only the shape their readers rely on;
 * the proposal itself is the door into the log and is validated fully.
 */
import { checkOpPayload, checkStroke, type LogEntry, type Stroke } from "./stroke.ts";
import { type BoardOp, opOf } from "./board_ops.ts";
import { badIndex, fail, isIndex, isObject, ok, type Result } from "./validate.ts";

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
  /** Entries this process applied since it started (a restart does not re-apply its history). */
  appliedSinceStart?: number;
  /** True while a replica whose disk was empty is not yet allowed to vote. */
  recovering?: boolean;
  /** Last index the compacted prefix of the Raft log covers (the state database holds it). */
  snapshotIndex?: number;
  /** False while a replica that joined is not yet a voter (absent: a voter). */
  voter?: boolean;
  protocolVersion?: number;
  /** Milliseconds since a leader of the current term last reached this follower (absent: leader, or never). */
  lastContactMs?: number;
  /** Resident set size of the replica process, in bytes. */
  rssBytes?: number;
}

/** Where `/entries` should start, how much to return, how long to wait for a first entry. */
export interface EntriesQuery {
  from: number;
  limit?: number;
  /** Long poll: the replica holds the answer up to this long until entry `from` is applied. */
  waitMs?: number;
}

/**
 * `/entries`'s query as a JSON object (how the peer stream carries it): each field a
 * non-negative integer, `from` required.
 */
export function decodeEntriesQuery(body: unknown): Result<EntriesQuery> {
  if (!isObject(body)) return fail("an entries query is a JSON object");
  const { from, limit, waitMs } = body;
  if (!isIndex(from) || (limit !== undefined && !isIndex(limit))) {
    return fail("from and limit must be non-negative integers");
  }
  if (waitMs !== undefined && !isIndex(waitMs)) {
    return fail("waitMs must be a non-negative integer");
  }
  return ok({ from, limit, waitMs });
}

/** `GET /entries?from=N&limit=M[&waitMs=W]`: committed entries from index N. */
export interface EntriesResponse {
  entries: LogEntry[];
  commitIndex: number;
}

/** One thing a client wants committed: a stroke or a board operation. */
export type ProposalItem = { stroke: Stroke } | BoardOp;

/**
 * `POST /propose`, decoded: what to append, in this order (an undo after its
 * stroke stays after it); answered once all are committed. On the wire it is
 * `{strokes: [...]}` (the seed's form) or `{items: [{stroke}|{erase}|{restore}|{clear}, ...]}`.
 */
export interface ProposeRequest {
  items: ProposalItem[];
}
export interface ProposeResponse {
  /** One per item, in request order; a repeated id gets the index of its first commit. */
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

/** Largest number of strokes in one proposal. */
export const MAX_PROPOSE_STROKES = 1000;

const STATES: readonly string[] = ["leader", "follower", "candidate"];

const stringOrNull = (v: unknown): string | null => typeof v === "string" ? v : null;

/** A `/status` body whose seed fields are well-typed; the extensions are kept when typed. */
export function decodeStatus(body: unknown): Result<StatusResponse> {
  if (!isObject(body) || typeof body.replicaId !== "string") return fail("status.replicaId");
  if (!STATES.includes(body.state as string)) return fail("status.state");
  const bad = badIndex(body, ["term", "commitIndex", "logLength"]);
  if (bad) return fail(`status.${bad}`);
  const s: StatusResponse = {
    replicaId: body.replicaId,
    state: body.state as ReplicaState,
    term: body.term as number,
    commitIndex: body.commitIndex as number,
    logLength: body.logLength as number,
    leaderId: stringOrNull(body.leaderId),
    leaderUrl: stringOrNull(body.leaderUrl),
  };
  if (isIndex(body.appliedIndex)) s.appliedIndex = body.appliedIndex;
  if (isIndex(body.appliedSinceStart)) s.appliedSinceStart = body.appliedSinceStart;
  if (typeof body.recovering === "boolean") s.recovering = body.recovering;
  if (isIndex(body.snapshotIndex)) s.snapshotIndex = body.snapshotIndex;
  if (typeof body.voter === "boolean") s.voter = body.voter;
  if (isIndex(body.protocolVersion)) s.protocolVersion = body.protocolVersion;
  if (isIndex(body.lastContactMs)) s.lastContactMs = body.lastContactMs;
  if (isIndex(body.rssBytes)) s.rssBytes = body.rssBytes;
  return ok(s);
}

/**
 * An `/entries` page that must start at `from`: contiguous indexes and terms
 * are checked, payloads not at all. Every replica holds the same entries, so
 * refusing a page for one odd payload would stall its reader forever: the
 * reader skips what it cannot use (`hasStrokeShape`) and keeps its place.
 */
export function decodeEntries(body: unknown, from: number): Result<EntriesResponse> {
  if (!isObject(body) || !Array.isArray(body.entries)) return fail("entries must be an array");
  if (!isIndex(body.commitIndex)) return fail("commitIndex must be an index");
  const entries = body.entries as unknown[];
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (!isObject(e) || e.index !== from + i || !isIndex(e.term)) {
      return fail(`entries[${i}]: expected index ${from + i} with a term`);
    }
  }
  return ok({ entries: entries as LogEntry[], commitIndex: body.commitIndex });
}

/**
 * A `/propose` body, every stroke and op validated fully (what is committed is replayed
 * forever): `{strokes}` or `{items}`, not both.
 */
export function decodeProposeRequest(body: unknown): Result<ProposeRequest> {
  const form = isObject(body)
    ? Array.isArray(body.items) && body.strokes === undefined
      ? "items"
      : Array.isArray(body.strokes) && body.items === undefined
      ? "strokes"
      : null
    : null;
  if (form === null) return fail("body must be {strokes: [...]} or {items: [...]}");
  const list = (body as Record<string, unknown[]>)[form];
  if (list.length === 0) return fail(`${form} must not be empty`);
  if (list.length > MAX_PROPOSE_STROKES) {
    return fail(`at most ${MAX_PROPOSE_STROKES} ${form} per proposal`);
  }
  const items: ProposalItem[] = [];
  for (let i = 0; i < list.length; i++) {
    const item = form === "strokes" ? checkStroke(list[i]) : checkItem(list[i]);
    if (!item.ok) return fail(`${form}[${i}]: ${item.error}`);
    items.push(form === "strokes" ? { stroke: item.value as Stroke } : item.value as ProposalItem);
  }
  return ok({ items });
}

/** One element of `items`: exactly one of stroke, erase, restore, clear. */
function checkItem(v: unknown): Result<ProposalItem> {
  if (!isObject(v)) return fail("item must be an object");
  const keys = Object.keys(v);
  if (keys.length !== 1 || !ITEM_KINDS.includes(keys[0])) {
    return fail(`item must have exactly one of ${ITEM_KINDS.join(", ")}`);
  }
  if (keys[0] === "stroke") {
    const s = checkStroke(v.stroke);
    return s.ok ? ok({ stroke: s.value }) : s;
  }
  return checkOpPayload(v)!;
}

const ITEM_KINDS: readonly string[] = ["stroke", "erase", "restore", "clear"];

/** The id and board of an item: what makes it unique (strokes and ops share one namespace). */
export function itemKey(item: ProposalItem): { id: string; board?: string } {
  return "stroke" in item ? item.stroke : opOf(item);
}

/** The `/propose` body for `items`: the seed's `{strokes}` when every item is one, so older replicas still understand it. */
export function proposeBody(items: readonly ProposalItem[]): { strokes: Stroke[] } | {
  items: ProposalItem[];
} {
  return items.every((i) => "stroke" in i)
    ? { strokes: items.map((i) => (i as { stroke: Stroke }).stroke) }
    : { items: [...items] };
}

/** `GET /boards` on a replica: boards with committed entries, most recently active first. */
export interface BoardsResponse {
  boards: BoardSummary[];
}
/** One board: its committed strokes and ops (retried duplicates not counted) and its last index. */
export interface BoardSummary {
  name: string;
  entries: number;
  lastIndex: number;
}

/** Most boards one `GET /boards` answers with. */
export const MAX_BOARDS_LISTED = 500;

/** A replica's `/boards` answer, shape-checked. */
export function decodeBoards(body: unknown): Result<BoardsResponse> {
  if (!isObject(body) || !Array.isArray(body.boards)) return fail("boards must be an array");
  const boards: BoardSummary[] = [];
  for (const b of body.boards) {
    if (
      !isObject(b) || typeof b.name !== "string" || !isIndex(b.entries) || !isIndex(b.lastIndex)
    ) {
      return fail("boards[]: expected {name, entries, lastIndex}");
    }
    boards.push({ name: b.name, entries: b.entries, lastIndex: b.lastIndex });
  }
  return ok({ boards });
}

/** A `/propose` answer for `ids`: one positive index per id, in request order, ids matching. */
export function decodeProposeResponse(body: unknown, ids: readonly string[]): Result<number[]> {
  if (!isObject(body) || !Array.isArray(body.results)) return fail("results must be an array");
  if (body.results.length !== ids.length) return fail("one result per stroke expected");
  const indexes: number[] = [];
  for (const [i, r] of body.results.entries()) {
    if (!isObject(r) || r.id !== ids[i] || !isIndex(r.index) || r.index === 0) {
      return fail(`results[${i}] does not match stroke ${ids[i]}`);
    }
    indexes.push(r.index);
  }
  return ok(indexes);
}

/** A 421 body: the hint may name the leader by id, by URL, both or neither. */
export function decodeNotLeader(body: unknown): NotLeaderResponse {
  const b = isObject(body) ? body : {};
  return {
    error: typeof b.error === "string" ? b.error : "not the leader",
    leaderId: stringOrNull(b.leaderId),
    leaderUrl: stringOrNull(b.leaderUrl),
  };
}

/** The `error` of a 4xx/5xx body, or a stand-in naming the status. */
export function errorOf(body: unknown, status: number): string {
  return isObject(body) && typeof body.error === "string" ? body.error : `HTTP ${status}`;
}
