/**
 * Light and dark mode: "system" follows prefers-color-scheme; the user's
 * choice is kept in localStorage. The page reads `data-theme` on <html>.
 */
import { effect } from "@preact/signals";
import { type Theme, theme } from "./ui_state.ts";

const KEY = "whiteboard.theme";

/** The stored choice, "system" when none or unreadable. */
export function loadTheme(storage: Pick<Storage, "getItem"> | undefined): Theme {
  try {
    const v = storage?.getItem(KEY);
    return v === "light" || v === "dark" ? v : "system";
  } catch {
    return "system";
  }
}

/** The scheme actually shown. */
export function effectiveTheme(t: Theme, systemDark: boolean): "light" | "dark" {
  return t === "system" ? (systemDark ? "dark" : "light") : t;
}

/** The toggle's next choice: the opposite of what is shown, as an explicit choice. */
export function toggled(t: Theme, systemDark: boolean): Theme {
  return effectiveTheme(t, systemDark) === "dark" ? "light" : "dark";
}

/** Whether the system prefers dark right now. */
export function systemPrefersDark(): boolean {
  return globalThis.matchMedia?.("(prefers-color-scheme: dark)").matches ?? false;
}

/** Flips the theme and stores the choice. */
export function toggleTheme(): void {
  theme.value = toggled(theme.peek(), systemPrefersDark());
  try {
    localStorage.setItem(KEY, theme.peek());
  } catch {
    // Private mode or a full quota: the choice lasts for this page only.
  }
}

/** Loads the stored choice and keeps <html data-theme> current, also when the system flips. */
export function installTheme(): void {
  theme.value = loadTheme(globalThis.localStorage);
  const apply = () => {
    document.documentElement.dataset.theme = effectiveTheme(theme.value, systemPrefersDark());
  };
  effect(apply);
  globalThis.matchMedia?.("(prefers-color-scheme: dark)").addEventListener("change", apply);
}
