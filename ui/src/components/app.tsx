/** The whole page: the board, the brush toolbar and the status bar. */
import { BoardCanvas } from "./board_canvas.tsx";
import { StatusBar } from "./status_bar.tsx";
import { Toolbar } from "./toolbar.tsx";

/** The drawing page. */
export function App() {
  return (
    <>
      <BoardCanvas />
      <Toolbar />
      <StatusBar />
    </>
  );
}
