/**
 * Bookkeeping of one board as this client sees it: the committed log (which
 * decides the picture) and this client's own strokes still waiting for it.
 * No I/O here; the connection feeds messages in, the renderer reads it out.
 */
import type { CommittedStroke, Stroke } from "../../protocol/mod.ts";
import { ErrorCode } from "../../protocol/ws.ts";

/** A stroke drawn here that has not come back in the committed log yet. */
export interface PendingStroke {
  stroke: Stroke;
  /** Index from the gateway's ack: durable, so no need to resend it. */
  ackIndex: number | null;
}

/**
 * Mutable on purpose: a board of 100k segments grows one message at a time,
 * and copying the log on every append would be quadratic.
 */
export interface BoardState {
  /** Committed strokes in index order; only appended to, or replaced by `resetCommitted`. */
  committed: Stroke[];
  /** Highest committed index seen: the `since` to resume from. */
  lastIndex: number;
  /** Own strokes not yet seen committed, in the order they were drawn. */
  pending: Map<string, PendingStroke>;
}

/** What a refused stroke becomes: kept to resend later, or given up for good. */
export type RefusalOutcome = "retry" | "dropped" | "unknown";

/** Refusals that say "not now" rather than "never": the stroke is sent again later. */
const RETRYABLE_CODES: ReadonlySet<string> = new Set([
  ErrorCode.unavailable,
  ErrorCode.rateLimited,
]);

/** An empty board. */
export function createBoardState(): BoardState {
  return { committed: [], lastIndex: 0, pending: new Map() };
}

/** Records a stroke drawn here; false (and no change) when its id is already pending. */
export function addPending(s: BoardState, stroke: Stroke): boolean {
  if (s.pending.has(stroke.id)) return false;
  s.pending.set(stroke.id, { stroke, ackIndex: null });
  return true;
}

/**
 * Appends the entries newer than `lastIndex`, in order, and retires the pending
 * strokes they carry. Entries at or below `lastIndex` are repeats (a replay
 * overlapping what we already have) and are skipped. Returns how many were appended.
 */
export function applyCommitted(s: BoardState, entries: readonly CommittedStroke[]): number {
  let added = 0;
  for (const e of entries) {
    if (e.index <= s.lastIndex) continue;
    s.committed.push(e.stroke);
    s.lastIndex = e.index;
    s.pending.delete(e.stroke.id);
    added++;
  }
  return added;
}

/**
 * The gateway says our stroke is durable at `index`. It stays drawn as pending
 * until its committed copy arrives (so it never blinks out), but is not resent.
 */
export function applyAck(s: BoardState, id: string, index: number): void {
  const p = s.pending.get(id);
  if (!p) return;
  // Already past that index: the copy came before the ack (or under another board filter).
  if (index <= s.lastIndex) s.pending.delete(id);
  else p.ackIndex = index;
}

/** A stroke was refused: keep it to resend later, or drop it when it can never commit. */
export function applyRefusal(s: BoardState, id: string, code: string): RefusalOutcome {
  if (!s.pending.has(id)) return "unknown";
  if (RETRYABLE_CODES.has(code)) return "retry";
  s.pending.delete(id);
  return "dropped";
}

/** Strokes to send again after a reconnect: every unacked pending one, oldest first. */
export function resendList(s: BoardState): Stroke[] {
  const out: Stroke[] = [];
  for (const p of s.pending.values()) if (p.ackIndex === null) out.push(p.stroke);
  return out;
}

/**
 * True when the cluster's history is shorter than what we have drawn: it was
 * wiped, so our log must be thrown away and fetched again from index 0.
 */
export function needsReset(s: BoardState, helloCommitIndex: number): boolean {
  return helloCommitIndex < s.lastIndex;
}

/** Forgets the committed log (pending strokes stay: they will be resent). */
export function resetCommitted(s: BoardState): void {
  s.committed = [];
  s.lastIndex = 0;
  for (const p of s.pending.values()) p.ackIndex = null;
}
