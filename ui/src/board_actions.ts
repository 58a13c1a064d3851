/**
 * Everything the user does to the board, as one API for the canvas and the
 * shell: draw a group, erase, clear, undo, redo, move the cursor. It turns
 * them into protocol messages with fresh ids, shows them at once (pending)
 * and hands them to the connection. Every action is a no-op on a view-only
 * session.
 *
 * This first version draws; erase, clear, undo, redo and cursors arrive with
 * the sync work (per-user undo stack, outbox), behind the same signatures.
 */
import { computed, type ReadonlySignal } from "@preact/signals";
import type { ClientMessage } from "../../protocol/mod.ts";
import type { Segment } from "./segmenter.ts";
import { addOwnStroke, currentColor } from "./store.ts";
import { newClientId, segmentToStroke } from "./strokes.ts";
import { readOnly } from "./ui_state.ts";

type Send = (msg: ClientMessage) => void;
let send: Send = () => {};
const clientId = newClientId();
let counter = 0;

/** Where messages go; main.tsx wires the connection here. */
export function setSender(fn: Send): void {
  send = fn;
}

function nextId(): string {
  return `${clientId}:${++counter}`;
}

/** Starts a pen-down..pen-up group; null on a view-only session. */
export function startGroup(): string | null {
  return readOnly.peek() ? null : `g:${nextId()}`;
}

/** One finished segment of `group` (board coordinates), `width` in board units (pressure applied). */
export function addSegment(group: string, seg: Segment, width: number): void {
  if (readOnly.peek()) return;
  const stroke = { ...segmentToStroke(seg, nextId(), currentColor.peek(), width), group };
  if (addOwnStroke(stroke)) send({ type: "stroke", stroke });
}

/** Pen up: the group is complete (an undo step). */
export function endGroup(_group: string): void {}

/** Erases strokes or groups (the eraser); one undo step. */
export function eraseTargets(_targets: readonly string[]): void {}

/** Clears the board; one undo step. */
export function clearBoard(): void {}

/** Undoes this user's last step. */
export function undo(): void {}

/** Redoes the last undone step. */
export function redo(): void {}

export const canUndo: ReadonlySignal<boolean> = computed(() => false);
export const canRedo: ReadonlySignal<boolean> = computed(() => false);

/** This user's cursor moved (board coordinates); throttled before it is sent. */
export function sendCursor(_x: number, _y: number): void {}
