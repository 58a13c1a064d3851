/**
 * Bookkeeping of one board as this client sees it: the committed log (which
 * decides the picture), this client's own strokes and board operations still
 * waiting for it, and which strokes are visible. No I/O here; the connection
 * feeds messages in, the renderer reads it out.
 *
 * Visibility is protocol/board_ops.ts `Visibility`, the one rule every screen
 * uses. Own operations not yet committed are shown at once: they are applied
 * after the committed ones, at indexes above any real one, in the order they
 * were made (strokes and ops share that order, so a pending clear hides the
 * pending strokes drawn before it and not those after).
 */
import type { BoardEntry, ClientMessage, Stroke } from "../../protocol/mod.ts";
import { entryId, Visibility } from "../../protocol/board_ops.ts";
import { ErrorCode } from "../../protocol/ws.ts";

/** What the outbox holds: a stroke or a board operation, as sent on the wire. */
export type OutMessage = Extract<ClientMessage, { type: "stroke" | "erase" | "restore" | "clear" }>;

/** A stroke or op made here that has not come back in the committed log yet. */
export interface PendingItem {
  msg: OutMessage;
  /** Order of making, across strokes and ops (and across reloads, via the outbox). */
  seq: number;
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
  /** Log index of each of `committed` (same positions). */
  committedIndex: number[];
  /** Committed erase/restore/clear entries, in order: replayed when pending ops change. */
  committedOps: BoardEntry[];
  /** What the committed log alone shows. */
  committedVis: Visibility;
  /** What the screen shows: `committedVis`, or a copy with the pending ops applied on top. */
  shownVis: Visibility;
  /** Highest committed index seen: the `since` to resume from. */
  lastIndex: number;
  /** Own items not yet seen committed, by id, in the order they were made. */
  pending: Map<string, PendingItem>;
  /** Next `seq` to give out. */
  nextSeq: number;
}

/** What a refused item becomes: kept to resend later, or given up for good. */
export type RefusalOutcome = "retry" | "dropped" | "unknown";

/** Refusals that say "not now" rather than "never": the item is sent again later. */
const RETRYABLE_CODES: ReadonlySet<string> = new Set([
  ErrorCode.unavailable,
  ErrorCode.rateLimited,
]);

/** Pending items sit above every real index; 2^50 plus a clock-based seq stays a safe integer. */
const PENDING_INDEX_BASE = 2 ** 50;

/**
 * An empty board. `firstSeq` should grow across page loads (the store passes
 * the clock), so items made after a reload sort after those read back.
 */
export function createBoardState(firstSeq = 1): BoardState {
  const vis = new Visibility();
  return {
    committed: [],
    committedIndex: [],
    committedOps: [],
    committedVis: vis,
    shownVis: vis,
    lastIndex: 0,
    pending: new Map(),
    nextSeq: firstSeq,
  };
}

/** The id a wire message is acked and committed under. */
export function idOf(msg: OutMessage): string {
  return msg.type === "stroke" ? msg.stroke.id : msg.id;
}

/** The log entry an op message becomes, at `index`. */
function opEntry(msg: Exclude<OutMessage, { type: "stroke" }>, index: number): BoardEntry {
  switch (msg.type) {
    case "erase":
      return { index, erase: { id: msg.id, targets: msg.targets } };
    case "restore":
      return { index, restore: { id: msg.id, targets: msg.targets } };
    case "clear":
      return { index, clear: { id: msg.id } };
  }
}

/**
 * Records an item made here (or read back from the outbox with its `seq`);
 * false (and no change) when its id is already pending.
 */
export function addPending(s: BoardState, msg: OutMessage, seq = s.nextSeq): boolean {
  const id = idOf(msg);
  if (s.pending.has(id)) return false;
  const outOfOrder = seq < s.nextSeq - 1;
  s.pending.set(id, { msg, seq, ackIndex: null });
  s.nextSeq = Math.max(s.nextSeq, seq + 1);
  if (outOfOrder) sortPending(s);
  if (msg.type !== "stroke") rebuildShown(s);
  return true;
}

/** Keeps `pending` in making order (items adopted from the outbox may be older). */
function sortPending(s: BoardState): void {
  const items = [...s.pending.entries()].sort((a, b) => a[1].seq - b[1].seq);
  s.pending = new Map(items);
}

/**
 * Appends the entries newer than `lastIndex`, in order, and retires the pending
 * items they carry. Entries at or below `lastIndex` are repeats (a replay
 * overlapping what we already have) and are skipped. Returns how many were
 * appended, whether visibility may have changed (an op committed or a pending
 * one retired) and the ids of the pending items retired.
 */
export function applyCommitted(
  s: BoardState,
  entries: readonly BoardEntry[],
): { added: number; ops: boolean; retired: string[] } {
  let added = 0;
  const retired: string[] = [];
  let ops = false;
  let retiredOp = false;
  for (const e of entries) {
    if (e.index <= s.lastIndex) continue;
    s.lastIndex = e.index;
    const id = entryId(e);
    const mine = s.pending.get(id);
    if (mine) {
      s.pending.delete(id);
      retired.push(id);
      if (mine.msg.type !== "stroke") retiredOp = true;
    }
    if ("stroke" in e) {
      s.committed.push(e.stroke);
      s.committedIndex.push(e.index);
    } else {
      s.committedOps.push(e);
      s.committedVis.apply(e);
      ops = true;
    }
    added++;
  }
  if (ops || retiredOp) rebuildShown(s);
  return { added, ops: ops || retiredOp, retired };
}

/** Recomputes `shownVis`: the committed picture with the pending ops applied on top, in order. */
function rebuildShown(s: BoardState): void {
  let shown: Visibility | null = null;
  for (const p of s.pending.values()) {
    if (p.msg.type === "stroke") continue;
    if (shown === null) {
      shown = new Visibility();
      for (const e of s.committedOps) shown.apply(e);
    }
    shown.apply(opEntry(p.msg, PENDING_INDEX_BASE + p.seq));
  }
  s.shownVis = shown ?? s.committedVis;
}

/** True when committed stroke number `i` (position in `committed`) is visible on screen. */
export function isCommittedVisible(s: BoardState, i: number): boolean {
  return s.shownVis.isVisible(s.committed[i], s.committedIndex[i]);
}

/** True when pending item `p` is a stroke that is visible on screen. */
export function isPendingVisible(s: BoardState, p: PendingItem): boolean {
  return p.msg.type === "stroke" && s.shownVis.isVisible(p.msg.stroke, PENDING_INDEX_BASE + p.seq);
}

/**
 * The gateway says our item is durable at `index`. It stays shown as pending
 * until its committed copy arrives (so it never blinks out), but is not resent.
 * Returns true when the ack retired it.
 */
export function applyAck(s: BoardState, id: string, index: number): boolean {
  const p = s.pending.get(id);
  if (!p) return false;
  // Already past that index: the copy came before the ack (or under another board filter).
  if (index <= s.lastIndex) {
    s.pending.delete(id);
    if (p.msg.type !== "stroke") rebuildShown(s);
    return true;
  }
  p.ackIndex = index;
  return false;
}

/** An item was refused: keep it to resend later, or drop it when it can never commit. */
export function applyRefusal(s: BoardState, id: string, code: string): RefusalOutcome {
  const p = s.pending.get(id);
  if (!p) return "unknown";
  if (RETRYABLE_CODES.has(code)) return "retry";
  s.pending.delete(id);
  if (p.msg.type !== "stroke") rebuildShown(s);
  return "dropped";
}

/** Items to send again after a reconnect: every unacked pending one, in making order. */
export function resendList(s: BoardState): OutMessage[] {
  const out: OutMessage[] = [];
  for (const p of s.pending.values()) if (p.ackIndex === null) out.push(p.msg);
  return out;
}

/** Pending items not yet acked: what is not saved yet. */
export function unsavedCount(s: BoardState): number {
  let n = 0;
  for (const p of s.pending.values()) if (p.ackIndex === null) n++;
  return n;
}

/**
 * True when the cluster's history is shorter than what we have drawn: it was
 * wiped, so our log must be thrown away and fetched again from index 0.
 */
export function needsReset(s: BoardState, helloCommitIndex: number): boolean {
  return helloCommitIndex < s.lastIndex;
}

/** Forgets the committed log (pending items stay: they will be resent). */
export function resetCommitted(s: BoardState): void {
  s.committed = [];
  s.committedIndex = [];
  s.committedOps = [];
  s.committedVis = new Visibility();
  s.lastIndex = 0;
  for (const p of s.pending.values()) p.ackIndex = null;
  rebuildShown(s);
}
