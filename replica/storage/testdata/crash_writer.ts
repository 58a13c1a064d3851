/**
 * Child process of the crash test: writes a deterministic stream of batches to
 * the durable log in the directory given as its argument, syncing each, and
 * prints a batch's number once its sync has finished. It runs until killed.
 */
import type { HardState, LogEntry } from "../../raft/types.ts";
import { DurableLog } from "../durable_log.ts";

/** Batch `b` (from 1) of the stream, given the stored log's last index before it. */
export function crashBatch(
  b: number,
  lastIndex: number,
): { hardState: HardState; entries: LogEntry[] } {
  const term = 1 + Math.floor(b / 4);
  // Every third batch overwrites the last two entries, as a new leader would.
  const first = b % 3 === 0 ? Math.max(1, lastIndex - 1) : lastIndex + 1;
  const count = 1 + (b * 7) % 40;
  const entries = Array.from({ length: count }, (_, i): LogEntry => ({
    index: first + i,
    term,
    stroke: { id: `b${b}e${i}`, x0: b, y0: i, x1: b + i, y1: 7, color: "#000000", width: 3 },
  }));
  return { hardState: { term, votedFor: `replica${1 + b % 3}`, recovering: false }, entries };
}

if (import.meta.main) {
  const log = await DurableLog.open(Deno.args[0]);
  log.restored();
  for (let b = 1;; b++) {
    const { hardState, entries } = crashBatch(b, log.lastIndex());
    log.save(hardState, entries);
    await log.sync(true);
    console.log(b);
  }
}
