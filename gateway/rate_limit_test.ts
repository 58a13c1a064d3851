import assert from "node:assert/strict";
import { TokenBucket } from "./rate_limit.ts";

Deno.test("token bucket allows the burst, then the rate", () => {
  let now = 0;
  const bucket = new TokenBucket(10, 5, () => now);
  const firstBurst = Array.from({ length: 8 }, () => bucket.take());
  assert.deepEqual(firstBurst, [true, true, true, true, true, false, false, false]);
  now += 250; // 2.5 tokens
  assert.deepEqual([bucket.take(), bucket.take(), bucket.take()], [true, true, false]);
  now += 10_000; // refills to the burst, not beyond
  assert.equal(Array.from({ length: 10 }, () => bucket.take()).filter(Boolean).length, 5);
});
