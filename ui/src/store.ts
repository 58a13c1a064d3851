/**
 * The page's shared state as module-level signals. The committed log itself
 * lives in `board` (mutable, see board_state.ts); `committedCount`,
 * `boardEpoch` and `visibilityEpoch` are the signals that say it changed.
 * Every own stroke and op goes through here, and so into the outbox.
 */
import { batch, computed, signal } from "@preact/signals";
import type { BoardEntry, ClusterStatus, Stroke } from "../../protocol/mod.ts";
import * as bs from "./board_state.ts";
import type { LivePath } from "./draw.ts";
import type { Outbox } from "./outbox.ts";
import { savedLine, statusLine } from "./status_text.ts";

/** Colors of the palette (lowercase, as the gateway normalizes them). */
export const PALETTE = [
  "#1d1d1f",
  "#e63946",
  "#f4a261",
  "#e9c46a",
  "#2a9d8f",
  "#457b9d",
  "#8338ec",
  "#ffffff",
] as const;
/** Brush widths in world units. */
export const WIDTHS = [2, 4, 8, 16] as const;

/** Where the socket is. */
export type ConnectionState = "connecting" | "open" | "reconnecting";

/**
 * The board's log and pending items; read it, change it only through the
 * functions below. Seqs start from the clock so items made after a reload
 * sort after the ones the outbox gives back.
 */
export const board: bs.BoardState = bs.createBoardState(Date.now() * 1000);

/** Where the socket to the gateway is. */
export const connection = signal<ConnectionState>("connecting");
/** Leader, term and replicas as the gateway last reported them; null when unknown. */
export const cluster = signal<ClusterStatus | null>(null);
/** Length of `board.committed` (committed strokes, visible or not). */
export const committedCount = signal(0);
/** Highest committed index seen. */
export const lastIndex = signal(0);
/** Bumped when the committed log is replaced (cluster wiped): the layer must be redrawn. */
export const boardEpoch = signal(0);
/** Bumped whenever what is visible may have changed: an op committed, or an own op made or settled. */
export const visibilityEpoch = signal(0);
/** Own strokes not yet seen committed and visible (not hidden by an own pending op), oldest first. */
export const pendingStrokes = signal<readonly Stroke[]>([]);
/** Own strokes and ops not yet seen committed, visible or not. */
export const pendingCount = signal(0);
/** Own strokes and ops not yet acked: not durable yet. */
export const unsavedCount = signal(0);
/** Paths under a pointer right now, drawn live on the overlay. */
export const livePaths = signal<readonly LivePath[]>([]);
/** Brush color. */
export const currentColor = signal<string>(PALETTE[1]);
/** Brush width in world units. */
export const currentWidth = signal<number>(WIDTHS[1]);
/** The last refusal the gateway sent, shown for a few seconds. */
export const lastError = signal<string | null>(null);

/** The status bar's text pieces. */
export const status = computed(() =>
  statusLine({
    connection: connection.value,
    cluster: cluster.value,
    pending: pendingCount.value,
    committed: committedCount.value,
    error: lastError.value,
  })
);

/** "saved" when everything made here is durable, else "n pending": never claims more than is true. */
export const savedText = computed(() => savedLine(unsavedCount.value));

let outbox: Outbox | null = null;

/** From now on own items are kept in `box` until acked (main.tsx, once the outbox is open). */
export function attachOutbox(box: Outbox): void {
  outbox = box;
  for (const [id, p] of board.pending) if (p.ackIndex === null) box.save(id, p.seq, p.msg);
}

/** True when committed stroke number `i` (its position in `board.committed`) is visible. */
export function isCommittedVisible(i: number): boolean {
  return bs.isCommittedVisible(board, i);
}

/** Every visible stroke: committed ones in log order, then own pending ones (for export and fit). */
export function visibleStrokes(): Stroke[] {
  const out: Stroke[] = [];
  const n = board.committed.length;
  for (let i = 0; i < n; i++) if (bs.isCommittedVisible(board, i)) out.push(board.committed[i]);
  for (const p of board.pending.values()) {
    if (p.msg.type === "stroke" && bs.isPendingVisible(board, p)) out.push(p.msg.stroke);
  }
  return out;
}

/** True when `target` (stroke, group or clear id) is hidden on screen, pending own ops included. */
export function isHidden(target: string): boolean {
  return board.shownVis.isHidden(target);
}

/** Copies the board's bookkeeping into the signals, once per change. */
function publish(visibility: boolean): void {
  batch(() => {
    committedCount.value = board.committed.length;
    lastIndex.value = board.lastIndex;
    const pending: Stroke[] = [];
    for (const p of board.pending.values()) {
      if (p.msg.type === "stroke" && bs.isPendingVisible(board, p)) pending.push(p.msg.stroke);
    }
    if (pending.length !== 0 || pendingStrokes.value.length !== 0) pendingStrokes.value = pending;
    pendingCount.value = board.pending.size;
    unsavedCount.value = bs.unsavedCount(board);
    if (visibility) visibilityEpoch.value++;
  });
}

/**
 * Records an item made here (a stroke or an op) so it shows at once and is
 * kept until acked; false when its id was already pending. `seq` is given
 * for items read back from the outbox.
 */
export function addOwn(msg: bs.OutMessage, seq?: number): boolean {
  const added = bs.addPending(board, msg, seq);
  if (!added) return false;
  const id = bs.idOf(msg);
  outbox?.save(id, board.pending.get(id)!.seq, msg);
  publish(msg.type !== "stroke");
  return true;
}

/** Records a stroke drawn here; false when its id was already pending. */
export function addOwnStroke(stroke: Stroke): boolean {
  return addOwn({ type: "stroke", stroke });
}

/** Committed entries (strokes and ops) arrived. */
export function receiveCommitted(entries: readonly BoardEntry[]): void {
  const { ops, retired } = bs.applyCommitted(board, entries);
  for (const id of retired) outbox?.remove(id);
  publish(ops);
}

/** The gateway acked one of our items: it is durable, the outbox may let go of it. */
export function receiveAck(id: string, index: number): void {
  const p = board.pending.get(id);
  if (!p) return;
  const retired = bs.applyAck(board, id, index);
  outbox?.remove(id);
  publish(retired && p.msg.type !== "stroke");
}

/** How long a refusal stays in the status bar. */
const ERROR_SHOWN_MS = 8000;

/** The gateway refused one of our items. */
export function receiveRefusal(
  id: string | undefined,
  code: string,
  message: string,
): bs.RefusalOutcome {
  const text = `${code}: ${message}`;
  lastError.value = text;
  setTimeout(() => {
    if (lastError.value === text) lastError.value = null;
  }, ERROR_SHOWN_MS);
  if (id === undefined) return "unknown";
  const wasOp = board.pending.get(id)?.msg.type !== "stroke";
  const outcome = bs.applyRefusal(board, id, code);
  if (outcome === "dropped") {
    outbox?.remove(id);
    publish(wasOp);
  }
  return outcome;
}

/** The cluster lost its history: start over from index 0 (pending items are sent again). */
export function resetBoard(): void {
  bs.resetCommitted(board);
  for (const [id, p] of board.pending) outbox?.save(id, p.seq, p.msg);
  boardEpoch.value++;
  publish(true);
}

/** Own items durably in the outbox now (for the test hooks: safe to reload once it covers them). */
export function outboxStoredCount(): number {
  return outbox?.storedCount ?? 0;
}
