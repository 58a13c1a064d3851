/** The peer stream's message framing: round trips, and what is refused. */
import assert from "node:assert/strict";
import {
  decodeStreamAnswer,
  decodeStreamRequest,
  encodeStreamAnswer,
  encodeStreamRequest,
} from "./peer_stream.ts";

Deno.test("peer stream: requests and answers round-trip with their body untouched", () => {
  const body = '{"term":3,"entries":[{"a":"x\\ny"}]}';
  assert.deepEqual(decodeStreamRequest(encodeStreamRequest(7, "/append-entries", body)), {
    ok: true,
    value: { seq: 7, path: "/append-entries", body },
  });
  assert.deepEqual(decodeStreamAnswer(encodeStreamAnswer(7, 400, '{"error":"a\\nb"}')), {
    seq: 7,
    status: 400,
    body: '{"error":"a\\nb"}',
  });
});

Deno.test("peer stream: malformed messages are refused", () => {
  for (
    const bad of [
      "",
      "7 /append-entries", // no newline
      "7/append-entries\n{}",
      "-1 /append-entries\n{}",
      "1.5 /heartbeat\n{}",
      "7 /status\n{}", // not carried by the stream
      "7 /nope\n{}",
      `${"9".repeat(16)} /heartbeat\n{}`,
      `7 ${"/x".repeat(40)}\n{}`,
    ]
  ) {
    assert.equal(decodeStreamRequest(bad).ok, false, JSON.stringify(bad));
  }
  for (const bad of ["", "7 200", "7 2000\n{}", "x 200\n{}", "7 abc\n{}", "7 600\n{}"]) {
    assert.equal(decodeStreamAnswer(bad), null, JSON.stringify(bad));
  }
});
