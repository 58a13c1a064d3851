/** The whole page: the board, the brush toolbar and the status bar. */
import type { Segment } from "../segmenter.ts";
import { BoardCanvas } from "./board_canvas.tsx";
import { StatusBar } from "./status_bar.tsx";
import { Toolbar } from "./toolbar.tsx";

/** Props of App. */
export interface AppProps {
  /** Called for every finished segment the user draws. */
  onSegment: (seg: Segment) => void;
}

/** The drawing page. */
export function App({ onSegment }: AppProps) {
  return (
    <>
      <BoardCanvas onSegment={onSegment} />
      <Toolbar />
      <StatusBar />
    </>
  );
}
