/**
 * Opens the state database of a replica against the log it restarts with.
 *
 * Installing a snapshot from the leader rewrites the log first (it then
 * names the snapshot point and holds nothing before it), then renames the
 * staged copy over the database. A crash between the two leaves a log
 * compacted past what the database holds, and the staged copy, fsynced
 * before either step, beside them: the install is finished here. A database
 * behind the compacted log with no staged copy was lost or damaged outside
 * the replica's control; the entries it lacks exist nowhere on this disk.
 */
import type { RestoredLog } from "./storage/durable_log.ts";
import { STATE_DB_FILE_NAME, StateDb, StateDbError } from "./state_db.ts";
import { OUTGOING_PREFIX } from "./snapshot/shipper.ts";
import { exists, removeIfPresent } from "./storage/fs.ts";

/** A snapshot the driver is about to install (renamed there from the receiver's staging file). */
export const READY_FILE_NAME = "snapshot.ready";

/** What opening found, for the start line. */
export interface OpenedState {
  stateDb: StateDb;
  /** The database was emptied: it did not derive from this log. */
  reset: boolean;
  /** What it had applied before (reset or not). */
  appliedBefore: number;
  /** A snapshot install interrupted by a crash was finished. */
  rolledForward: boolean;
}

/** Opens `${dataDir}/state.sqlite` and makes it agree with `restored`. */
export async function openState(dataDir: string, restored: RestoredLog): Promise<OpenedState> {
  await removeOutgoing(dataDir);
  const stateDb = new StateDb(`${dataDir}/${STATE_DB_FILE_NAME}`);
  const point = restored.snapshot ?? { index: 0, term: 0 };
  const ready = `${dataDir}/${READY_FILE_NAME}`;
  let rolledForward = false;
  if (stateDb.lastIndex() < point.index && await exists(ready)) {
    stateDb.install(ready, point);
    rolledForward = true;
  }
  // A staged copy that was installed, or never taken by the core, is of no use now.
  await removeIfPresent(ready);
  if (stateDb.lastIndex() < point.index) {
    const held = stateDb.lastIndex();
    stateDb.close();
    throw new StateDbError(
      `the log in ${dataDir} is compacted up to ${point.index} but ${STATE_DB_FILE_NAME} holds ` +
        `only ${held}: the database was lost or rolled back; move the data directory away ` +
        `to rejoin empty and be caught up from the leader`,
    );
  }
  const termAt = (i: number) =>
    i === point.index ? point.term : restored.entries[i - point.index - 1]?.term;
  const applied = stateDb.lastIndex();
  if (point.index === 0) {
    // Nothing compacted: a database not derived from this log is emptied and derived again.
    const reset = stateDb.reconcile(termAt);
    return { stateDb, reset, appliedBefore: applied, rolledForward };
  }
  if (termAt(applied) !== stateDb.termAt(applied)) {
    stateDb.close();
    throw new StateDbError(
      `${STATE_DB_FILE_NAME} in ${dataDir} does not derive from its compacted log ` +
        `(applied ${applied}); move the data directory away to rejoin empty`,
    );
  }
  return { stateDb, reset: false, appliedBefore: applied, rolledForward };
}

async function removeOutgoing(dataDir: string): Promise<void> {
  try {
    for await (const e of Deno.readDir(dataDir)) {
      if (e.isFile && e.name.startsWith(OUTGOING_PREFIX)) {
        await removeIfPresent(`${dataDir}/${e.name}`);
      }
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}
