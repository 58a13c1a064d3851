/**
 * The identity of a data dir (DATA_DIR/identity): drawn whenever the
 * replica starts on an empty log, kept for as long as the log lives. A lost
 * disk, a wiped dir or a log removed by hand is a new identity, so the
 * cluster makes the replica a voter again before anything it says counts
 * (see raft/recovery.ts). Written and fsynced before the replica starts.
 */
import { isDiskId } from "../../protocol/mod.ts";
import { syncDirectory } from "./fs.ts";

export const IDENTITY_FILE_NAME = "identity";

/** The dir's identity: a new one when `emptyLog`, else the one written before (or a new one if none was). */
export async function diskIdentity(dataDir: string, emptyLog: boolean): Promise<string> {
  const path = `${dataDir}/${IDENTITY_FILE_NAME}`;
  if (!emptyLog) {
    const kept = await Deno.readTextFile(path).then((t) => t.trim(), () => null);
    if (kept !== null && isDiskId(kept)) return kept;
    // A data dir from before identities (or whose file was damaged): the log is intact, so is the disk.
  }
  const id = crypto.randomUUID();
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    await file.write(new TextEncoder().encode(id + "\n"));
    await file.sync();
  } finally {
    file.close();
  }
  await syncDirectory(dataDir);
  return id;
}
