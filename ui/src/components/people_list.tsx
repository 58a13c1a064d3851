/** Who is on this board: this session first, then the peers by name. */
import { peers, selfColor, selfName } from "../ui_state.ts";

/** The people list (top right). */
export function PeopleList() {
  const others = [...peers.value.values()].sort((a, b) => a.name.localeCompare(b.name));
  return (
    <ul class="people" aria-label="People on this board" data-testid="people-list">
      <li class="person self" title="You">
        <span class="dot" style={{ background: selfColor.value ?? "#888888" }} />
        {selfName.value ?? "You"} (you)
      </li>
      {others.map((p) => (
        <li key={p.clientId} class="person" data-testid="person">
          <span class="dot" style={{ background: p.color }} />
          {p.name}
        </li>
      ))}
    </ul>
  );
}
