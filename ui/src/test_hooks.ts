/** Read-only numbers for end-to-end tests and the perf harness, on `window.__board`. */
import * as store from "./store.ts";

/** What `window.__board` shows. */
export interface BoardProbe {
  readonly committedCount: number;
  readonly pendingCount: number;
  readonly lastIndex: number;
  readonly connected: boolean;
}

/** Defines `window.__board`: getters only, so a page script cannot change the board through it. */
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
  });
  Object.defineProperty(globalThis, "__board", { value: probe, enumerable: false });
}
