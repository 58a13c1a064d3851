/**
 * The page's shared state as module-level signals. The committed log itself
 * lives in `board` (mutable, see board_state.ts); `committedCount` and
 * `boardEpoch` are the signals that say it changed.
 */
import { batch, computed, signal } from "@preact/signals";
import type { ClusterStatus, CommittedStroke, Stroke } from "../../protocol/mod.ts";
import * as bs from "./board_state.ts";
import type { LivePath } from "./draw.ts";
import { statusLine } from "./status_text.ts";

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

/** The board's log and pending strokes; read it, change it only through the actions below. */
export const board: bs.BoardState = bs.createBoardState();

/** Where the socket to the gateway is. */
export const connection = signal<ConnectionState>("connecting");
/** Leader, term and replicas as the gateway last reported them; null when unknown. */
export const cluster = signal<ClusterStatus | null>(null);
/** Length of `board.committed`. */
export const committedCount = signal(0);
/** Highest committed index seen. */
export const lastIndex = signal(0);
/** Bumped when the committed log is replaced (cluster wiped): the layer must be redrawn. */
export const boardEpoch = signal(0);
/** Own strokes not yet seen committed, oldest first. */
export const pendingStrokes = signal<readonly Stroke[]>([]);
/** Paths under a pointer right now, drawn live on the overlay. */
export const livePaths = signal<readonly LivePath[]>([]);
/** Brush color. */
export const currentColor = signal<string>(PALETTE[1]);
/** Brush width in world units. */
export const currentWidth = signal<number>(WIDTHS[1]);
/** The last refusal the gateway sent, shown for a few seconds. */
export const lastError = signal<string | null>(null);

/** Number of own strokes not yet seen committed. */
export const pendingCount = computed(() => pendingStrokes.value.length);
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

/** Copies the board's bookkeeping into the signals, once per change. */
function publish(): void {
  batch(() => {
    committedCount.value = board.committed.length;
    lastIndex.value = board.lastIndex;
    const pending: Stroke[] = [];
    for (const p of board.pending.values()) pending.push(p.stroke);
    if (pending.length !== 0 || pendingStrokes.value.length !== 0) pendingStrokes.value = pending;
  });
}

/** Records a stroke drawn here so it shows at once; false when its id was already pending. */
export function addOwnStroke(stroke: Stroke): boolean {
  const added = bs.addPending(board, stroke);
  if (added) publish();
  return added;
}

/** Committed strokes arrived. */
export function receiveCommitted(entries: readonly CommittedStroke[]): void {
  bs.applyCommitted(board, entries);
  publish();
}

/** The gateway acked one of our strokes. */
export function receiveAck(id: string, index: number): void {
  bs.applyAck(board, id, index);
  publish();
}

/** How long a refusal stays in the status bar. */
const ERROR_SHOWN_MS = 8000;

/** The gateway refused one of our strokes. */
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
  const outcome = bs.applyRefusal(board, id, code);
  publish();
  return outcome;
}

/** The cluster lost its history: start over from index 0. */
export function resetBoard(): void {
  bs.resetCommitted(board);
  boardEpoch.value++;
  publish();
}
