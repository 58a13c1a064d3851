/**
 * Read-only numbers for end-to-end tests and the perf harness, on
 * `window.__board`, and the board actions on `window.__boardActions` so a
 * test can drive undo, erase and cursors without knowing the page's layout.
 */
import * as actions from "./board_actions.ts";
import { type Camera, camera, viewport, visibleBounds } from "./camera.ts";
import { boardBackground, pngExport } from "./export.ts";
import { onCursorPainted, screenIsCurrent } from "./renderer.ts";
import { groupKeyOf } from "./paths.ts";
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
  /** Peer cursors painted at a new position since `recordCursorPaints()`, oldest first. */
  readonly cursorPaints: readonly CursorPaint[];
}

/** A peer cursor painted at a new position; `atMs` is `performance.timeOrigin + now()`. */
export interface CursorPaint {
  name: string;
  x: number;
  y: number;
  atMs: number;
}

/** What `window.__boardActions` offers (the same functions the toolbar and canvas call). */
export interface BoardTestActions {
  undo(): void;
  redo(): void;
  clear(): void;
  erase(targets: string[]): void;
  cursor(x: number, y: number): void;
  /** Starts (afresh) recording `cursorPaints`. */
  recordCursorPaints(): void;
  /**
   * The PNG export of the visible area at the canvas's own scale (zoom × devicePixelRatio), as
   * a data URL: its pixel (i, j) is the committed layer's backing-store pixel (i, j).
   */
  visiblePng(): Promise<string>;
  /**
   * The committed layer's backing store composited over the board background, as the screen
   * shows it (the layer is transparent over the page's CSS background).
   */
  committedPixels(): ImageData;
}

/** Most cursor paints kept: a test's worth; older ones are dropped. */
const MAX_CURSOR_PAINTS = 10_000;
let cursorPaints: CursorPaint[] = [];

function recordCursorPaints(): void {
  cursorPaints = [];
  const last = new Map<string, string>();
  // The layer is repainted for camera moves and idle fades too: keep only new positions.
  onCursorPainted((p, now) => {
    const at = `${p.x},${p.y}`;
    if (last.get(p.clientId) === at) return;
    last.set(p.clientId, at);
    if (cursorPaints.length >= MAX_CURSOR_PAINTS) cursorPaints.shift();
    cursorPaints.push({ name: p.name, x: p.x, y: p.y, atMs: performance.timeOrigin + now });
  });
}

function visiblePng(): Promise<string> {
  const cam = camera.peek();
  const frame = visibleBounds(cam, viewport.peek());
  const scale = cam.zoom * (globalThis.devicePixelRatio || 1);
  return pngExport(store.visibleStrokes(), frame, boardBackground(), scale).then((blob) =>
    new Promise((resolve, reject) => {
      const r = new FileReader();
      r.onload = () => resolve(r.result as string);
      r.onerror = () => reject(r.error);
      r.readAsDataURL(blob);
    })
  );
}

function committedPixels(): ImageData {
  const layer = document.querySelector('[data-testid="board-canvas"]') as HTMLCanvasElement;
  const c = document.createElement("canvas");
  c.width = layer.width;
  c.height = layer.height;
  const ctx = c.getContext("2d")!;
  ctx.fillStyle = boardBackground();
  ctx.fillRect(0, 0, c.width, c.height);
  ctx.drawImage(layer, 0, 0);
  return ctx.getImageData(0, 0, c.width, c.height);
}

function visibleGroups(): string[] {
  const groups = new Set<string>();
  for (const s of store.visibleStrokes()) groups.add(groupKeyOf(s));
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
    get cursorPaints() {
      return [...cursorPaints];
    },
  });
  const act: BoardTestActions = Object.freeze({
    undo: actions.undo,
    redo: actions.redo,
    clear: actions.clearBoard,
    erase: (targets: string[]) => actions.eraseTargets(targets),
    cursor: actions.sendCursor,
    recordCursorPaints,
    visiblePng,
    committedPixels,
  });
  Object.defineProperty(globalThis, "__board", { value: probe, enumerable: false });
  Object.defineProperty(globalThis, "__boardActions", { value: act, enumerable: false });
}
