/** The memory debug line: its fields, and its timer stops. */
import assert from "node:assert/strict";
import v8 from "node:v8";
import { memorySample, startMemoryLog } from "./memory_log.ts";

Deno.test("a memory sample splits the heap and fits inside RSS", () => {
  const s = memorySample(v8);
  for (const key of ["rss", "heap_total", "heap_used", "new_space", "old_space", "external"]) {
    assert(Number.isSafeInteger(s[key]) && s[key] >= 0, `${key}=${s[key]}`);
  }
  assert(s.heap_used <= s.heap_total && s.heap_total < s.rss);
});

Deno.test("the memory log writes samples until stopped", async () => {
  const samples: Record<string, number>[] = [];
  const stop = await startMemoryLog((s) => samples.push(s), 5);
  await new Promise((r) => setTimeout(r, 40));
  stop();
  const n = samples.length;
  assert(n >= 1);
  await new Promise((r) => setTimeout(r, 20));
  assert(samples.length === n);
});
