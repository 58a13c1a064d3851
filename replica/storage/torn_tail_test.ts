import assert from "node:assert/strict";
import { encodeRecord } from "./record.ts";
import { findIntactRecord, judgeTail, SECTOR_BYTES } from "./torn_tail.ts";

const record = encodeRecord({ truncate: 12345 });

Deno.test("an intact record is found at any offset after the damage, and only a real one", () => {
  const bytes = new Uint8Array(100 + record.length);
  bytes.set(record, 77);
  assert.equal(findIntactRecord(bytes, 1), 77);
  assert.equal(findIntactRecord(bytes, 78), -1);
  assert.equal(findIntactRecord(bytes.subarray(0, 90), 0), -1, "a cut record is not intact");
});

Deno.test("verdicts: torn when a crash could have left it, corrupt otherwise", () => {
  const flipped = record.slice();
  flipped[record.length - 2] ^= 1;
  assert.deepEqual(judgeTail(record.subarray(0, 5), 0), { torn: true });
  assert.deepEqual(judgeTail(new Uint8Array(SECTOR_BYTES * 3), 0), { torn: true });
  assert.equal(judgeTail(flipped, 0).torn, false, "a complete record with a wrong byte");
  const longer = record.slice();
  longer[1] ^= 4; // the length now reaches past the end, but the bytes there are whole
  assert.match((judgeTail(longer, 0) as { reason: string }).reason, /length .* damaged/);
});

// Random bytes pass the header's length test about once in 256 offsets; without
// the brace tests each would cost a checksum over up to 16 MiB (minutes here:
// a regression shows as a test that does not end).
Deno.test("8 MiB of random garbage is judged in bounded time", () => {
  let x = 2463534242;
  const garbage = Uint8Array.from({ length: 8 * 1024 * 1024 }, () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x & 0xff;
  });
  const t0 = performance.now();
  assert.equal(judgeTail(garbage, 0).torn, false);
  console.log(`  judged in ${(performance.now() - t0).toFixed(0)} ms`);
});
