/**
 * Input validation at the edges (replica routes, gateway sockets). Each
 * validator returns the typed value or a human-readable reason; nothing here
 * throws on bad input, so a caller can always answer 400 with `{error}`.
 */
import type { LogEntry, Stroke } from "./mod.ts";

/** Result of validating untrusted input. */
export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

/** Coordinates are world units; anything beyond this is a bug or an attack. */
export const MAX_COORDINATE = 1_000_000;
export const MIN_WIDTH = 0.5;
export const MAX_WIDTH = 200;
export const MAX_ID_LENGTH = 128;
export const MAX_BOARD_LENGTH = 64;
const ID_PATTERN = /^[A-Za-z0-9_.:-]+$/;
const BOARD_PATTERN = /^[A-Za-z0-9_.-]+$/;
const COLOR_PATTERN = /^#[0-9a-fA-F]{6}$/;

/** Plain object (not null, not an array). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Terms and indexes: safe, non-negative integers. */
export function isIndex(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

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

/** Validates a stroke and returns a copy holding only the known fields. */
export function checkStroke(v: unknown): Checked<Stroke> {
  if (!isObject(v)) return { ok: false, error: "stroke must be an object" };
  if (!isStrokeId(v.id)) {
    return { ok: false, error: `stroke.id must be 1-${MAX_ID_LENGTH} chars of [A-Za-z0-9_.:-]` };
  }
  for (const k of ["x0", "y0", "x1", "y1"] as const) {
    if (!isCoordinate(v[k])) {
      return { ok: false, error: `stroke.${k} must be a finite number within ±${MAX_COORDINATE}` };
    }
  }
  if (typeof v.color !== "string" || !COLOR_PATTERN.test(v.color)) {
    return { ok: false, error: "stroke.color must be #rrggbb" };
  }
  if (
    typeof v.width !== "number" || !Number.isFinite(v.width) || v.width < MIN_WIDTH ||
    v.width > MAX_WIDTH
  ) {
    return { ok: false, error: `stroke.width must be between ${MIN_WIDTH} and ${MAX_WIDTH}` };
  }
  if (v.board !== undefined && !isBoardName(v.board)) {
    return { ok: false, error: "stroke.board must be 1-64 chars of [A-Za-z0-9_.-]" };
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
  if (v.board !== undefined) stroke.board = v.board as string;
  return { ok: true, value: stroke };
}

/** Validates one replicated log entry (stroke or no-op). */
export function checkEntry(v: unknown): Checked<LogEntry> {
  if (!isObject(v)) return { ok: false, error: "entry must be an object" };
  if (!isIndex(v.index) || v.index === 0) {
    return { ok: false, error: "entry.index must be a positive safe integer" };
  }
  if (!isIndex(v.term)) {
    return { ok: false, error: "entry.term must be a safe non-negative integer" };
  }
  if (v.noop === true) return { ok: true, value: { index: v.index, term: v.term, noop: true } };
  const s = checkStroke(v.stroke);
  if (!s.ok) return s;
  return { ok: true, value: { index: v.index, term: v.term, stroke: s.value } };
}

/** Validates a list of entries that must be contiguous and start right after `prevIndex`. */
export function checkEntries(v: unknown, prevIndex: number): Checked<LogEntry[]> {
  if (!Array.isArray(v)) return { ok: false, error: "entries must be an array" };
  const out: LogEntry[] = [];
  for (let i = 0; i < v.length; i++) {
    const e = checkEntry(v[i]);
    if (!e.ok) return { ok: false, error: `entries[${i}]: ${e.error}` };
    if (e.value.index !== prevIndex + 1 + i) {
      return { ok: false, error: `entries[${i}].index must be ${prevIndex + 1 + i}` };
    }
    out.push(e.value);
  }
  return { ok: true, value: out };
}
