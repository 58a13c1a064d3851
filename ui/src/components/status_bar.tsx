/** A small bar telling honestly where the board stands. */
import { status } from "../store.ts";

/** Connection, leader and term, pending and committed counts. */
export function StatusBar() {
  return (
    <div class="status-bar" data-testid="status">
      {status.value.map((p) => (
        <span key={p.key} class={`status-part tone-${p.tone}`} data-testid={`status-${p.key}`}>
          {p.text}
        </span>
      ))}
    </div>
  );
}
