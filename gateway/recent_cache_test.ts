/** The recent cache: bounded whatever the history, and honest about what it no longer holds. */
import assert from "node:assert/strict";
import { RecentCache } from "./recent_cache.ts";
import { makeStroke } from "./client.ts";

function fill(cache: RecentCache, plan: string[], from = cache.lastIndex + 1): void {
  plan.forEach((board, i) => cache.add(board, { index: from + i, stroke: makeStroke(board) }));
}

Deno.test("the cache holds at most its bound, evicting the oldest stroke of any board", () => {
  const cache = new RecentCache(100);
  for (let round = 0; round < 50; round++) {
    fill(cache, Array.from({ length: 97 }, (_, i) => i % 3 === 0 ? "a" : "b"));
    assert.ok(cache.size <= 100, `${cache.size} held`);
  }
  assert.equal(cache.size, 100);
  const last = cache.lastIndex;
  const a = cache.read("a", cache.floor("a"), 1000)!;
  const b = cache.read("b", cache.floor("b"), 1000)!;
  assert.equal(a.entries.length + b.entries.length, 100);
  assert.deepEqual(
    [...a.entries, ...b.entries].map((e) => e.index).sort((x, y) => x - y),
    Array.from({ length: 100 }, (_, i) => last - 99 + i),
    "exactly the newest 100 strokes",
  );
});

Deno.test("a read below a board's floor is refused; a quiet board stays readable", () => {
  const cache = new RecentCache(10);
  fill(cache, ["quiet", "busy", "busy"]);
  fill(cache, Array.from({ length: 30 }, () => "busy"));
  assert.equal(cache.read("busy", 0, 100), null, "busy's early strokes are gone");
  assert.equal(cache.read("busy", cache.floor("busy") - 1, 100), null);
  const busy = cache.read("busy", cache.floor("busy"), 100)!;
  assert.equal(busy.entries.length, 10);
  assert.equal(busy.through, cache.lastIndex);
  // The quiet board's only stroke was evicted, but nothing of it came after: still in step.
  assert.equal(cache.floor("quiet"), 1);
  assert.deepEqual(cache.read("quiet", 1, 100), { entries: [], through: cache.lastIndex });
  assert.equal(cache.read("quiet", 0, 100), null);
  assert.deepEqual(cache.read("never-seen", 0, 100), { entries: [], through: cache.lastIndex });
});

Deno.test("a read is complete through its answer: a full batch stops at its last stroke", () => {
  const cache = new RecentCache(100);
  fill(cache, ["x", "y", "x", "x", "y", "x"]);
  cache.advance(10); // no-ops after the strokes
  const first = cache.read("x", 0, 2)!;
  assert.deepEqual(first.entries.map((e) => e.index), [1, 3]);
  assert.equal(first.through, 3);
  const rest = cache.read("x", first.through, 2)!;
  assert.deepEqual(rest.entries.map((e) => e.index), [4, 6]);
  assert.equal(rest.through, 6);
  assert.deepEqual(cache.read("x", 6, 2), { entries: [], through: 10 });
  assert.deepEqual(cache.read("x", 12, 2), { entries: [], through: 12 }, "never moves back");
  assert.throws(() => cache.add("x", { index: 10, stroke: makeStroke() }), /index 10 after 10/);
});
