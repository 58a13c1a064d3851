/**
 * The worker of `make.ts`: copies the state database, reads what the copy
 * holds and digests it, all off the replica's event loop. The copy is not
 * fsynced: it never outlives the process (a replica removes outgoing copies
 * when it starts), and the follower fsyncs what it received before using it. One job per
 * worker: `{ dbPath, outPath }` in, `{ ok, meta | error }` out.
 */
/// <reference lib="deno.worker" />
import { createHash } from "node:crypto";
import { backup, DatabaseSync } from "node:sqlite";
import type { SnapshotMeta } from "../../protocol/snapshot.ts";
import { removeIfPresent } from "../storage/fs.ts";

export interface MakeJob {
  dbPath: string;
  outPath: string;
}
export type MakeReply = { ok: true; meta: SnapshotMeta } | { ok: false; error: string };

const READ_BYTES = 1024 * 1024;

async function make({ dbPath, outPath }: MakeJob): Promise<SnapshotMeta> {
  await removeIfPresent(outPath);
  await Deno.stat(dbPath); // opening a missing path would create an empty database
  // SQLite's online backup, on a connection of our own, in one step: it reads
  // in one read transaction, so the copy is the database at one batch
  // boundary while the replica goes on applying. (In steps, every write of
  // the replica between two steps would restart it. VACUUM INTO would do
  // too, but Deno allows ATTACH, which it needs, only to a fully trusted
  // process, and the replica runs with its own permission set.)
  const source = new DatabaseSync(dbPath);
  try {
    await backup(source, outPath, { rate: -1 });
  } finally {
    source.close();
  }
  // The copy's own applied row, not the source's: the source may have moved on.
  // The backup keeps the source's WAL mode, and opening a WAL file leaves
  // -wal and -shm files beside it; out of WAL mode the copy is one file
  // (the follower turns WAL back on when it opens it).
  const copy = new DatabaseSync(outPath);
  let applied: { idx: number; term: number } | undefined;
  try {
    copy.exec("PRAGMA journal_mode = DELETE");
    applied = copy.prepare("SELECT idx, term FROM applied WHERE one = 1").get() as typeof applied;
  } finally {
    copy.close();
  }
  if (!applied) throw new Error("the copy has no applied row");
  const file = await Deno.open(outPath, { read: true });
  try {
    const hash = createHash("sha256");
    const buf = new Uint8Array(READ_BYTES);
    let bytes = 0;
    for (;;) {
      const n = await file.read(buf);
      if (n === null) break;
      hash.update(buf.subarray(0, n));
      bytes += n;
    }
    return { index: applied.idx, term: applied.term, bytes, sha256: hash.digest("hex") };
  } finally {
    file.close();
  }
}

self.onmessage = async (e: MessageEvent<MakeJob>) => {
  let reply: MakeReply;
  try {
    reply = { ok: true, meta: await make(e.data) };
  } catch (err) {
    await removeIfPresent(e.data.outPath).catch(() => {});
    reply = { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  self.postMessage(reply);
};
