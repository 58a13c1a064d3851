/** The assembler's rules, one test each, over a sink in memory. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { ChunkHeader, SnapshotMeta } from "../../protocol/snapshot.ts";
import { crc32 } from "../storage/crc32.ts";
import { type OfferResult, SnapshotAssembler } from "./assembler.ts";
import { MemorySink } from "./testdata/memory_sink.ts";

const sha256 = () => {
  const h = createHash("sha256");
  return { update: (b: Uint8Array) => void h.update(b), hex: () => h.digest("hex") };
};

function snapshot(bytes: number, seed: number, index = 100, term = 3) {
  const data = new Uint8Array(bytes).map((_, i) => (i * 31 + seed) & 0xff);
  const meta: SnapshotMeta = {
    index,
    term,
    bytes,
    sha256: createHash("sha256").update(data).digest("hex"),
  };
  return { data, meta };
}

function chunk(meta: SnapshotMeta, data: Uint8Array, offset: number, len: number, term = 5) {
  const body = data.slice(offset, offset + len);
  const h: ChunkHeader = { term, leaderId: "r1", meta, offset, crc32: crc32(body) };
  return [h, body] as const;
}

function setup() {
  const sink = new MemorySink();
  return { sink, asm: new SnapshotAssembler(sink, sha256) };
}

const partial = (nextOffset: number): OfferResult => ({ kind: "partial", nextOffset });

Deno.test("assembler: chunks in order complete the snapshot with its bytes", async () => {
  const { sink, asm } = setup();
  const { data, meta } = snapshot(1000, 1);
  assert.deepEqual(await asm.offer(...chunk(meta, data, 0, 400)), partial(400));
  assert.deepEqual(await asm.offer(...chunk(meta, data, 400, 400)), partial(800));
  assert.deepEqual(await asm.offer(...chunk(meta, data, 800, 200)), { kind: "complete", meta });
  assert.deepEqual(sink.bytes(), data);
  assert.equal(asm.receiving(), null, "the next chunk starts afresh");
});

Deno.test("assembler: a duplicated or a reordered chunk is refused with where to go on", async () => {
  const { sink, asm } = setup();
  const { data, meta } = snapshot(1000, 2);
  await asm.offer(...chunk(meta, data, 0, 300));
  await asm.offer(...chunk(meta, data, 300, 300));
  const dup = await asm.offer(...chunk(meta, data, 300, 300));
  assert.deepEqual(dup, {
    kind: "refused",
    status: 409,
    error: "expected offset 600",
    nextOffset: 600,
  });
  const ahead = await asm.offer(...chunk(meta, data, 900, 100));
  assert.equal(ahead.kind === "refused" && ahead.status, 409);
  assert.equal(ahead.kind === "refused" && ahead.nextOffset, 600);
  assert.equal(sink.length(), 600, "nothing changed");
  assert.deepEqual(await asm.offer(...chunk(meta, data, 600, 400)), { kind: "complete", meta });
  assert.deepEqual(sink.bytes(), data, "the hash was fed each accepted byte once");
});

Deno.test("assembler: after a broken connection the probe gives the resume point", async () => {
  const { sink, asm } = setup();
  const { data, meta } = snapshot(1000, 3);
  await asm.offer(...chunk(meta, data, 0, 450));
  // The sender lost its connection and asks where we are, with an empty chunk at 0.
  assert.deepEqual(await asm.offer(...chunk(meta, data, 0, 0)), partial(450));
  assert.equal(sink.length(), 450, "the probe does not reset");
  assert.deepEqual(await asm.offer(...chunk(meta, data, 450, 550)), { kind: "complete", meta });
  assert.deepEqual(sink.bytes(), data);
});

Deno.test("assembler: a CRC mismatch is refused with 400 and changes nothing", async () => {
  const { sink, asm } = setup();
  const { data, meta } = snapshot(1000, 4);
  await asm.offer(...chunk(meta, data, 0, 500));
  const [h, body] = chunk(meta, data, 500, 500);
  const flipped = body.slice();
  flipped[17] ^= 0x40;
  const r = await asm.offer(h, flipped);
  assert.deepEqual(r, {
    kind: "refused",
    status: 400,
    error: "chunk crc32 mismatch",
    nextOffset: 500,
  });
  assert.equal(sink.length(), 500);
  assert.deepEqual(await asm.offer(h, body), { kind: "complete", meta });
});

Deno.test("assembler: a chunk past the end is refused with 400", async () => {
  const { sink, asm } = setup();
  const { data, meta } = snapshot(1000, 5);
  const [h, body] = chunk({ ...meta, bytes: 900 }, data, 0, 1000);
  const r = await asm.offer(h, body);
  assert.equal(r.kind === "refused" && r.status, 400);
  assert.equal(sink.length(), 0);
  assert.equal(asm.receiving(), null);
});

Deno.test("assembler: a wrong sha256 at the end resets and refuses with 400", async () => {
  const { sink, asm } = setup();
  const { data, meta } = snapshot(1000, 6);
  const lying = { ...meta, sha256: "0".repeat(64) };
  await asm.offer(...chunk(lying, data, 0, 600));
  const r = await asm.offer(...chunk(lying, data, 600, 400));
  assert.equal(r.kind, "refused");
  assert.equal(r.kind === "refused" && r.status, 400);
  assert.equal(r.kind === "refused" && r.nextOffset, 0);
  assert.equal(sink.length(), 0);
  assert.equal(asm.receiving(), null);
});

Deno.test("assembler: a newer snapshot at offset 0 replaces the partial one", async () => {
  const { sink, asm } = setup();
  const old = snapshot(1000, 7, 100, 3);
  const newer = snapshot(800, 8, 150, 4);
  await asm.offer(...chunk(old.meta, old.data, 0, 500));
  assert.deepEqual(await asm.offer(...chunk(newer.meta, newer.data, 0, 300, 6)), partial(300));
  assert.equal(asm.receiving()?.meta.index, 150);
  await asm.offer(...chunk(newer.meta, newer.data, 300, 500, 6));
  assert.deepEqual(sink.bytes(), newer.data);
});

Deno.test("assembler: another snapshot in the middle (offset > 0) is refused with 409", async () => {
  const { sink, asm } = setup();
  const old = snapshot(1000, 9, 100, 3);
  const other = snapshot(1000, 10, 120, 3);
  await asm.offer(...chunk(old.meta, old.data, 0, 500));
  const r = await asm.offer(...chunk(other.meta, other.data, 500, 500));
  assert.equal(r.kind === "refused" && r.status, 409);
  assert.equal(r.kind === "refused" && r.nextOffset, 0, "that sender must start at 0");
  assert.equal(sink.length(), 500);
  assert.equal(asm.receiving()?.meta.index, 100);
});

Deno.test("assembler: a chunk of a lower term for the same index is refused with 409", async () => {
  const { sink, asm } = setup();
  const newLeader = snapshot(1000, 11, 100, 3);
  const oldLeader = snapshot(1100, 12, 100, 3); // same index, other bytes (another copy)
  await asm.offer(...chunk(newLeader.meta, newLeader.data, 0, 500, 7));
  const r = await asm.offer(...chunk(oldLeader.meta, oldLeader.data, 0, 500, 6));
  assert.equal(r.kind === "refused" && r.status, 409);
  assert.equal(r.kind === "refused" && r.term, 7, "names the newer term, so the sender steps down");
  assert.equal(sink.length(), 500);
  assert.equal(asm.receiving()?.term, 7);
  // The same snapshot from a newer leader continues where it is.
  assert.deepEqual(
    await asm.offer(...chunk(newLeader.meta, newLeader.data, 0, 0, 8)),
    partial(500),
  );
  assert.equal(asm.receiving()?.term, 8);
});
