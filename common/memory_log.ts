/**
 * A `memory` debug line every few seconds, to tell the JS heap from native memory when RSS
 * grows: RSS, V8's young generation (the semi-spaces, which grow up to 64 MiB on a busy
 * server unless `--max-semi-space-size` caps them) and old generation, the heap in use, and
 * what V8 counts as external (ArrayBuffers). RSS minus the heap is native memory: the deno
 * binary's pages (~40 MiB), malloc (SQLite, HTTP buffers), thread stacks. The split of RSS
 * into anonymous and file pages is in /proc, which Deno opens only to --allow-all: read it
 * from outside (`/proc/PID/status`, `smaps_rollup`). Figures in KiB.
 */

/** node:v8, imported when the log starts: a node: module at start costs ~30 ms (Node compatibility). */
type V8 = typeof import("node:v8");

/** One sample of the process's memory, in KiB. */
export function memorySample(v8: V8): Record<string, number> {
  const kib = (n: number) => Math.round(n / 1024);
  const spaces = new Map(v8.getHeapSpaceStatistics().map((s) => [s.space_name, s]));
  const space = (name: string) => spaces.get(name)?.space_size ?? 0;
  const mem = Deno.memoryUsage();
  return {
    rss: kib(mem.rss),
    heap_total: kib(mem.heapTotal),
    heap_used: kib(mem.heapUsed),
    new_space: kib(space("new_space") + space("new_large_object_space")),
    old_space: kib(space("old_space") + space("large_object_space")),
    external: kib(mem.external),
  };
}

/** Hands `write` a sample every `intervalMs` (a debug line); resolves with the stop function. */
export async function startMemoryLog(
  write: (sample: Record<string, number>) => void,
  intervalMs = 2000,
): Promise<() => void> {
  const v8 = await import("node:v8");
  const timer = setInterval(() => write(memorySample(v8)), intervalMs);
  Deno.unrefTimer(timer);
  return () => clearInterval(timer);
}
