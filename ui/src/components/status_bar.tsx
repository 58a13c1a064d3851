/** A small bar telling honestly where the board stands. */
import { savedText, status } from "../store.ts";

/** Saved or pending, then connection, leader and term, and counts. */
export function StatusBar() {
  const saved = savedText.value;
  return (
    <div class="status-bar" data-testid="status" role="status">
      <span
        class={`status-part tone-${saved === "saved" ? "ok" : "warn"}`}
        data-testid="saved-status"
      >
        {saved}
      </span>
      {status.value.map((p) => (
        <span key={p.key} class={`status-part tone-${p.tone}`} data-testid={`status-${p.key}`}>
          {p.text}
        </span>
      ))}
    </div>
  );
}
