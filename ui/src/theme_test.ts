import assert from "node:assert/strict";
import { effectiveTheme, loadTheme, toggled } from "./theme.ts";

Deno.test("system follows prefers-color-scheme; explicit choices win", () => {
  assert.equal(effectiveTheme("system", true), "dark");
  assert.equal(effectiveTheme("system", false), "light");
  assert.equal(effectiveTheme("light", true), "light");
});

Deno.test("toggle flips what is shown", () => {
  assert.equal(toggled("system", true), "light");
  assert.equal(toggled("system", false), "dark");
  assert.equal(toggled("dark", false), "light");
});

Deno.test("loadTheme tolerates missing or odd storage", () => {
  assert.equal(loadTheme(undefined), "system");
  assert.equal(loadTheme({ getItem: () => "purple" }), "system");
  assert.equal(loadTheme({ getItem: () => "dark" }), "dark");
  assert.equal(
    loadTheme({
      getItem: () => {
        throw new Error("denied");
      },
    }),
    "system",
  );
});
