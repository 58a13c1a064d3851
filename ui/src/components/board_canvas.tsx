/** The drawing surface: committed layer below, overlay above, pointer input on the overlay. */
import { useEffect, useRef } from "preact/hooks";
import { startRenderer } from "../renderer.ts";
import {
  addPoint,
  endPath,
  livePoints,
  type PathState,
  type Point,
  type Segment,
  startPath,
} from "../segmenter.ts";
import { currentColor, currentWidth, livePaths } from "../store.ts";
import { addSegment, endGroup, startGroup } from "../board_actions.ts";

/** Full-window canvases; each pointer (mouse, pen, every finger) draws its own path. */
export function BoardCanvas() {
  const committedRef = useRef<HTMLCanvasElement>(null);
  const overlayRef = useRef<HTMLCanvasElement>(null);
  const paths = useRef(new Map<number, { path: PathState; group: string }>());

  useEffect(() => startRenderer(committedRef.current!, overlayRef.current!).stop, []);

  const showLive = () => {
    const color = currentColor.peek();
    const width = currentWidth.peek();
    livePaths.value = [...paths.current.values()].map((st) => ({
      points: livePoints(st.path),
      color,
      width,
    }));
  };
  const pointOf = (e: PointerEvent): Point => {
    const r = overlayRef.current!.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  };

  const onDown = (e: PointerEvent) => {
    if (e.pointerType === "mouse" && e.button !== 0) return;
    e.preventDefault();
    const group = startGroup();
    if (group === null) return;
    (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
    paths.current.set(e.pointerId, { path: startPath(pointOf(e)), group });
    showLive();
  };
  const onMove = (e: PointerEvent) => {
    const st = paths.current.get(e.pointerId);
    if (!st) return;
    // Coalesced events carry the full input rate, which the segmenter needs for smooth curves.
    const events = e.getCoalescedEvents?.() ?? [];
    const onSegment = (seg: Segment) => addSegment(st.group, seg, currentWidth.peek());
    for (const ev of events.length > 0 ? events : [e]) {
      addPoint(st.path, pointOf(ev)).forEach(onSegment);
    }
    showLive();
  };
  const onEnd = (e: PointerEvent) => {
    const st = paths.current.get(e.pointerId);
    if (!st) return;
    paths.current.delete(e.pointerId);
    endPath(st.path).forEach((seg) => addSegment(st.group, seg, currentWidth.peek()));
    endGroup(st.group);
    showLive();
  };

  return (
    <div class="board">
      <canvas ref={committedRef} class="layer" data-testid="board-canvas" />
      <canvas
        ref={overlayRef}
        class="layer overlay"
        data-testid="board-overlay"
        onPointerDown={onDown}
        onPointerMove={onMove}
        onPointerUp={onEnd}
        onPointerCancel={onEnd}
        onLostPointerCapture={onEnd}
      />
    </div>
  );
}
