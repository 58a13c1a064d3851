import assert from "node:assert/strict";
import { crc32, crc32PrefixLength } from "./crc32.ts";

const text = (s: string) => new TextEncoder().encode(s);

Deno.test("crc32 matches the standard check values", () => {
  assert.equal(crc32(new Uint8Array(0)), 0);
  assert.equal(crc32(text("123456789")), 0xcbf43926);
  assert.equal(crc32(text("The quick brown fox jumps over the lazy dog")), 0x414fa339);
  assert.equal(crc32(new Uint8Array(32)), 0x190a55ad);
});

Deno.test("crc32 notices a single flipped bit", () => {
  const bytes = text("a record payload");
  const before = crc32(bytes);
  bytes[3] ^= 0x10;
  assert.notEqual(crc32(bytes), before);
});

Deno.test("crc32PrefixLength finds the prefix that carries a checksum", () => {
  const bytes = text("123456789 and more after it");
  assert.equal(crc32PrefixLength(bytes, 0xcbf43926), 9);
  assert.equal(crc32PrefixLength(bytes, crc32(bytes)), bytes.length);
  assert.equal(crc32PrefixLength(text("12345678"), 0xcbf43926), -1);
});
