/** Brush color and width pickers. */
import { currentColor, currentWidth, PALETTE, WIDTHS } from "../store.ts";

/** The floating toolbar. */
export function Toolbar() {
  return (
    <div class="toolbar" role="toolbar" aria-label="Brush" data-testid="toolbar">
      {PALETTE.map((c) => (
        <button
          key={c}
          type="button"
          class="swatch"
          style={{ background: c }}
          title={c}
          aria-label={`color ${c}`}
          aria-pressed={currentColor.value === c}
          data-testid={`color-${c.slice(1)}`}
          onClick={() => (currentColor.value = c)}
        />
      ))}
      <span class="separator" />
      {WIDTHS.map((w) => (
        <button
          key={w}
          type="button"
          class="width"
          title={`width ${w}`}
          aria-label={`width ${w}`}
          aria-pressed={currentWidth.value === w}
          data-testid={`width-${w}`}
          onClick={() => (currentWidth.value = w)}
        >
          <span
            class="width-dot"
            style={{ width: `${w}px`, height: `${w}px`, background: currentColor.value }}
          />
        </button>
      ))}
    </div>
  );
}
