/** The chunk headers and answers of InstallSnapshot: round trip, strict numbers, answer kinds. */
import assert from "node:assert/strict";
import {
  type ChunkHeader,
  decodeChunkAnswer,
  decodeChunkHeaders,
  encodeChunkHeaders,
  SNAPSHOT_HEADERS,
} from "./snapshot.ts";

const h: ChunkHeader = {
  term: 7,
  leaderId: "replica_2",
  meta: { index: 2 ** 48 - 1, term: 6, bytes: 10_000, sha256: "0123456789abcdef".repeat(4) },
  offset: 4096,
  crc32: 0xffffffff,
};

Deno.test("snapshot protocol: headers round trip", () => {
  assert.deepEqual(decodeChunkHeaders(new Headers(encodeChunkHeaders(h))), { ok: true, value: h });
});

Deno.test("snapshot protocol: numbers are decimal digits only, within their range", () => {
  // (Headers trims spaces around a value, so " 7" arrives as "7".)
  for (const bad of ["", "+7", "-1", "1e3", "0x10", "7.0", String(2 ** 48)]) {
    const headers = new Headers(encodeChunkHeaders(h));
    headers.set(SNAPSHOT_HEADERS.offset, bad);
    const r = decodeChunkHeaders(headers);
    assert.equal(r.ok, false, `offset ${JSON.stringify(bad)}`);
  }
  const headers = new Headers(encodeChunkHeaders(h));
  headers.set(SNAPSHOT_HEADERS.crc32, String(2 ** 32));
  assert.deepEqual(decodeChunkHeaders(headers), {
    ok: false,
    error: "x-chunk-crc32 must be a decimal integer below 2^32",
  });
  headers.set(SNAPSHOT_HEADERS.crc32, "0");
  headers.set(SNAPSHOT_HEADERS.offset, "10001");
  assert.equal(decodeChunkHeaders(headers).ok, false, "offset past the end");
});

Deno.test("snapshot protocol: answers decode to their kind", () => {
  assert.deepEqual(decodeChunkAnswer({ term: 3, nextOffset: 5, done: false }), {
    ok: true,
    value: { kind: "partial", term: 3, nextOffset: 5, done: false },
  });
  assert.deepEqual(decodeChunkAnswer({ term: 3, nextOffset: 0, error: "stale term" }), {
    ok: true,
    value: { kind: "refused", term: 3, nextOffset: 0, error: "stale term" },
  });
  const final = { term: 3, done: true, success: true, matchIndex: 9, logLength: 9, incarnation: 2 };
  assert.deepEqual(decodeChunkAnswer(final), { ok: true, value: { kind: "final", ...final } });
  assert.equal(decodeChunkAnswer({ error: "body over 8388608 bytes" }).ok, false);
  assert.equal(decodeChunkAnswer({ term: 3, done: true, success: "yes" }).ok, false);
  assert.equal(decodeChunkAnswer({ term: 3, nextOffset: -1, done: false }).ok, false);
});
