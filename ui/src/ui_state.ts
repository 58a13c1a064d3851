/**
 * The page state shared by the canvas (ui/src/renderer.ts, board_canvas.tsx,
 * camera.ts) and the shell around it (toolbar, connection, presence list):
 * which tool the pointer uses, who else is here, and whether this session may
 * edit. The board's own bookkeeping is in store.ts and board_state.ts.
 */
import { signal } from "@preact/signals";

/** What a primary-button drag on the canvas does. */
export type Tool = "pen" | "eraser" | "pan";

/** The pointer's tool; space+drag and the middle button pan whatever this is. */
export const tool = signal<Tool>("pen");

/** Another client's cursor on this board, in board coordinates (from `presence`). */
export interface Peer {
  clientId: string;
  name: string;
  color: string;
  x: number;
  y: number;
  /** `performance.now()` when it last moved, to fade idle cursors. */
  atMs: number;
}

/** The other clients of this board, by client id; replaced (not mutated) on every change. */
export const peers = signal<ReadonlyMap<string, Peer>>(new Map());

/** True on a view-only link: the canvas pans and zooms but never draws or erases. */
export const readOnly = signal(false);

/** The name and colour the gateway gave this session (from `hello`); others see them. */
export const selfName = signal<string | null>(null);
export const selfColor = signal<string | null>(null);

/** Colour scheme: "system" follows prefers-color-scheme. */
export type Theme = "light" | "dark" | "system";
export const theme = signal<Theme>("system");
