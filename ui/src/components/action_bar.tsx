/** Undo, redo, clear, the zoom buttons and history replay. Editing buttons are hidden on a view-only link. */
import { zoomIn, zoomOut, zoomToFit } from "../camera.ts";
import { canRedo, canUndo, clearBoard, redo, undo } from "../board_actions.ts";
import { boundsOf } from "../scene.ts";
import { visibleStrokes } from "../store.ts";
import { readOnly } from "../ui_state.ts";
import { HistoryToggle } from "./history_panel.tsx";
import { ClearIcon } from "./icons.tsx";

/** Shows every visible stroke (the home view on an empty board). */
export function fitAll(): void {
  zoomToFit(boundsOf(visibleStrokes()));
}

/** The bottom-right bar. */
export function ActionBar() {
  return (
    <div class="action-bar" role="toolbar" aria-label="Edit and view">
      {!readOnly.value && (
        <>
          <button
            type="button"
            title="Undo (Ctrl+Z)"
            aria-label="Undo"
            disabled={!canUndo.value}
            data-testid="undo"
            onClick={undo}
          >
            ↶
          </button>
          <button
            type="button"
            title="Redo (Ctrl+Shift+Z)"
            aria-label="Redo"
            disabled={!canRedo.value}
            data-testid="redo"
            onClick={redo}
          >
            ↷
          </button>
          <button
            type="button"
            title="Clear the board (undo brings it back)"
            aria-label="Clear board"
            data-testid="clear"
            onClick={clearBoard}
          >
            <ClearIcon />
          </button>
          <span class="separator" />
        </>
      )}
      <button
        type="button"
        title="Zoom out (-)"
        aria-label="Zoom out"
        data-testid="zoom-out"
        onClick={zoomOut}
      >
        −
      </button>
      <button
        type="button"
        title="Zoom in (+)"
        aria-label="Zoom in"
        data-testid="zoom-in"
        onClick={zoomIn}
      >
        +
      </button>
      <button
        type="button"
        title="Fit the drawing (0)"
        aria-label="Fit drawing"
        data-testid="zoom-fit"
        onClick={fitAll}
      >
        ⤢
      </button>
      <span class="separator" />
      <HistoryToggle />
    </div>
  );
}
