import assert from "node:assert/strict";
import { nextChunk } from "./renderer.ts";

Deno.test("catch-up chunk shrinks on slow frames, grows on fast ones, within bounds", () => {
  assert.equal(nextChunk(1000, 100), 600);
  assert.equal(nextChunk(1000, 10), 1300);
  assert.equal(nextChunk(1000, 25), 1000);
  assert.equal(nextChunk(300, 500), 250);
  assert.equal(nextChunk(49_000, 1), 50_000);
});
