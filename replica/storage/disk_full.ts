/**
 * A full disk is not a bad request: whatever was being written (a log batch,
 * an applied batch, a snapshot copy or a staged snapshot) must stop the
 * replica with a clear line rather than turn into a 500 or a retry loop.
 */

/** True when `e` or one of its causes is a full disk (the OS's ENOSPC, SQLite's SQLITE_FULL). */
export function isDiskFull(e: unknown): boolean {
  for (let x = e; x instanceof Error; x = x.cause) {
    if (
      /ENOSPC|No space left|disk is full/i.test(`${x.message} ${(x as { code?: string }).code}`)
    ) {
      return true;
    }
  }
  return false;
}
