/**
 * History replay: a slider over the board's committed log. Scrubbing or
 * playing shows the board as of that entry (who made it, when) on a preview
 * layer over the board; "Restore this state" appends the restores and erases
 * that bring that picture back (board_actions.restorePast), so the past is
 * never rewritten and the step can be undone like any other.
 */
import { computed, signal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import { restorePast } from "../board_actions.ts";
import { camera, viewport } from "../camera.ts";
import { mergeEntries, pictureAt, restorePlan, timeline } from "../history.ts";
import { drawStrokes } from "../scene.ts";
import { board, committedCount, visibilityEpoch } from "../store.ts";
import { readOnly } from "../ui_state.ts";
import { HistoryIcon } from "./icons.tsx";

/** True while the panel (and its preview) is shown. */
export const historyOpen = signal(false);
/** How many committed entries the preview shows; null follows the live end. */
const position = signal<number | null>(null);
const playing = signal(false);

/** The board's committed entries, recomputed when the log or the visibility changes. */
const entries = computed(() => {
  committedCount.value;
  visibilityEpoch.value;
  return mergeEntries(board.committed, board.committedIndex, board.committedOps);
});
const steps = computed(() => timeline(entries.value));
const shown = computed(() =>
  Math.min(position.value ?? entries.value.length, entries.value.length)
);

/** Frames a full playback takes, whatever the log's length. */
const PLAY_FRAMES = 240;

const KIND_WORDS = { stroke: "drew", erase: "erased", restore: "restored", clear: "cleared" };

function describe(count: number): string {
  const total = entries.value.length;
  if (count === 0) return `start of the board (0 of ${total})`;
  const step = steps.value[count - 1];
  const who = step.by ?? "someone";
  const when = step.at === null ? "" : ` at ${new Date(step.at).toLocaleString()}`;
  return `entry ${count} of ${total} (log index ${step.index}): ${who} ${
    KIND_WORDS[step.kind]
  }${when}`;
}

/** The preview layer over the board while the panel is open (behind the chrome, app.tsx). */
export function HistoryPreview() {
  return historyOpen.value ? <Preview /> : null;
}

/** The preview layer: the picture as of `shown`, through the board's camera. */
function Preview() {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const canvas = ref.current!;
    const dpr = globalThis.devicePixelRatio ?? 1;
    // Sized by CSS to the window, like the board's layers.
    const width = canvas.clientWidth, height = canvas.clientHeight;
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
    const ctx = canvas.getContext("2d")!;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    drawStrokes(ctx, pictureAt(entries.value, shown.value), camera.value, dpr);
  }, [shown.value, entries.value, camera.value, viewport.value]); // viewport: redraw on resize
  return (
    <canvas ref={ref} class="history-preview" data-testid="history-canvas" aria-hidden="true" />
  );
}

/** The toggle, for the tool bar. */
export function HistoryToggle() {
  return (
    <button
      type="button"
      class="history-toggle"
      aria-pressed={historyOpen.value}
      aria-label="History replay"
      title="History replay"
      data-testid="history-toggle"
      onClick={() => {
        historyOpen.value = !historyOpen.value;
        position.value = null;
        playing.value = false;
      }}
    >
      <HistoryIcon />
    </button>
  );
}

/** The panel: slider, play, restore; shown while `historyOpen` (with `HistoryPreview`). */
export function HistoryPanel() {
  useEffect(() => {
    if (!playing.value) return;
    const total = entries.peek().length;
    const stride = Math.max(1, Math.ceil(total / PLAY_FRAMES));
    if ((position.peek() ?? total) >= total) position.value = 0;
    const timer = setInterval(() => {
      const next = Math.min(total, (position.peek() ?? total) + stride);
      position.value = next;
      if (next >= total) playing.value = false;
    }, 25);
    return () => clearInterval(timer);
  }, [playing.value]);
  if (!historyOpen.value) return null;
  const total = entries.value.length;
  const count = shown.value;
  return (
    <section class="history-panel" aria-label="History replay" data-testid="history-panel">
      <button
        type="button"
        data-testid="history-play"
        aria-label={playing.value ? "Pause" : "Play the board's history"}
        onClick={() => (playing.value = !playing.value)}
      >
        {playing.value ? "Pause" : "Play"}
      </button>
      <input
        type="range"
        min={0}
        max={total}
        step={1}
        value={count}
        aria-label="Position in the board's history"
        aria-valuetext={describe(count)}
        data-testid="history-slider"
        onInput={(e) => {
          playing.value = false;
          const v = Number((e.currentTarget as HTMLInputElement).value);
          position.value = v >= total ? null : v;
        }}
      />
      <output data-testid="history-label">{describe(count)}</output>
      <button
        type="button"
        data-testid="history-restore"
        disabled={readOnly.value || count >= total}
        title="Append the edits that bring this picture back (undoable)"
        onClick={() => {
          restorePast(restorePlan(entries.peek(), count));
          historyOpen.value = false;
          position.value = null;
        }}
      >
        Restore this state
      </button>
      <button
        type="button"
        aria-label="Close history"
        data-testid="history-close"
        onClick={() => {
          historyOpen.value = false;
          playing.value = false;
        }}
      >
        ×
      </button>
    </section>
  );
}
