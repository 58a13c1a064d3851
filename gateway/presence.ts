/**
 * Who a client is to the others on its board: a display name from `name=` and a colour from
 * its client id. Presence never goes through the log; these only decide what `hello` and
 * `presence` messages say.
 */
import { MAX_NAME_LENGTH } from "../protocol/mod.ts";

/**
 * Cursor colours, readable on the white board and distinct from each other (Tableau 10,
 * darkened where white text or a thin cursor would vanish).
 */
export const PRESENCE_COLORS: readonly string[] = [
  "#1f77b4",
  "#d62728",
  "#2ca02c",
  "#9467bd",
  "#e6550d",
  "#8c564b",
  "#d6336c",
  "#17808a",
  "#7f7f00",
  "#3f51b5",
  "#00897b",
  "#6a1b9a",
];

/** FNV-1a of a string: small, fast, the same on every gateway. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The colour of a client's cursor: deterministic from its id. */
export function colorFor(clientId: string): string {
  return PRESENCE_COLORS[hash(clientId) % PRESENCE_COLORS.length];
}

// Control characters (C0, DEL, C1) and the bidi overrides that would let a name reorder the
// text around it on another user's screen.
const UNPRINTABLE = /[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/**
 * The name others see: `raw` trimmed, without control characters, cut to `MAX_NAME_LENGTH`
 * UTF-16 units (the length the page's decoder allows) without splitting a character;
 * "Guest NNNN" (from the client id) when nothing printable is left.
 */
export function displayName(raw: string | undefined, clientId: string): string {
  const cleaned = (raw ?? "").replace(UNPRINTABLE, "").replace(/\s+/g, " ").trim();
  let cut = "";
  for (const ch of cleaned) {
    if (cut.length + ch.length > MAX_NAME_LENGTH) break;
    cut += ch;
  }
  cut = cut.trim();
  return cut.length > 0 ? cut : `Guest ${String(hash(clientId) % 10_000).padStart(4, "0")}`;
}
