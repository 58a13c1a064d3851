/**
 * The drawing surface: committed layer below, overlay above, pointer input on
 * the overlay. Everything is kept in board coordinates; the camera maps them
 * to the screen. A primary drag does what the tool says (pen, eraser, pan);
 * space+drag, the middle button and two fingers always pan (two fingers also
 * zoom), the wheel zooms about the pointer.
 */
import { useEffect, useRef } from "preact/hooks";
import { MAX_WIDTH, MIN_WIDTH } from "../../../protocol/mod.ts";
import {
  addSegment,
  endGroup,
  eraseTargets,
  sendCursor,
  startErase,
  startGroup,
} from "../board_actions.ts";
import { camera, panBy, screenToWorld, type Vec, zoomAt } from "../camera.ts";
import { boardHits } from "../hit_test.ts";
import { startRenderer } from "../renderer.ts";
import {
  addPoint,
  endPath,
  livePoints,
  type PathState,
  type Segment,
  startPath,
} from "../segmenter.ts";
import { board, currentColor, currentWidth, livePaths } from "../store.ts";
import { tool } from "../ui_state.ts";

/** How far the eraser reaches, in screen pixels. */
const ERASER_RADIUS_PX = 8;

/** Width of a pen segment: the brush scaled by pressure (mouse and touch report none). */
export function pressureWidth(base: number, e: Pick<PointerEvent, "pointerType" | "pressure">) {
  if (e.pointerType !== "pen" || !(e.pressure > 0)) return base;
  const w = base * (0.4 + 1.2 * e.pressure); // the usual resting pressure 0.5 gives the brush
  return Math.round(Math.min(MAX_WIDTH, Math.max(MIN_WIDTH, w)) * 100) / 100;
}

type Gesture =
  | { kind: "draw"; path: PathState; group: string }
  | { kind: "erase"; drag: string }
  | { kind: "pan"; last: Vec };

function isTyping(e: KeyboardEvent): boolean {
  const t = e.target as HTMLElement | null;
  return !!t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName));
}

/** Full-window canvases; each pointer (mouse, pen, every finger) has its own gesture. */
export function BoardCanvas() {
  const committedRef = useRef<HTMLCanvasElement>(null);
  const overlayRef = useRef<HTMLCanvasElement>(null);
  const cursorsRef = useRef<HTMLCanvasElement>(null);
  const gestures = useRef(new Map<number, Gesture>());
  /** Touch points down now, in screen coordinates: two of them pan and pinch. */
  const touches = useRef(new Map<number, Vec>());
  const spaceHeld = useRef(false);

  useEffect(
    () => startRenderer(committedRef.current!, overlayRef.current!, cursorsRef.current!).stop,
    [],
  );
  useEffect(() => {
    const down = (e: KeyboardEvent) => {
      if (e.code !== "Space" || isTyping(e)) return;
      e.preventDefault(); // no page scroll, no button press
      spaceHeld.current = true;
    };
    const up = (e: KeyboardEvent) => {
      if (e.code === "Space") spaceHeld.current = false;
    };
    globalThis.addEventListener("keydown", down);
    globalThis.addEventListener("keyup", up);
    return () => {
      globalThis.removeEventListener("keydown", down);
      globalThis.removeEventListener("keyup", up);
    };
  }, []);

  const screenOf = (e: PointerEvent): Vec => {
    const r = overlayRef.current!.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  };
  const worldOf = (e: PointerEvent): Vec => screenToWorld(camera.peek(), screenOf(e));

  const showLive = () => {
    const color = currentColor.peek();
    const width = currentWidth.peek();
    const live = [];
    for (const g of gestures.current.values()) {
      if (g.kind === "draw") live.push({ points: livePoints(g.path), color, width });
    }
    livePaths.value = live;
  };

  /** Erases what the eraser touches at the points of one pointer event, as part of `drag`'s step. */
  const eraseAt = (drag: string, points: Vec[]) => {
    const radius = ERASER_RADIUS_PX / camera.peek().zoom;
    const hit = new Set(points.flatMap((p) => boardHits(board, p, radius)));
    if (hit.size > 0) eraseTargets([...hit], drag);
  };

  /**
   * Ends a pointer's gesture; a drawn path is finished and becomes one undo
   * step. An eraser drag's step is closed simply by dropping its key.
   */
  const finish = (id: number) => {
    const g = gestures.current.get(id);
    gestures.current.delete(id);
    if (g?.kind === "draw") {
      endPath(g.path).forEach((seg) => addSegment(g.group, seg, currentWidth.peek()));
      endGroup(g.group);
      showLive();
    }
  };

  const onDown = (e: PointerEvent) => {
    if (e.pointerType === "mouse" && e.button !== 0 && e.button !== 1) return;
    e.preventDefault();
    (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
    if (e.pointerType === "touch") {
      touches.current.set(e.pointerId, screenOf(e));
      if (touches.current.size >= 2) {
        // A second finger: both now pan and pinch; whatever the first began ends here.
        for (const id of touches.current.keys()) finish(id);
        return;
      }
    }
    const panning = e.button === 1 || spaceHeld.current || tool.peek() === "pan";
    if (panning) {
      gestures.current.set(e.pointerId, { kind: "pan", last: screenOf(e) });
    } else if (tool.peek() === "eraser") {
      const drag = startErase();
      gestures.current.set(e.pointerId, { kind: "erase", drag });
      eraseAt(drag, [worldOf(e)]);
    } else {
      const group = startGroup();
      if (group === null) return;
      gestures.current.set(e.pointerId, { kind: "draw", path: startPath(worldOf(e)), group });
      showLive();
    }
  };

  const onTwoFingers = (e: PointerEvent) => {
    const before = [...touches.current.values()];
    touches.current.set(e.pointerId, screenOf(e));
    const after = [...touches.current.values()];
    const mid = (ps: Vec[]) => ({ x: (ps[0].x + ps[1].x) / 2, y: (ps[0].y + ps[1].y) / 2 });
    const dist = (ps: Vec[]) => Math.hypot(ps[0].x - ps[1].x, ps[0].y - ps[1].y);
    const [m0, m1] = [mid(before), mid(after)];
    let cam = panBy(camera.peek(), { x: m1.x - m0.x, y: m1.y - m0.y });
    if (dist(before) > 0) cam = zoomAt(cam, m1, dist(after) / dist(before));
    camera.value = cam;
  };

  const onMove = (e: PointerEvent) => {
    if (e.pointerType !== "touch" || touches.current.size < 2) {
      const w = worldOf(e);
      sendCursor(w.x, w.y);
    }
    if (e.pointerType === "touch" && touches.current.size >= 2) {
      if (touches.current.has(e.pointerId)) onTwoFingers(e);
      return;
    }
    if (e.pointerType === "touch") touches.current.set(e.pointerId, screenOf(e));
    const g = gestures.current.get(e.pointerId);
    if (!g) return;
    if (g.kind === "pan") {
      const p = screenOf(e);
      camera.value = panBy(camera.peek(), { x: p.x - g.last.x, y: p.y - g.last.y });
      g.last = p;
      return;
    }
    // Coalesced events carry the full input rate, which the segmenter needs for smooth curves.
    const coalesced = e.getCoalescedEvents?.() ?? [];
    const events = coalesced.length > 0 ? coalesced : [e];
    if (g.kind === "erase") return eraseAt(g.drag, events.map(worldOf));
    for (const ev of events) {
      const width = pressureWidth(currentWidth.peek(), ev);
      addPoint(g.path, worldOf(ev)).forEach((seg: Segment) => addSegment(g.group, seg, width));
    }
    showLive();
  };

  const onEnd = (e: PointerEvent) => {
    touches.current.delete(e.pointerId);
    finish(e.pointerId);
  };

  const onWheel = (e: WheelEvent) => {
    e.preventDefault();
    const r = overlayRef.current!.getBoundingClientRect();
    const at = { x: e.clientX - r.left, y: e.clientY - r.top };
    // A trackpad pinch arrives as ctrl+wheel with small deltas: zoom faster per unit.
    const perUnit = e.ctrlKey ? 0.01 : 0.0015;
    const delta = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY;
    camera.value = zoomAt(camera.peek(), at, Math.exp(-delta * perUnit));
  };

  useEffect(() => {
    // Not through Preact: a passive listener could not stop the page from zooming.
    const el = overlayRef.current!;
    el.addEventListener("wheel", onWheel, { passive: false });
    return () => el.removeEventListener("wheel", onWheel);
  }, []);

  return (
    <div class="board">
      <canvas ref={committedRef} class="layer" data-testid="board-canvas" />
      <canvas ref={cursorsRef} class="layer cursors" data-testid="board-cursors" />
      <canvas
        ref={overlayRef}
        class={`layer overlay tool-${tool.value}`}
        data-testid="board-overlay"
        onPointerDown={onDown}
        onPointerMove={onMove}
        onPointerUp={onEnd}
        onPointerCancel={onEnd}
        onLostPointerCapture={onEnd}
        onAuxClick={(e) => e.preventDefault()}
      />
    </div>
  );
}
