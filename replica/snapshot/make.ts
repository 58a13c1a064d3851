/**
 * Makes a snapshot file from the live state database. The copy of a database
 * of hundreds of MiB takes seconds; `node:sqlite` is synchronous, so it runs
 * in a Worker, on a connection of its own: the replica's event loop goes on
 * sending heartbeats meanwhile (a blocked loop would lose it the leadership).
 */
import type { SnapshotMeta } from "../../protocol/snapshot.ts";
import type { MakeJob, MakeReply } from "./make_worker.ts";

/** Making a snapshot failed; no partial output is left behind. */
export class MakeSnapshotError extends Error {}

/**
 * Copies the database at `dbPath` to `outPath` (replacing any stale file
 * there) with SQLite's online backup and returns what it holds: the index
 * and term of its last applied entry, its size and SHA-256. Nothing is
 * fsynced: the copy is only read by this process (see make_worker.ts).
 */
export async function makeSnapshot(dbPath: string, outPath: string): Promise<SnapshotMeta> {
  const worker = new Worker(new URL("./make_worker.ts", import.meta.url).href, { type: "module" });
  try {
    const reply = await new Promise<MakeReply>((resolve) => {
      worker.onmessage = (e: MessageEvent<MakeReply>) => resolve(e.data);
      worker.onerror = (e) => {
        e.preventDefault();
        resolve({ ok: false, error: `worker died: ${e.message}` });
      };
      worker.postMessage({ dbPath, outPath } satisfies MakeJob);
    });
    if (reply.ok) return reply.meta;
    // The worker removes its output on error; a crashed worker could not.
    await Deno.remove(outPath).catch(() => {});
    throw new MakeSnapshotError(`snapshot of ${dbPath} into ${outPath} failed: ${reply.error}`);
  } finally {
    worker.terminate();
  }
}
