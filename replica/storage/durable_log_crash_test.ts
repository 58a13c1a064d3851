import assert from "node:assert/strict";
import type { HardState, LogEntry } from "../raft/types.ts";
import { DurableLog } from "./durable_log.ts";
import { crashBatch } from "./testdata/crash_writer.ts";

const WRITER = new URL("./testdata/crash_writer.ts", import.meta.url).pathname;
const TIMEOUT_MS = 60_000;

/** Runs the writer until it has reported `batches` synced batches, SIGKILLs it, returns the last reported. */
async function writeUntilKilled(dir: string, batches: number): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", `--allow-read=${dir}`, `--allow-write=${dir}`, WRITER, dir],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS);
  let lastSynced = 0;
  let text = "";
  let killed = false;
  for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
    text += chunk;
    const lines = text.split("\n");
    text = lines.pop()!; // a line cut by the kill is not a report
    for (const line of lines) lastSynced = Math.max(lastSynced, Number(line));
    if (!killed && lastSynced >= batches) {
      child.kill("SIGKILL");
      killed = true;
    }
  }
  clearTimeout(timer);
  const status = await child.status;
  assert.equal(status.signal, "SIGKILL", `writer ended on its own: ${JSON.stringify(status)}`);
  assert.ok(lastSynced >= batches, `writer reported only ${lastSynced} batches in time`);
  return lastSynced;
}

interface Model {
  hardState: HardState | null;
  entries: LogEntry[];
}

/**
 * Replays the writer's stream one record at a time (hard state, truncation,
 * entries, in the order `save` writes them) and reports whether `restored`
 * equals the state after some record at or past the end of batch `lastSynced`.
 * The writer does one batch at a time, so when killed it may have synced
 * `lastSynced + 1` without reporting it and begun `lastSynced + 2`, no more.
 */
function isDurablePrefix(restored: Model, lastSynced: number): boolean {
  const model: Model = { hardState: null, entries: [] };
  const matches = () =>
    model.entries.length === restored.entries.length &&
    JSON.stringify(model.hardState) === JSON.stringify(restored.hardState) &&
    JSON.stringify(model.entries) === JSON.stringify(restored.entries);
  for (let b = 1; b <= lastSynced + 2; b++) {
    const { hardState, entries } = crashBatch(b, model.entries.length);
    const canStop = () => b > lastSynced;
    model.hardState = hardState;
    if (canStop() && matches()) return true;
    if (entries[0].index <= model.entries.length) {
      model.entries.length = entries[0].index - 1;
      if (canStop() && matches()) return true;
    }
    for (const entry of entries) {
      model.entries.push(entry);
      if (canStop() && matches()) return true;
    }
    if (b === lastSynced && matches()) return true;
  }
  return false;
}

// SIGKILL loses what the process had not yet handed to the kernel, not the
// page cache, so this checks recovery from a process crash at any point of
// the stream (including a torn tail), not from a power cut.
Deno.test("after SIGKILL mid-stream the log is a prefix holding every synced batch", async (t) => {
  for (const batches of [40, 150, 300]) {
    await t.step(`killed after ${batches} reported syncs`, async () => {
      const dir = await Deno.makeTempDir({ prefix: "durable_log_crash_" });
      try {
        const lastSynced = await writeUntilKilled(dir, batches);
        const log = await DurableLog.open(dir);
        const restored = log.restored();
        console.log(
          `  last reported batch ${lastSynced}, recovered ${restored.entries.length} entries, ` +
            `${restored.discardedBytes} torn bytes discarded`,
        );
        assert.ok(isDurablePrefix(restored, lastSynced), "recovered state is not a durable prefix");
        // The recovered log takes appends that survive another reopen.
        log.save(null, [{ index: log.lastIndex() + 1, term: 999, noop: true }]);
        await log.sync(true);
        await log.close();
        const again = await DurableLog.open(dir);
        assert.equal(again.restored().entries.length, restored.entries.length + 1);
        await again.close();
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  }
});
