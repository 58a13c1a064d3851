/**
 * A `memory` debug line every few seconds, to tell the JS heap from native memory when RSS
 * grows: RSS, V8's young generation (the semi-spaces, which grow up to 64 MiB on a busy
 * server unless `--max-semi-space-size` caps them) and old generation, the heap in use, and
 * what V8 counts as external (ArrayBuffers). RSS minus the heap is native memory: the deno
 * binary's pages (~40 MiB), malloc (SQLite, HTTP buffers), thread stacks. The split of RSS
 * into anonymous and file pages is in /proc, which Deno opens only to --allow-all: read it
 * from outside (`/proc/PID/status`, `smaps_rollup`). Figures in KiB.
 */
import v8 from "node:v8";

/** One sample of the process's memory, in KiB. */
export function memorySample(): Record<string, number> {
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

/** Hands `write` a sample every `intervalMs` (a debug line); returns the stop function. */
export function startMemoryLog(
  write: (sample: Record<string, number>) => void,
  intervalMs = 2000,
): () => void {
  const timer = setInterval(() => write(memorySample()), intervalMs);
  Deno.unrefTimer(timer);
  return () => clearInterval(timer);
}
