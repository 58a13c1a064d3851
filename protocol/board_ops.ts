/**
 * Board operations (CONTRACT.md "Board operations"): erase, restore and
 * clear, committed through the log like strokes, so the committed order
 * decides the picture on every screen. Undo and redo are a client's own
 * erase/restore of its own groups; nothing here knows about users.
 *
 * `Visibility` is the one definition of what these entries mean, used by
 * the page and by the tests that compare screens:
 * - `erase` hides its targets (stroke ids or group ids; a clear's id
 *   re-applies that clear, our extension so a redo of an undone clear hides
 *   exactly what the clear hid);
 * - `restore` shows its targets again (stroke, group or clear ids);
 * - `clear` hides every stroke committed before it.
 * A stroke is visible when neither its id nor its group is hidden and no
 * clear in force has a higher index.
 */
import { isStrokeId, type Stroke } from "./stroke.ts";
import { type Authorship, copyAuthorship, fail, isObject, ok, type Result } from "./validate.ts";

/** Most targets one erase or restore may name (an eraser drag touches a few groups). */
export const MAX_OP_TARGETS = 1000;

/** Hide targets. `board` is filled by the gateway, like a stroke's. */
export interface EraseOp extends Authorship {
  id: string;
  targets: string[];
  board?: string;
}
/** Show again what an erase or a clear hid. */
export interface RestoreOp extends Authorship {
  id: string;
  targets: string[];
  board?: string;
}
/** Hide every stroke of the board committed before this entry. */
export interface ClearOp extends Authorship {
  id: string;
  board?: string;
}

/** The three kinds, as the log entry key that carries each. */
export type BoardOp =
  | { erase: EraseOp }
  | { restore: RestoreOp }
  | { clear: ClearOp };

/** The id, board and kind of an op payload. */
export function opOf(op: BoardOp): EraseOp | RestoreOp | ClearOp {
  return "erase" in op ? op.erase : "restore" in op ? op.restore : op.clear;
}

/** Validates the body of an erase or restore (`v` without its board). */
export function checkTargetsOp(v: unknown, kind: "erase" | "restore"): Result<EraseOp> {
  if (!isObject(v)) return fail(`${kind} must be an object`);
  if (!isStrokeId(v.id)) return fail(`${kind}.id must be a valid id`);
  if (!Array.isArray(v.targets) || v.targets.length === 0 || v.targets.length > MAX_OP_TARGETS) {
    return fail(`${kind}.targets must be an array of 1-${MAX_OP_TARGETS} ids`);
  }
  for (const t of v.targets) {
    if (!isStrokeId(t)) return fail(`${kind}.targets must hold valid ids`);
  }
  const op: EraseOp = { id: v.id, targets: [...v.targets] as string[] };
  const authorship = copyAuthorship(v, op);
  return authorship === null ? ok(op) : fail(`${kind}.${authorship}`);
}

/** Validates a clear op. */
export function checkClearOp(v: unknown): Result<ClearOp> {
  if (!isObject(v)) return fail("clear must be an object");
  if (!isStrokeId(v.id)) return fail("clear.id must be a valid id");
  const op: ClearOp = { id: v.id };
  const authorship = copyAuthorship(v, op);
  return authorship === null ? ok(op) : fail(`clear.${authorship}`);
}

/** What one committed board entry says, for `Visibility.apply`. */
export type BoardEntry =
  | { index: number; stroke: Stroke }
  | { index: number; erase: EraseOp }
  | { index: number; restore: RestoreOp }
  | { index: number; clear: ClearOp };

/**
 * Which committed strokes of one board are visible. Feed it every committed
 * entry of the board in index order; it keeps only ids and indexes.
 */
export class Visibility {
  /** Targets hidden by an erase (and clears in force, by their id). */
  readonly #hidden = new Set<string>();
  /** Index of every clear seen, by its id. */
  readonly #clears = new Map<string, number>();
  /** Highest index of a clear in force, 0 when none. */
  #clearedBelow = 0;

  /** Applies one entry. Returns true when it may change what is visible (an op). */
  apply(e: BoardEntry): boolean {
    if ("stroke" in e) return false;
    if ("clear" in e) {
      this.#clears.set(e.clear.id, e.index);
      this.#hidden.add(e.clear.id);
    } else if ("erase" in e) {
      for (const t of e.erase.targets) this.#hidden.add(t);
    } else {
      for (const t of e.restore.targets) this.#hidden.delete(t);
    }
    this.#recomputeClear();
    return true;
  }

  /** True when a stroke committed at `index` is visible now. */
  isVisible(stroke: Pick<Stroke, "id" | "group">, index: number): boolean {
    if (index < this.#clearedBelow) return false;
    if (this.#hidden.has(stroke.id)) return false;
    return stroke.group === undefined || !this.#hidden.has(stroke.group);
  }

  /** True when `target` (stroke, group or clear id) is hidden now. */
  isHidden(target: string): boolean {
    return this.#hidden.has(target);
  }

  #recomputeClear(): void {
    let max = 0;
    for (const [id, index] of this.#clears) {
      if (this.#hidden.has(id) && index > max) max = index;
    }
    this.#clearedBelow = max;
  }
}

/** The id of a committed board entry: the stroke's or the op's (one namespace per board). */
export function entryId(e: BoardEntry): string {
  return "stroke" in e
    ? e.stroke.id
    : "erase" in e
    ? e.erase.id
    : "restore" in e
    ? e.restore.id
    : e.clear.id;
}
