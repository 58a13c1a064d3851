/**
 * Keyboard shortcuts of the board page. The key -> command mapping is a pure
 * function (tested); `installShortcuts` wires it to the window. Space for a
 * temporary pan belongs to the canvas.
 */

/** What a shortcut does. */
export type Command =
  | "pen"
  | "eraser"
  | "pan"
  | "undo"
  | "redo"
  | "zoom-in"
  | "zoom-out"
  | "zoom-fit";

/** The parts of a KeyboardEvent the mapping looks at. */
export interface KeyInput {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
}

/** The command for a key press, or null when the key is not a shortcut. */
export function commandFor(e: KeyInput): Command | null {
  const mod = e.ctrlKey || e.metaKey;
  const k = e.key.toLowerCase();
  if (e.altKey) return null;
  if (mod) {
    if (k === "z") return e.shiftKey ? "redo" : "undo";
    if (k === "y" && !e.shiftKey) return "redo";
    return null;
  }
  switch (k) {
    case "p":
    case "b":
      return "pen";
    case "e":
      return "eraser";
    case "h":
    case "v":
      return "pan";
    case "+":
    case "=":
      return "zoom-in";
    case "-":
    case "_":
      return "zoom-out";
    case "0":
      return "zoom-fit";
  }
  return null;
}

/** True when the key goes to a text field (or a select, or anything editable), not to the board. */
export function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el || typeof el.tagName !== "string") return false;
  const tag = el.tagName.toLowerCase();
  if (tag === "textarea" || tag === "select") return true;
  if (tag === "input") {
    const type = (el as HTMLInputElement).type;
    return !["button", "checkbox", "radio", "range", "color", "file", "submit"].includes(type);
  }
  return el.isContentEditable === true;
}

/** Listens on `target` for shortcuts; returns the function that removes the listener. */
export function installShortcuts(
  run: (c: Command) => void,
  target: Pick<Window, "addEventListener" | "removeEventListener"> = globalThis,
): () => void {
  const onKey = (e: KeyboardEvent) => {
    if (e.defaultPrevented || e.repeat || isTyping(e.target)) return;
    const c = commandFor(e);
    if (c === null) return;
    e.preventDefault();
    run(c);
  };
  target.addEventListener("keydown", onKey as EventListener);
  return () => target.removeEventListener("keydown", onKey as EventListener);
}
