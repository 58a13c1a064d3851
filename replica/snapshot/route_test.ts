/** The route refuses at the edge: oversize chunks or frames (413), malformed headers and frames (400), nothing staged. */
import assert from "node:assert/strict";
import {
  type ChunkHeader,
  encodeChunkHeaders,
  MAX_CHUNK_BYTES,
  SNAPSHOT_FRAMES_TYPE,
  SNAPSHOT_HEADERS,
  SNAPSHOT_PATH,
} from "../../protocol/snapshot.ts";
import { frameHeader } from "./frames.ts";
import { crc32 } from "../storage/crc32.ts";
import { concat } from "../../common/bytes.ts";
import { INCOMING_FILE_NAME } from "./receiver.ts";
import { follower, MiB } from "./testdata/follower.ts";

const header = (body: Uint8Array, over: Partial<ChunkHeader> = {}): Record<string, string> =>
  encodeChunkHeaders({
    term: 5,
    leaderId: "replica1",
    meta: { index: 1, term: 1, bytes: 32 * MiB, sha256: "a".repeat(64) },
    offset: 0,
    crc32: crc32(body),
    ...over,
  });

Deno.test("install-snapshot route: a chunk over the limit is refused with 413, declared or streamed", async () => {
  const f = await follower();
  try {
    const big = new Uint8Array(MAX_CHUNK_BYTES + 1);
    const declared = await fetch(f.url + SNAPSHOT_PATH, {
      method: "POST",
      headers: header(big),
      body: big,
    });
    assert.equal(declared.status, 413);
    await declared.body?.cancel();
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 9; i++) c.enqueue(new Uint8Array(MiB));
        c.close();
      },
    });
    const streamed = await fetch(f.url + SNAPSHOT_PATH, {
      method: "POST",
      headers: header(big),
      body: stream,
    });
    assert.equal(streamed.status, 413);
    await streamed.body?.cancel();
    await assert.rejects(Deno.stat(`${f.dir}/${INCOMING_FILE_NAME}`), Deno.errors.NotFound);
  } finally {
    await f.close();
  }
});

Deno.test("install-snapshot route: malformed headers are refused with 400 and nothing is staged", async () => {
  const f = await follower();
  try {
    const body = new Uint8Array(100).fill(7);
    const cases: [string, string | null][] = [
      [SNAPSHOT_HEADERS.offset, "0x10"],
      [SNAPSHOT_HEADERS.bytes, String(2 ** 48)],
      [SNAPSHOT_HEADERS.crc32, String(2 ** 32)],
      [SNAPSHOT_HEADERS.sha256, "A".repeat(64)],
      [SNAPSHOT_HEADERS.leaderId, "no spaces"],
      [SNAPSHOT_HEADERS.term, null],
    ];
    for (const [name, value] of cases) {
      const headers = header(body);
      if (value === null) delete headers[name];
      else headers[name] = value;
      const res = await fetch(f.url + SNAPSHOT_PATH, { method: "POST", headers, body });
      const answer = await res.json();
      assert.equal(res.status, 400, `${name}: ${value}`);
      assert.ok(answer.error.includes(name), answer.error);
    }
    const res = await fetch(f.url + SNAPSHOT_PATH, {
      method: "POST",
      headers: header(body, { crc32: 1 }),
      body,
    });
    assert.equal(res.status, 400);
    assert.match((await res.json()).error, /crc32/);
    await assert.rejects(Deno.stat(`${f.dir}/${INCOMING_FILE_NAME}`), Deno.errors.NotFound);
  } finally {
    await f.close();
  }
});

Deno.test("install-snapshot route: an older leader is refused with the newer term the receiver saw", async () => {
  const f = await follower(5); // the replica has not adopted term 7 yet
  try {
    const body = new Uint8Array(1000).fill(3);
    const post = (term: number, sha: string) =>
      fetch(f.url + SNAPSHOT_PATH, {
        method: "POST",
        headers: header(body, {
          term,
          meta: { index: 9, term: 2, bytes: 32 * MiB, sha256: sha.repeat(64) },
        }),
        body,
      });
    const first = await post(7, "b");
    assert.deepEqual(await first.json(), { term: 5, nextOffset: 1000, done: false });
    const stale = await post(6, "c");
    assert.equal(stale.status, 409);
    assert.equal((await stale.json()).term, 7, "so that the term-6 sender steps down");
    assert.equal((await Deno.stat(`${f.dir}/${INCOMING_FILE_NAME}`)).size, 1000, "unchanged");
  } finally {
    await f.close();
  }
});

Deno.test("install-snapshot route: a stream stops at its first bad frame, keeping the good ones", async () => {
  const f = await follower();
  try {
    const good = new Uint8Array(1000).fill(1);
    const bad = new Uint8Array(500).fill(2);
    const streamHeaders = {
      ...encodeChunkHeaders({
        term: 5,
        leaderId: "replica1",
        meta: { index: 1, term: 1, bytes: 32 * MiB, sha256: "a".repeat(64) },
        offset: 0,
      }),
      "content-type": SNAPSHOT_FRAMES_TYPE,
    };
    const body = concat([
      frameHeader(good.length, crc32(good)),
      good,
      frameHeader(bad.length, crc32(bad) ^ 1),
      bad,
      frameHeader(good.length, crc32(good)),
      good,
    ]);
    const res = await fetch(f.url + SNAPSHOT_PATH, {
      method: "POST",
      headers: streamHeaders,
      body,
    });
    assert.equal(res.status, 400);
    const answer = await res.json();
    assert.equal(answer.nextOffset, 1000, "resume after the last good frame");
    assert.match(answer.error, /crc32/);
    assert.equal((await Deno.stat(`${f.dir}/${INCOMING_FILE_NAME}`)).size, 1000);

    const over = await fetch(f.url + SNAPSHOT_PATH, {
      method: "POST",
      headers: { ...streamHeaders, [SNAPSHOT_HEADERS.offset]: "1000" },
      body: frameHeader(MAX_CHUNK_BYTES + 1, 0),
    });
    assert.equal(over.status, 413);
    await over.body?.cancel();
    const cut = await fetch(f.url + SNAPSHOT_PATH, {
      method: "POST",
      headers: { ...streamHeaders, [SNAPSHOT_HEADERS.offset]: "1000" },
      body: concat([frameHeader(good.length, crc32(good)), good.subarray(0, 10)]),
    });
    assert.equal(cut.status, 400);
    assert.match((await cut.json()).error, /cut short/);
    assert.equal((await Deno.stat(`${f.dir}/${INCOMING_FILE_NAME}`)).size, 1000, "unchanged");
  } finally {
    await f.close();
  }
});
