/**
 * The one `Result` type of every decoder, and the primitive checks they are
 * built from. Nothing here throws on bad input, so a caller can always answer
 * 400 with `{error}` (or drop a message) instead of failing.
 */

/** A decoded value, or the human-readable reason it was refused. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: string };

/** A successful `Result`. */
export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

/** A refused `Result`. */
export function fail(error: string): { ok: false; error: string } {
  return { ok: false, error };
}

/** Terms and indexes stay below 2^48 (CONTRACT.md): far beyond any real log, well inside a double. */
export const MAX_INDEX = 2 ** 48;

/** Plain object (not null, not an array). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Terms and indexes: non-negative integers below `MAX_INDEX`. */
export function isIndex(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v < MAX_INDEX;
}

/** The first of `keys` that is not an index, as an error message; null when all are. */
export function badIndex(body: Record<string, unknown>, keys: readonly string[]): string | null {
  for (const k of keys) {
    if (!isIndex(body[k])) return `${k} must be a non-negative integer below 2^48`;
  }
  return null;
}

/** Parses JSON text; a syntax error becomes a refused `Result`. */
export function parseJson(text: string): Result<unknown> {
  try {
    return ok(JSON.parse(text));
  } catch {
    return fail("not valid JSON");
  }
}

/** Longest display name (of a cursor, of an entry's author), in UTF-16 units. */
export const MAX_NAME_LENGTH = 40;

/**
 * Who made a stroke or an op and when (ms since the epoch), for history
 * replay. The gateway stamps them from the session; a browser's own are dropped.
 */
export interface Authorship {
  by?: string;
  at?: number;
}

/** Copies a valid `by`/`at` from `v` onto `into`; an error message when one is malformed. */
export function copyAuthorship(v: Record<string, unknown>, into: Authorship): string | null {
  if (v.by !== undefined) {
    if (typeof v.by !== "string" || v.by.length > MAX_NAME_LENGTH) {
      return `by must be a string of at most ${MAX_NAME_LENGTH} characters`;
    }
    into.by = v.by;
  }
  if (v.at !== undefined) {
    if (!isIndex(v.at)) return "at must be a non-negative integer (ms since the epoch)";
    into.at = v.at;
  }
  return null;
}
