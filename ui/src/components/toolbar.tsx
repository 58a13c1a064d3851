/**
 * The tool rail: pointer tool, brush width and colour, in three groups (a narrow
 * window wraps it by group, app.css), in the order Tab visits them and a phone
 * shows them (the colours on a row of their own). Hidden on a view-only link.
 */
import { currentColor, currentWidth, PALETTE, WIDTHS } from "../store.ts";
import { readOnly, type Tool, tool } from "../ui_state.ts";
import { PanIcon } from "./icons.tsx";
import type { JSX } from "preact";

const TOOLS: { id: Tool; label: string; key: string; icon: string | JSX.Element }[] = [
  { id: "pen", label: "Pen", key: "P", icon: "✎" },
  { id: "eraser", label: "Eraser", key: "E", icon: "⌫" },
  { id: "pan", label: "Pan", key: "H", icon: <PanIcon /> },
];

/** The floating tool rail. */
export function Toolbar() {
  if (readOnly.value) return null;
  return (
    <div class="toolbar" role="toolbar" aria-label="Tools and brush" data-testid="toolbar">
      <span class="tool-group tools">
        {TOOLS.map((t) => (
          <button
            key={t.id}
            type="button"
            class="tool"
            title={`${t.label} (${t.key})`}
            aria-label={t.label}
            aria-pressed={tool.value === t.id}
            data-testid={`tool-${t.id}`}
            onClick={() => (tool.value = t.id)}
          >
            <span aria-hidden="true">{t.icon}</span>
          </button>
        ))}
      </span>
      <span class="separator" />
      <span class="tool-group widths">
        {WIDTHS.map((w) => (
          <button
            key={w}
            type="button"
            class="width"
            title={`width ${w}`}
            aria-label={`width ${w}`}
            aria-pressed={currentWidth.value === w}
            data-testid={`width-${w}`}
            onClick={() => {
              currentWidth.value = w;
              tool.value = "pen";
            }}
          >
            <span
              class="width-dot"
              style={{ width: `${w}px`, height: `${w}px`, background: currentColor.value }}
            />
          </button>
        ))}
      </span>
      <span class="separator" />
      <span class="tool-group colors">
        {PALETTE.map((c) => (
          <button
            key={c}
            type="button"
            class="swatch"
            title={c}
            aria-label={`color ${c}`}
            aria-pressed={currentColor.value === c}
            data-testid={`color-${c.slice(1)}`}
            onClick={() => {
              currentColor.value = c;
              tool.value = "pen";
            }}
          >
            <span class="swatch-dot" style={{ background: c }} />
          </button>
        ))}
      </span>
    </div>
  );
}
