/** The whole page: the board, the tool rail, menus, people and the status bar. */
import { effect } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { redo, undo } from "../board_actions.ts";
import { zoomIn, zoomOut } from "../camera.ts";
import { type Command, installShortcuts } from "../shortcuts.ts";
import { installTheme } from "../theme.ts";
import { readOnly, tool } from "../ui_state.ts";
import { ActionBar, fitAll } from "./action_bar.tsx";
import { BoardCanvas } from "./board_canvas.tsx";
import { BoardMenu } from "./board_menu.tsx";
import { HistoryPanel, HistoryPreview } from "./history_panel.tsx";
import { PeopleList } from "./people_list.tsx";
import { StatusBar } from "./status_bar.tsx";
import { Toolbar } from "./toolbar.tsx";

/** What each shortcut does; tool changes other than pan are edits, so not on a view link. */
export function runCommand(c: Command): void {
  switch (c) {
    case "pen":
    case "eraser":
      if (!readOnly.peek()) tool.value = c;
      return;
    case "pan":
      tool.value = "pan";
      return;
    case "undo":
      return undo();
    case "redo":
      return redo();
    case "zoom-in":
      return zoomIn();
    case "zoom-out":
      return zoomOut();
    case "zoom-fit":
      return fitAll();
  }
}

/** The drawing page. */
export function App() {
  useEffect(() => {
    installTheme();
    // On a view link a drag can only move the view, so the pointer pans.
    effect(() => {
      if (readOnly.value) tool.value = "pan";
    });
    return installShortcuts(runCommand);
  }, []);
  return (
    <>
      <BoardCanvas />
      <HistoryPreview />
      {/* One grid over the board lays out every panel (app.css): none can cover another. */}
      <div class="chrome">
        <BoardMenu />
        <Toolbar />
        <PeopleList />
        <ActionBar />
        <HistoryPanel />
        <StatusBar />
      </div>
    </>
  );
}
