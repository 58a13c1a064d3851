/**
 * Who is on this board: this session first, then the peers by name. On a wide
 * window the list shows in the top right; narrower (app.css) only a button of
 * coloured dots and a count shows there, and it opens the list below it.
 */
import { signal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import { peers, selfColor, selfName } from "../ui_state.ts";

/** The list is open (only matters where app.css collapses it). */
const open = signal(false);

/** Dots on the collapsed button; the count says the rest. */
const MAX_DOTS = 3;

/** The people list (top right). */
export function PeopleList() {
  const others = [...peers.value.values()].sort((a, b) => a.name.localeCompare(b.name));
  const self = { color: selfColor.value ?? "#888888", name: `${selfName.value ?? "You"} (you)` };
  const count = others.length + 1;
  const label = `${count} ${count === 1 ? "person" : "people"} on this board`;
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open.value) return;
    // A press anywhere else closes the open list.
    const away = (e: PointerEvent) => {
      if (!ref.current?.contains(e.target as Node)) open.value = false;
    };
    document.addEventListener("pointerdown", away, true);
    return () => document.removeEventListener("pointerdown", away, true);
  }, [open.value]);
  return (
    <div
      ref={ref}
      class="people"
      data-testid="people"
      data-open={open.value ? "" : undefined}
      onKeyDown={(e) => {
        // Escape closes the open list and gives focus back to its button.
        if (e.key !== "Escape" || !open.value) return;
        open.value = false;
        (e.currentTarget.querySelector(".people-toggle") as HTMLElement | null)?.focus();
      }}
    >
      <button
        type="button"
        class="people-toggle"
        aria-expanded={open.value}
        aria-controls="people-list"
        aria-label={label}
        title={label}
        data-testid="people-toggle"
        onClick={() => (open.value = !open.value)}
      >
        <span class="people-dots" aria-hidden="true">
          {[self, ...others].slice(0, MAX_DOTS).map((p, i) => (
            <span key={i} class="dot" style={{ background: p.color }} />
          ))}
        </span>
        <span class="people-count" aria-hidden="true">{count}</span>
      </button>
      <ul
        id="people-list"
        class="people-list"
        aria-label="People on this board"
        data-testid="people-list"
      >
        <li class="person self" title="You">
          <span class="dot" style={{ background: self.color }} />
          <span class="person-name">{self.name}</span>
        </li>
        {others.map((p) => (
          <li key={p.clientId} class="person" data-testid="person" title={p.name}>
            <span class="dot" style={{ background: p.color }} />
            <span class="person-name">{p.name}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}
