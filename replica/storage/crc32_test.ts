import assert from "node:assert/strict";
import { crc32, crc32PrefixLength, crc32Table } from "./crc32.ts";

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

Deno.test("the native crc32 agrees with the table on every length around a word", () => {
  const bytes = new Uint8Array(70_000);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 131 + (i >> 7)) & 0xff;
  for (const n of [0, 1, 2, 3, 4, 5, 7, 8, 9, 63, 64, 65, 4096, 70_000]) {
    const part = bytes.subarray(bytes.length - n);
    assert.equal(crc32(part), crc32Table(part), `length ${n}`);
  }
});
