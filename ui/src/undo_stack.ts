/**
 * One user's undo and redo on one board, as compensation entries: undoing a
 * drawn group erases it, undoing an erase or a clear restores what it hid,
 * and redo reverses that. Each step only names ids this user's own action
 * touched, so nobody else's strokes are ever hidden by an undo.
 *
 * A step records the targets and whether the action left them hidden. Undo
 * and redo are the same move: flip the targets whose state is still what the
 * step left (skipping those someone else changed since), and file the flipped
 * set as the step on the other stack. So undo n then redo n restores exactly
 * what the n undos changed: Figma's invariant, also under concurrent edits.
 *
 * A gesture that acts piecemeal (an eraser drag erases on every pointer
 * move) pushes each piece under one `gesture` key; pieces that follow the
 * entry of their own gesture join it, so the drag is one step.
 *
 * The stacks live in storage (localStorage) under the user's stable id and
 * the board, so they survive a reload and two tabs of one user share them:
 * every change re-reads the stored copy first and writes it back at once.
 */

/** Where the stacks are kept; localStorage fits. */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/** One undoable action: its targets (stroke, group or clear ids) and the state it left them in. */
export interface UndoStep {
  targets: string[];
  hidden: boolean;
  /** The gesture this step came from: a later push of the same gesture joins it. */
  gesture?: string;
}

/** The board operation that undoes or redoes a step. */
export interface Compensation {
  type: "erase" | "restore";
  targets: string[];
}

/** Steps kept per stack; older ones fall off (storage is small and shared). */
export const MAX_STEPS = 200;

interface Stacks {
  undo: UndoStep[];
  redo: UndoStep[];
}

/** The storage key of one user's history on one board. */
export function historyKey(userId: string, board: string): string {
  return `whiteboard.undo.${userId}.${board}`;
}

function isStep(v: unknown): v is UndoStep {
  const s = v as UndoStep;
  return typeof s === "object" && s !== null && typeof s.hidden === "boolean" &&
    (s.gesture === undefined || typeof s.gesture === "string") && Array.isArray(s.targets) &&
    s.targets.every((t) => typeof t === "string");
}

function parse(text: string | null): Stacks {
  try {
    const v = JSON.parse(text ?? "null");
    const undo = Array.isArray(v?.undo) ? v.undo.filter(isStep) : [];
    const redo = Array.isArray(v?.redo) ? v.redo.filter(isStep) : [];
    return { undo, redo };
  } catch {
    return { undo: [], redo: [] };
  }
}

/** The history of one user on one board, backed by `store` under `key`. */
export class UndoHistory {
  #stacks: Stacks;

  constructor(readonly store: KeyValueStore, readonly key: string) {
    this.#stacks = parse(store.getItem(key));
  }

  /** Steps that can be undone now. */
  get undoDepth(): number {
    return this.#stacks.undo.length;
  }

  /** Steps that can be redone now. */
  get redoDepth(): number {
    return this.#stacks.redo.length;
  }

  /** Re-reads the stored copy (another tab of this user may have changed it). */
  reload(): void {
    this.#stacks = parse(this.store.getItem(this.key));
  }

  /**
   * A new action: it becomes the last undo step, and what was undone can no
   * longer be redone. When the last step is of the same `gesture` (and
   * kind), the targets join that step instead. Anything pushed or undone
   * in between (another tab, a key press mid-drag) ends the joining: the
   * gesture's later pieces then make a step of their own, never merging into
   * someone else's.
   */
  push(step: UndoStep): void {
    if (step.targets.length === 0) return;
    this.reload();
    const last = this.#stacks.undo.at(-1);
    if (
      step.gesture !== undefined && last?.gesture === step.gesture && last.hidden === step.hidden
    ) {
      last.targets = [...new Set([...last.targets, ...step.targets])];
    } else {
      this.#stacks.undo.push({ ...step, targets: [...step.targets] });
      if (this.#stacks.undo.length > MAX_STEPS) this.#stacks.undo.shift();
    }
    this.#stacks.redo = [];
    this.#save();
  }

  /**
   * Pops the last undo step and returns the op that reverses it, or null when
   * there is nothing to undo or nothing of the step is left to reverse (the
   * step is still used up, and an empty step goes on the redo stack so redo
   * counts match).
   */
  undo(isHidden: (target: string) => boolean): Compensation | null {
    return this.#move("undo", "redo", isHidden);
  }

  /** Pops the last redo step and returns the op that re-applies it (see `undo`). */
  redo(isHidden: (target: string) => boolean): Compensation | null {
    return this.#move("redo", "undo", isHidden);
  }

  #move(
    from: keyof Stacks,
    to: keyof Stacks,
    isHidden: (target: string) => boolean,
  ): Compensation | null {
    this.reload();
    const step = this.#stacks[from].pop();
    if (!step) return null;
    // Only what is still as this step left it; what others changed since is theirs now.
    const targets = step.targets.filter((t) => isHidden(t) === step.hidden);
    this.#stacks[to].push({ targets, hidden: !step.hidden });
    if (this.#stacks[to].length > MAX_STEPS) this.#stacks[to].shift();
    this.#save();
    if (targets.length === 0) return null;
    return { type: step.hidden ? "restore" : "erase", targets };
  }

  #save(): void {
    try {
      this.store.setItem(this.key, JSON.stringify(this.#stacks));
    } catch {
      // Storage full or denied: the history still works for this page, just not after a reload.
    }
  }
}

/** A store that keeps nothing past the page (when localStorage is unavailable) and for tests. */
export function memoryStore(): KeyValueStore & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return {
    data,
    getItem: (k) => data.get(k) ?? null,
    setItem: (k, v) => void data.set(k, v),
  };
}
