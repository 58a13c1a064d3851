/** Who led which term and when, from the gateway's record of leader changes. */
import { latest, termRows } from "./state.ts";

const time = (at: number) => new Date(at).toLocaleTimeString([], { hour12: false });

/** A strip of terms (one colour per leader) and the list, newest first. */
export function ElectionTimeline() {
  const s = latest.value;
  if (!s) return null;
  const rows = termRows(s.elections);
  const first = s.elections[0]?.at ?? s.at;
  const span = Math.max(1, s.at - first);
  const leaders = [...new Set(rows.map((r) => r.leaderId))].sort();
  const ordered = [...rows].reverse();
  return (
    <section aria-label="election timeline">
      <h2>Elections</h2>
      <svg
        class="timeline"
        viewBox="0 0 600 24"
        preserveAspectRatio="none"
        role="img"
        aria-label="terms over time"
      >
        {ordered.map((r, i) => {
          const end = ordered[i + 1] ? ordered[i + 1].at - (ordered[i + 1].gapMs ?? 0) : s.at;
          const x0 = ((r.at - first) / span) * 600;
          const x1 = ((end - first) / span) * 600;
          return (
            <rect
              key={r.term}
              x={x0}
              y={2}
              width={Math.max(1, x1 - x0)}
              height={20}
              class={`leader-${leaders.indexOf(r.leaderId) % 6}`}
            >
              <title>{`term ${r.term}: ${r.leaderId}`}</title>
            </rect>
          );
        })}
      </svg>
      <ol class="terms" data-testid="elections">
        {rows.slice(0, 12).map((r) => (
          <li key={r.term} data-testid={`term-${r.term}`}>
            <strong>term {r.term}</strong> {r.leaderId} from {time(r.at)}
            {r.gapMs !== null && (
              <span class="muted">{` (no leader for ${r.gapMs} ms before)`}</span>
            )}
          </li>
        ))}
      </ol>
    </section>
  );
}
