/**
 * Everything the user does to the board, as one API for the canvas and the
 * shell: draw a group, erase, clear, undo, redo, import, move the cursor. It
 * turns them into protocol messages with fresh ids, shows them at once
 * (pending, kept in the outbox) and hands them to the connection. Every
 * action is a no-op on a view-only session.
 */
import { computed, type ReadonlySignal, signal } from "@preact/signals";
import { MAX_OP_TARGETS } from "../../protocol/board_ops.ts";
import { type ClientMessage, MAX_COORDINATE, type Stroke } from "../../protocol/mod.ts";
import type { OutMessage } from "./board_state.ts";
import type { Segment } from "./segmenter.ts";
import { addOwn, currentColor, isHidden, visibleStrokes } from "./store.ts";
import { newClientId, segmentToStroke } from "./strokes.ts";
import { readOnly } from "./ui_state.ts";
import { type KeyValueStore, memoryStore, UndoHistory } from "./undo_stack.ts";

type Send = (msg: ClientMessage) => void;
let send: Send = () => {};
const clientId = newClientId();
let counter = 0;
let history = new UndoHistory(memoryStore(), "unsaved");
/** Groups of this page that got at least one segment: only those become undo steps. */
const inkedGroups = new Set<string>();

/** Where messages go; main.tsx wires the connection here. */
export function setSender(fn: Send): void {
  send = fn;
}

const undoDepth = signal(0);
const redoDepth = signal(0);
/** True when `undo()` has a step of this user to take back. */
export const canUndo: ReadonlySignal<boolean> = computed(() =>
  undoDepth.value > 0 && !readOnly.value
);
/** True when `redo()` has an undone step to apply again. */
export const canRedo: ReadonlySignal<boolean> = computed(() =>
  redoDepth.value > 0 && !readOnly.value
);

function refreshDepths(): void {
  undoDepth.value = history.undoDepth;
  redoDepth.value = history.redoDepth;
}

/**
 * Uses this user's stored history for the board (main.tsx, with localStorage
 * and the stable user id). Another tab of the user changing it updates the
 * buttons here through the `storage` event.
 */
export function useHistory(store: KeyValueStore, key: string): void {
  history = new UndoHistory(store, key);
  refreshDepths();
  globalThis.addEventListener?.("storage", (e: StorageEvent) => {
    if (e.key !== key) return;
    history.reload();
    refreshDepths();
  });
}

function nextId(): string {
  return `${clientId}:${++counter}`;
}

/** Shows an own stroke or op at once, keeps it until acked, and sends it. */
function submit(msg: OutMessage): void {
  if (addOwn(msg)) send(msg);
}

/** Sends erase or restore ops for `targets`, split to the protocol's size limit. */
function submitTargets(type: "erase" | "restore", targets: readonly string[]): void {
  for (let i = 0; i < targets.length; i += MAX_OP_TARGETS) {
    submit({ type, id: `op:${nextId()}`, targets: targets.slice(i, i + MAX_OP_TARGETS) });
  }
}

/** Starts a pen-down..pen-up group; null on a view-only session. */
export function startGroup(): string | null {
  return readOnly.peek() ? null : `g:${nextId()}`;
}

/** One finished segment of `group` (board coordinates), `width` in board units (pressure applied). */
export function addSegment(group: string, seg: Segment, width: number): void {
  if (readOnly.peek()) return;
  const stroke = { ...segmentToStroke(seg, nextId(), currentColor.peek(), width), group };
  inkedGroups.add(group);
  submit({ type: "stroke", stroke });
}

/** Pen up: the group is complete, one undo step (if it drew anything). */
export function endGroup(group: string): void {
  if (!inkedGroups.delete(group) || readOnly.peek()) return;
  history.push({ targets: [group], hidden: false });
  refreshDepths();
}

/** Starts an eraser drag: every `eraseTargets` under it until the pointer lifts is one undo step. */
export function startErase(): string {
  return `e:${nextId()}`;
}

/**
 * Erases strokes or groups (the eraser) at once; one undo step, or part of
 * the step of `drag` (from `startErase`). Targets already hidden are left out.
 */
export function eraseTargets(targets: readonly string[], drag?: string): void {
  if (readOnly.peek()) return;
  const fresh = [...new Set(targets)].filter((t) => !isHidden(t));
  if (fresh.length === 0) return;
  submitTargets("erase", fresh);
  history.push({ targets: fresh, hidden: true, gesture: drag });
  refreshDepths();
}

/** Clears the board (one entry); one undo step. Nothing happens on an empty board. */
export function clearBoard(): void {
  if (readOnly.peek() || visibleStrokes().length === 0) return;
  const id = `clear:${nextId()}`;
  submit({ type: "clear", id });
  history.push({ targets: [id], hidden: true });
  refreshDepths();
}

/** Undoes this user's last step (also one made in another tab of the user). */
export function undo(): void {
  if (readOnly.peek()) return;
  const op = history.undo(isHidden);
  refreshDepths();
  if (op) submitTargets(op.type, op.targets);
}

/** Redoes the last undone step. */
export function redo(): void {
  if (readOnly.peek()) return;
  const op = history.redo(isHidden);
  refreshDepths();
  if (op) submitTargets(op.type, op.targets);
}

/**
 * Adds strokes from a file as new strokes of this user: fresh ids, groups
 * kept apart (ungrouped ones share one group), one undo step. Returns how
 * many were added.
 */
export function importStrokes(strokes: readonly Stroke[]): number {
  if (readOnly.peek() || strokes.length === 0) return 0;
  const groups = new Map<string, string>();
  const loose = `g:${nextId()}`;
  for (const s of strokes) {
    const group = s.group === undefined
      ? loose
      : groups.get(s.group) ?? groups.set(s.group, `g:${nextId()}`).get(s.group)!;
    const { board: _board, ...rest } = s;
    submit({ type: "stroke", stroke: { ...rest, id: nextId(), group } });
  }
  const targets = [...groups.values()];
  if (strokes.some((s) => s.group === undefined)) targets.push(loose);
  history.push({ targets, hidden: false });
  refreshDepths();
  return strokes.length;
}

/**
 * Brings back a past picture (history replay): restores what was hidden
 * since, then erases what came after, as ordinary entries, so the past is
 * never rewritten. Two undo steps: undoing both returns to today's board.
 */
export function restorePast(plan: { restore: string[][]; erase: string[][] }): void {
  if (readOnly.peek()) return;
  const restore = plan.restore.flat().filter((t) => isHidden(t));
  const erase = plan.erase.flat();
  if (restore.length > 0) {
    submitTargets("restore", restore);
    history.push({ targets: restore, hidden: false });
  }
  if (erase.length > 0) {
    submitTargets("erase", erase);
    history.push({ targets: erase, hidden: true });
  }
  refreshDepths();
}

/** Most cursor messages per second we send (the gateway relays up to 30). */
export const CURSORS_PER_SECOND = 20;

/**
 * Calls `fn` with the latest arguments at most once per `intervalMs`: the
 * first call goes at once, later ones within the interval are folded into
 * one trailing call, so the last position is always sent.
 */
export function throttle<A extends unknown[]>(
  intervalMs: number,
  fn: (...args: A) => void,
  clock: { now(): number; setTimeout(f: () => void, ms: number): unknown } = {
    now: () => performance.now(),
    setTimeout: (f, ms) => setTimeout(f, ms),
  },
): (...args: A) => void {
  let lastAt = -Infinity;
  let waiting: A | null = null;
  const fire = () => {
    const args = waiting!;
    waiting = null;
    lastAt = clock.now();
    fn(...args);
  };
  return (...args: A) => {
    const due = lastAt + intervalMs - clock.now();
    if (waiting !== null) {
      waiting = args; // a trailing call is already set: it takes the newest position
      return;
    }
    waiting = args;
    if (due <= 0) fire();
    else clock.setTimeout(fire, due);
  };
}

/** Tenths of a board unit, within the coordinates the gateway accepts. */
const cursorCoord = (v: number) =>
  Math.max(-MAX_COORDINATE, Math.min(MAX_COORDINATE, Math.round(v * 10) / 10));

const cursorOut = throttle(1000 / CURSORS_PER_SECOND, (x: number, y: number) => {
  send({ type: "cursor", x: cursorCoord(x), y: cursorCoord(y) });
});

/** This user's cursor moved (board coordinates); throttled to 20 a second. View-only sessions send it too. */
export function sendCursor(x: number, y: number): void {
  if (Number.isFinite(x) && Number.isFinite(y)) cursorOut(x, y);
}
