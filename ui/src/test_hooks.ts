/**
 * Read-only numbers for end-to-end tests and the perf harness, on
 * `window.__board`, and the board actions on `window.__boardActions` so a
 * test can drive undo, erase and cursors without knowing the page's layout.
 */
import * as actions from "./board_actions.ts";
import { type Camera, camera } from "./camera.ts";
import { screenIsCurrent } from "./renderer.ts";
import * as store from "./store.ts";
import { peers, readOnly, selfColor, selfName } from "./ui_state.ts";

/** What `window.__board` shows. */
export interface BoardProbe {
  readonly committedCount: number;
  /** Own strokes and ops not yet seen committed. */
  readonly pendingCount: number;
  readonly lastIndex: number;
  readonly connected: boolean;
  /** Visible strokes, committed and pending. */
  readonly visibleCount: number;
  /** Distinct group ids (or ids of ungrouped strokes) among the visible strokes, sorted. */
  readonly visibleGroups: string[];
  readonly camera: Camera;
  /** Other clients here (cursors known). */
  readonly peers: number;
  /** Names of the other clients, sorted. */
  readonly peerNames: string[];
  /** The other clients' cursors (board coordinates). */
  readonly peerCursors: { name: string; color: string; x: number; y: number }[];
  readonly readOnly: boolean;
  readonly canUndo: boolean;
  readonly canRedo: boolean;
  /** "saved" or "n pending". */
  readonly savedText: string;
  /** Own items durably in the outbox (IndexedDB) now. */
  readonly outboxCount: number;
  readonly selfName: string | null;
  readonly selfColor: string | null;
  /** Bumped on every change of what is visible. */
  readonly visibilityEpoch: number;
  /** The canvases show everything above: no frame is due (wait for it before reading pixels). */
  readonly rendered: boolean;
}

/** What `window.__boardActions` offers (the same functions the toolbar and canvas call). */
export interface BoardTestActions {
  undo(): void;
  redo(): void;
  clear(): void;
  erase(targets: string[]): void;
  cursor(x: number, y: number): void;
}

function visibleGroups(): string[] {
  const groups = new Set<string>();
  for (const s of store.visibleStrokes()) groups.add(s.group ?? s.id);
  return [...groups].sort();
}

/** Defines `window.__board` (getters only) and `window.__boardActions`. */
export function installTestHooks(): void {
  const probe: BoardProbe = Object.freeze({
    get committedCount() {
      return store.committedCount.peek();
    },
    get pendingCount() {
      return store.pendingCount.peek();
    },
    get lastIndex() {
      return store.lastIndex.peek();
    },
    get connected() {
      return store.connection.peek() === "open";
    },
    get visibleCount() {
      return store.visibleStrokes().length;
    },
    get visibleGroups() {
      return visibleGroups();
    },
    get camera() {
      return { ...camera.peek() };
    },
    get peers() {
      return peers.peek().size;
    },
    get peerNames() {
      return [...peers.peek().values()].map((p) => p.name).sort();
    },
    get peerCursors() {
      return [...peers.peek().values()].map(({ name, color, x, y }) => ({ name, color, x, y }));
    },
    get readOnly() {
      return readOnly.peek();
    },
    get canUndo() {
      return actions.canUndo.peek();
    },
    get canRedo() {
      return actions.canRedo.peek();
    },
    get savedText() {
      return store.savedText.peek();
    },
    get outboxCount() {
      return store.outboxStoredCount();
    },
    get selfName() {
      return selfName.peek();
    },
    get selfColor() {
      return selfColor.peek();
    },
    get visibilityEpoch() {
      return store.visibilityEpoch.peek();
    },
    get rendered() {
      return screenIsCurrent();
    },
  });
  const act: BoardTestActions = Object.freeze({
    undo: actions.undo,
    redo: actions.redo,
    clear: actions.clearBoard,
    erase: (targets: string[]) => actions.eraseTargets(targets),
    cursor: actions.sendCursor,
  });
  Object.defineProperty(globalThis, "__board", { value: probe, enumerable: false });
  Object.defineProperty(globalThis, "__boardActions", { value: act, enumerable: false });
}
