/**
 * The stroke and the log entry that carries it, with their two levels of
 * checking: `checkStroke` validates everything (the trust edges: browser to
 * gateway, gateway to browser, `/propose`, any request without the cluster
 * token), `entriesOf(..., "shape")` only what the receiver needs to work
 * (peers that proved the token, whose strokes all passed `/propose`).
 */
import {
  type Authorship,
  copyAuthorship,
  fail,
  isIndex,
  isObject,
  ok,
  type Result,
} from "./validate.ts";
import { checkMembers, type Member } from "./members.ts";
import { type BoardOp, checkClearOp, checkTargetsOp } from "./board_ops.ts";

/** One straight segment of a drawing. `id` is chosen by the client and unique. */
export interface Stroke extends Authorship {
  id: string;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  color: string;
  width: number;
  /** The segments of one pen-down..pen-up share a group (what undo and the eraser act on). */
  group?: string;
  /** Board (room) the stroke belongs to; the gateway fills it, default "default". */
  board?: string;
}

/** The board a stroke without one belongs to. */
export const DEFAULT_BOARD = "default";

/**
 * What makes a stroke unique: its id on its board. Board names cannot hold
 * "/", so no (board, id) pair can spell another.
 */
export function strokeKey(s: Pick<Stroke, "id" | "board">): string {
  return `${s.board ?? DEFAULT_BOARD}/${s.id}`;
}

/** What a log entry carries besides its index and term. */
export type EntryPayload =
  | { stroke: Stroke }
  /** A new leader's first entry of its term (Raft's no-op). */
  | { noop: true }
  /** A configuration: the members from this entry on (see replica/raft/membership.ts). */
  | { config: { members: Member[] } }
  /** Erase, restore or clear (protocol/board_ops.ts). */
  | BoardOp;

/** One entry of the replicated log. Indexes start at 1; 0 means "before the first". */
export type LogEntry = { index: number; term: number } & EntryPayload;

/** True when the entry carries a configuration. */
export function isConfigEntry(e: LogEntry): e is LogEntry & { config: { members: Member[] } } {
  return "config" in e;
}

/** True when the entry carries a stroke. */
export function isStrokeEntry(e: LogEntry): e is LogEntry & { stroke: Stroke } {
  return "stroke" in e;
}

/** Coordinates are world units; anything beyond this is a bug or an attack. */
export const MAX_COORDINATE = 1_000_000;
export const MIN_WIDTH = 0.5;
export const MAX_WIDTH = 200;
export const MAX_ID_LENGTH = 128;
export const MAX_BOARD_LENGTH = 64;
const ID_PATTERN = /^[A-Za-z0-9_.:-]+$/;
const BOARD_PATTERN = /^[A-Za-z0-9_.-]+$/;
const COLOR_PATTERN = /^#[0-9a-fA-F]{6}$/;

/** A stroke id: bounded, printable, no spaces. */
export function isStrokeId(v: unknown): v is string {
  return typeof v === "string" && v.length > 0 && v.length <= MAX_ID_LENGTH && ID_PATTERN.test(v);
}

/** A board (room) name. */
export function isBoardName(v: unknown): v is string {
  return typeof v === "string" && v.length > 0 && v.length <= MAX_BOARD_LENGTH &&
    BOARD_PATTERN.test(v);
}

function isCoordinate(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v) && Math.abs(v) <= MAX_COORDINATE;
}

/** Validates a stroke fully and returns a copy holding only the known fields. */
export function checkStroke(v: unknown): Result<Stroke> {
  if (!isObject(v)) return fail("stroke must be an object");
  if (!isStrokeId(v.id)) {
    return fail(`stroke.id must be 1-${MAX_ID_LENGTH} chars of [A-Za-z0-9_.:-]`);
  }
  for (const k of ["x0", "y0", "x1", "y1"] as const) {
    if (!isCoordinate(v[k])) {
      return fail(`stroke.${k} must be a finite number within ±${MAX_COORDINATE}`);
    }
  }
  if (typeof v.color !== "string" || !COLOR_PATTERN.test(v.color)) {
    return fail("stroke.color must be #rrggbb");
  }
  if (
    typeof v.width !== "number" || !Number.isFinite(v.width) || v.width < MIN_WIDTH ||
    v.width > MAX_WIDTH
  ) {
    return fail(`stroke.width must be between ${MIN_WIDTH} and ${MAX_WIDTH}`);
  }
  if (v.board !== undefined && !isBoardName(v.board)) {
    return fail(`stroke.board must be 1-${MAX_BOARD_LENGTH} chars of [A-Za-z0-9_.-]`);
  }
  if (v.group !== undefined && !isStrokeId(v.group)) {
    return fail(`stroke.group must be 1-${MAX_ID_LENGTH} chars of [A-Za-z0-9_.:-]`);
  }
  const stroke: Stroke = {
    id: v.id,
    x0: v.x0 as number,
    y0: v.y0 as number,
    x1: v.x1 as number,
    y1: v.y1 as number,
    color: v.color.toLowerCase(),
    width: v.width,
  };
  if (v.group !== undefined) stroke.group = v.group as string;
  if (v.board !== undefined) stroke.board = v.board as string;
  const authorship = copyAuthorship(v, stroke);
  if (authorship !== null) return fail(`stroke.${authorship}`);
  return ok(stroke);
}

/**
 * What a stroke must have for a trusted receiver to file it: an id and, if
 * any, a string board. No copy: the object is passed on as it came.
 */
export function hasStrokeShape(v: unknown): v is Stroke {
  return isObject(v) && typeof v.id === "string" &&
    (v.board === undefined || typeof v.board === "string");
}

/** `full` at a trust edge, `shape` for input from a party that proved the cluster token. */
export type Trust = "full" | "shape";

/** Validates one log entry (stroke, no-op or configuration). */
export function checkEntry(v: unknown, trust: Trust = "full"): Result<LogEntry> {
  if (!isObject(v)) return fail("entry must be an object");
  if (!isIndex(v.index) || v.index === 0) return fail("entry.index must be a positive integer");
  if (!isIndex(v.term)) return fail("entry.term must be a non-negative integer below 2^48");
  if (v.noop === true) {
    return ok(trust === "shape" ? v as LogEntry : { index: v.index, term: v.term, noop: true });
  }
  if (v.config !== undefined) {
    // Configurations are rare and steer the whole cluster: checked fully from anyone.
    const members = isObject(v.config) ? checkMembers(v.config.members) : fail("not an object");
    if (!members.ok) return fail(`entry.config: ${members.error}`);
    return ok({ index: v.index, term: v.term, config: { members: members.value } });
  }
  const op = checkOpPayload(v, trust);
  if (op !== null) return op.ok ? ok({ index: v.index, term: v.term, ...op.value }) : op;
  if (trust === "shape") {
    return hasStrokeShape(v.stroke) ? ok(v as LogEntry) : fail("entry.stroke must have an id");
  }
  const s = checkStroke(v.stroke);
  if (!s.ok) return s;
  return ok({ index: v.index, term: v.term, stroke: s.value });
}

/**
 * The erase/restore/clear payload of an entry or proposal item, validated
 * (with its board); null when it carries none. Ops are small and rare next to
 * strokes, so they are checked fully from anyone.
 */
export function checkOpPayload(
  v: Record<string, unknown>,
  _trust: Trust = "full",
): Result<BoardOp> | null {
  const kind = v.erase !== undefined
    ? "erase"
    : v.restore !== undefined
    ? "restore"
    : v.clear !== undefined
    ? "clear"
    : null;
  if (kind === null) return null;
  const body = v[kind];
  const checked = kind === "clear" ? checkClearOp(body) : checkTargetsOp(body, kind);
  if (!checked.ok) return fail(`entry.${checked.error}`);
  const board = isObject(body) ? body.board : undefined;
  if (board !== undefined && !isBoardName(board)) {
    return fail(`entry.${kind}.board is not a board name`);
  }
  const op = board === undefined ? checked.value : { ...checked.value, board: board as string };
  return ok({ [kind]: op } as BoardOp);
}

/** Validates a list of entries that must be contiguous and start right after `prevIndex`. */
export function checkEntries(
  v: unknown,
  prevIndex: number,
  trust: Trust = "full",
): Result<LogEntry[]> {
  if (!Array.isArray(v)) return fail("entries must be an array");
  const out: LogEntry[] = [];
  for (let i = 0; i < v.length; i++) {
    const e = checkEntry(v[i], trust);
    if (!e.ok) return fail(`entries[${i}]: ${e.error}`);
    if (e.value.index !== prevIndex + 1 + i) {
      return fail(`entries[${i}].index must be ${prevIndex + 1 + i}`);
    }
    out.push(e.value);
  }
  return ok(out);
}
