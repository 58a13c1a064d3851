import assert from "node:assert/strict";
import { commandFor, isTyping, type KeyInput } from "./shortcuts.ts";

function key(k: string, mods: Partial<KeyInput> = {}): KeyInput {
  return { key: k, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...mods };
}

Deno.test("tool keys", () => {
  assert.equal(commandFor(key("p")), "pen");
  assert.equal(commandFor(key("E", { shiftKey: true })), "eraser");
  assert.equal(commandFor(key("h")), "pan");
  assert.equal(commandFor(key("v")), "pan");
  assert.equal(commandFor(key("x")), null);
});

Deno.test("undo and redo with Ctrl or Cmd", () => {
  assert.equal(commandFor(key("z", { ctrlKey: true })), "undo");
  assert.equal(commandFor(key("z", { metaKey: true })), "undo");
  assert.equal(commandFor(key("Z", { ctrlKey: true, shiftKey: true })), "redo");
  assert.equal(commandFor(key("y", { ctrlKey: true })), "redo");
  assert.equal(commandFor(key("p", { ctrlKey: true })), null, "Ctrl+P stays the browser's");
  assert.equal(commandFor(key("z", { altKey: true })), null);
});

Deno.test("zoom keys", () => {
  assert.equal(commandFor(key("+", { shiftKey: true })), "zoom-in");
  assert.equal(commandFor(key("=")), "zoom-in");
  assert.equal(commandFor(key("-")), "zoom-out");
  assert.equal(commandFor(key("0")), "zoom-fit");
});

Deno.test("typing in a text field is not a shortcut", () => {
  assert.equal(isTyping({ tagName: "INPUT", type: "text" } as unknown as EventTarget), true);
  assert.equal(isTyping({ tagName: "TEXTAREA" } as unknown as EventTarget), true);
  assert.equal(isTyping({ tagName: "INPUT", type: "file" } as unknown as EventTarget), false);
  assert.equal(isTyping({ tagName: "BUTTON" } as unknown as EventTarget), false);
  assert.equal(isTyping(null), false);
});
