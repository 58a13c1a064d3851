/**
 * The replica's state machine, in SQLite (`node:sqlite`, shipped with Deno):
 * every committed entry as applied (the history `/entries` serves from index
 * 1 on, forever), the board of each stroke, the de-duplication index
 * (board, id) -> first index, and the applied index, all written in one
 * transaction per applied batch, so a crash leaves the database at a batch
 * boundary. Board operations (erase, restore, clear) are filed like strokes:
 * strokes and ops share one id namespace per board. An entry whose (board,
 * id) was already committed (a retry that reached a new leader before it
 * learned of the first copy) is stored as a no-op at its index, so every
 * replica skips the same entries and `/entries` never shows one twice. Every
 * value reaches SQL as a bound parameter, never as text.
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import {
  type BoardSummary,
  DEFAULT_BOARD,
  type EntryPayload,
  type LogEntry,
  type Member,
  opOf,
  type Stroke,
} from "../protocol/mod.ts";
import type { SnapshotPoint } from "./raft/types.ts";
import { parentOf, removeIfPresent } from "./storage/fs.ts";

/** The database file inside DATA_DIR (beside the Raft log). */
export const STATE_DB_FILE_NAME = "state.sqlite";

/**
 * 2: a `boards` table counts what each board holds (filled from the entries
 * when a schema-1 database is opened).
 * 3: a stroke's body leaves out its id, which `stroke_id` holds (at 1M
 * strokes ~15 MB less to store, copy and ship); migrated by one UPDATE when
 * opened (seconds at a million strokes, once).
 */
const SCHEMA_VERSION = 3;

/** How a stroke's stored body begins: its id goes back in right after this. */
const STROKE_BODY = '{"stroke":{';

const BOARDS_SCHEMA = `
  CREATE TABLE boards (
    name     TEXT PRIMARY KEY,
    entries  INTEGER NOT NULL,
    last_idx INTEGER NOT NULL
  ) STRICT;
`;
const FILL_BOARDS = `
  INSERT INTO boards (name, entries, last_idx)
    SELECT board, count(*), max(idx) FROM entries WHERE stroke_id IS NOT NULL GROUP BY board;
`;
// json_remove keeps the other keys in order.
const STRIP_STROKE_IDS = `
  UPDATE entries SET body = json_remove(body, '$.stroke.id')
    WHERE stroke_id IS NOT NULL AND body LIKE '${STROKE_BODY}%';
`;

/** The SQL that takes a database of schema N to N + 1 (a new database gets `SCHEMA` at once). */
const MIGRATIONS: Record<number, string> = {
  1: `${BOARDS_SCHEMA} ${FILL_BOARDS}`,
  2: STRIP_STROKE_IDS,
};

// `entries.body` is the payload as applied, in JSON (`{"stroke":{...}}`
// without the stroke's id, `{"erase":{...}}`, `{"noop":true}`); `board` and
// `stroke_id` are set for a stroke or op applied as such, and their unique
// index is the de-duplication index: (board, id) -> the first index (one
// b-tree insert per stroke instead of a second table). `boards` counts what
// each board holds, updated in the same transaction, so listing boards never
// scans the history.
// `members` is the configuration of the last configuration entry applied
// (empty while none was: the bootstrap one, PEERS, is in force); a snapshot
// carries it to a follower with the rest.
const SCHEMA = `
  CREATE TABLE entries (
    idx       INTEGER PRIMARY KEY,
    term      INTEGER NOT NULL,
    board     TEXT,
    stroke_id TEXT,
    body      TEXT NOT NULL
  ) STRICT;
  CREATE UNIQUE INDEX entries_by_stroke ON entries (board, stroke_id)
    WHERE stroke_id IS NOT NULL;
  CREATE TABLE applied (
    one  INTEGER PRIMARY KEY CHECK (one = 1),
    idx  INTEGER NOT NULL,
    term INTEGER NOT NULL
  ) STRICT;
  INSERT INTO applied (one, idx, term) VALUES (1, 0, 0);
  CREATE TABLE members (
    id    TEXT PRIMARY KEY,
    url   TEXT NOT NULL,
    voter INTEGER NOT NULL
  ) STRICT;
  ${BOARDS_SCHEMA}
`;

/** A state database that cannot be used (newer schema, inconsistent content). */
export class StateDbError extends Error {}

/** Applied entries on disk and the waiters for new ones. */
export class StateDb {
  #db!: DatabaseSync;
  #insertEntry!: StatementSync;
  #insertStroke!: StatementSync;
  #findStroke!: StatementSync;
  #page!: StatementSync;
  #termAt!: StatementSync;
  #setApplied!: StatementSync;
  #insertMember!: StatementSync;
  #countBoard!: StatementSync;
  #listBoards!: StatementSync;
  #begin!: StatementSync;
  #commit!: StatementSync;
  #applied = 0;
  #wakeups = new Set<() => void>();
  /** Entries applied by this process (a restart that re-applied its history would show here). */
  appliedSinceOpen = 0;

  /** Opens (or creates) the database at `path`; ":memory:" for one that lives in the process. */
  constructor(readonly path: string) {
    this.#open();
  }

  #open(): void {
    this.#db = new DatabaseSync(this.path);
    // WAL: one append per batch, and readers (`/entries`) never block the
    // apply. synchronous=NORMAL: a commit survives a process crash at once
    // but a power loss may roll back the last batches (to a batch boundary:
    // the WAL is checksummed). That is enough because the Raft log, fsynced
    // before anything is applied, is the durable record of committed
    // entries: a restart hands the core the applied index the database
    // kept, and the core re-delivers the rest from the log. FULL would add
    // an fsync per applied batch to the hot path for nothing the log does
    // not already guarantee. The automatic checkpoint (every ~4 MiB of WAL)
    // still fsyncs, synchronously on the apply path: a few milliseconds now
    // and then (7 ms at most over 5,000 one-entry batches on this machine).
    // Before compaction drops the log's copy of applied entries, `makeDurable`
    // fsyncs what the database holds, since the log no longer can re-deliver it.
    this.#db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL");
    this.#migrate();
    this.#insertEntry = this.#db.prepare(
      "INSERT INTO entries (idx, term, board, body) VALUES (?, ?, ?, ?)",
    );
    // Ignores only a (board, stroke_id) already there: the index is checked in order just before.
    this.#insertStroke = this.#db.prepare(
      "INSERT INTO entries (idx, term, board, stroke_id, body) VALUES (?, ?, ?, ?, ?) " +
        "ON CONFLICT (board, stroke_id) WHERE stroke_id IS NOT NULL DO NOTHING",
    );
    this.#findStroke = this.#db.prepare(
      "SELECT idx FROM entries WHERE board = ? AND stroke_id = ? AND stroke_id IS NOT NULL",
    );
    this.#page = this.#db.prepare(
      "SELECT idx, term, stroke_id, body FROM entries WHERE idx >= ? ORDER BY idx LIMIT ?",
    );
    this.#termAt = this.#db.prepare("SELECT term FROM entries WHERE idx = ?");
    this.#setApplied = this.#db.prepare("UPDATE applied SET idx = ?, term = ? WHERE one = 1");
    this.#insertMember = this.#db.prepare("INSERT INTO members (id, url, voter) VALUES (?, ?, ?)");
    this.#countBoard = this.#db.prepare(
      "INSERT INTO boards (name, entries, last_idx) VALUES (?, ?, ?) " +
        "ON CONFLICT (name) DO UPDATE SET entries = entries + excluded.entries, " +
        "last_idx = excluded.last_idx",
    );
    this.#listBoards = this.#db.prepare(
      "SELECT name, entries, last_idx FROM boards ORDER BY last_idx DESC LIMIT ?",
    );
    this.#begin = this.#db.prepare("BEGIN IMMEDIATE");
    this.#commit = this.#db.prepare("COMMIT");
    this.#applied = this.#readApplied();
  }

  /** Index of the last applied entry. */
  lastIndex(): number {
    return this.#applied;
  }

  /** Term of the applied entry at `index`, undefined when there is none. */
  termAt(index: number): number | undefined {
    const row = this.#termAt.get(index) as { term: number } | undefined;
    return row?.term;
  }

  /** Index where the stroke or op (its id on its board) was first committed, if it was. */
  indexOf(stroke: Pick<Stroke, "id" | "board">): number | undefined {
    const row = this.#findStroke.get(stroke.board ?? DEFAULT_BOARD, stroke.id) as
      | { idx: number }
      | undefined;
    return row?.idx;
  }

  /** Applies committed entries in order, in one transaction; returns them as applied. */
  apply(entries: LogEntry[]): LogEntry[] {
    if (entries.length === 0) return [];
    const out: LogEntry[] = [];
    let last = this.#applied;
    // Per board: entries filed and the last one's index, written once per batch.
    const filed = new Map<string, { entries: number; last: number }>();
    this.#begin.run();
    try {
      for (const e of entries) {
        if (e.index !== last + 1) {
          throw new Error(`apply of ${e.index} after ${last}: entries out of order`);
        }
        out.push(this.#applyOne(e, filed));
        last = e.index;
      }
      for (const [board, f] of filed) this.#countBoard.run(board, f.entries, f.last);
      const end = entries[entries.length - 1];
      this.#setApplied.run(end.index, end.term);
      this.#commit.run();
    } catch (e) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw e;
    }
    this.#applied = last;
    this.appliedSinceOpen += out.length;
    this.#wake();
    return out;
  }

  /** Boards with committed strokes or ops, most recently active first, at most `limit`. */
  boards(limit: number): BoardSummary[] {
    const rows = this.#listBoards.all(limit) as {
      name: string;
      entries: number;
      last_idx: number;
    }[];
    return rows.map((r) => ({ name: r.name, entries: r.entries, lastIndex: r.last_idx }));
  }

  /** The configuration of the last configuration entry applied; undefined while none was. */
  members(): Member[] | undefined {
    return readMembers(this.#db);
  }

  /** The configuration a database file holds (a staged snapshot), read without opening it for writes. */
  static membersIn(path: string): Member[] | undefined {
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      return readMembers(db);
    } finally {
      db.close();
    }
  }

  /** Applied entries from index `from` on, at most `limit`. */
  entries(from: number, limit: number): LogEntry[] {
    return this.#rows(from, limit).map((r) => ({
      index: r.idx,
      term: r.term,
      ...JSON.parse(withId(r.body, r.stroke_id)),
    }));
  }

  /**
   * The text of `JSON.stringify(this.entries(from, limit))`, made from the stored bodies
   * without decoding them: `/entries` is the busiest read (every gateway's long poll and
   * replays), and decoding each page only to encode it again made twice its size in garbage.
   * A body is the payload's JSON object without index and term, which go first as `entries`
   * puts them. The page ends with the entry that takes its text to `maxBytes` (UTF-16 units,
   * at most its UTF-8 bytes and at least a third of them).
   */
  entriesJson(from: number, limit: number, maxBytes = Infinity): string {
    const parts: string[] = [];
    let length = 0;
    for (const r of this.#rows(from, limit)) {
      const body = withId(r.body, r.stroke_id);
      const part = `{"index":${r.idx},"term":${r.term}${body === "{}" ? "}" : `,${body.slice(1)}`}`;
      parts.push(part);
      length += part.length;
      if (length >= maxBytes) break;
    }
    return `[${parts.join(",")}]`;
  }

  #rows(from: number, limit: number): Row[] {
    return this.#page.all(Math.max(from, 1), limit) as unknown as Row[];
  }

  /**
   * Checks the database against the Raft log it restarts with (`logTermAt`:
   * the term of the log's entry at an index, undefined past its end). Every
   * applied entry was durable in this log before it was applied, so a log
   * that lacks the last applied entry, or holds another one there, is not
   * the log this database was derived from (a lost or replaced log): the
   * database is emptied, to be derived again. Returns true when it was.
   */
  reconcile(logTermAt: (index: number) => number | undefined): boolean {
    if (this.#applied === 0 || logTermAt(this.#applied) === this.termAt(this.#applied)) {
      return false;
    }
    this.#begin.run();
    try {
      this.#db.exec("DELETE FROM entries; DELETE FROM members; DELETE FROM boards");
      this.#setApplied.run(0, 0);
      this.#commit.run();
    } catch (e) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw e;
    }
    this.#applied = 0;
    return true;
  }

  /** Resolves when an entry at or past `index` is applied, or after `waitMs`, or on abort. */
  waitFor(index: number, waitMs: number, signal?: AbortSignal): Promise<void> {
    if (this.#applied >= index || waitMs <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wakeups.delete(check);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const check = () => {
        if (this.#applied >= index) done();
      };
      const timer = setTimeout(done, waitMs);
      signal?.addEventListener("abort", done);
      this.#wakeups.add(check);
    });
  }

  /**
   * Makes every applied batch durable (the log prefix that held them is about
   * to be dropped): fsyncs the WAL, which holds every commit not yet
   * checkpointed, and the database file, which holds the checkpointed ones
   * (NORMAL fsyncs it after each complete checkpoint; this covers a partial one).
   */
  async makeDurable(): Promise<void> {
    for (const file of [this.path, `${this.path}-wal`]) {
      let handle: Deno.FsFile;
      try {
        handle = await Deno.open(file, { read: true, write: true });
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) continue;
        throw e;
      }
      try {
        await handle.syncData();
      } finally {
        handle.close();
      }
    }
  }

  /**
   * Replaces the database by `staged`, a complete and fsynced copy of the
   * leader's database as of `index` (a snapshot). The old WAL is folded in
   * and removed first: a WAL left beside a renamed file would be replayed
   * into it. The rename is atomic; the directory is fsynced after it.
   * Synchronous on purpose: no request may reach the database while it is
   * closed between the two.
   */
  install(staged: string, point: SnapshotPoint): void {
    this.#db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    this.#db.close();
    for (const leftover of [`${this.path}-wal`, `${this.path}-shm`]) {
      try {
        Deno.removeSync(leftover);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
    }
    Deno.renameSync(staged, this.path);
    const dir = Deno.openSync(parentOf(this.path));
    try {
      dir.syncDataSync();
    } finally {
      dir.close();
    }
    this.#open();
    if (this.#applied !== point.index) {
      throw new StateDbError(`installed snapshot holds ${this.#applied}, expected ${point.index}`);
    }
    this.#wake();
  }

  /**
   * Removes a staged snapshot file that was not installed. Nothing waits on
   * it: a file left by a failure is removed at the next start (open_state.ts).
   */
  discard(staged: string): void {
    removeIfPresent(staged).catch(() => {});
  }

  /** Closes the database (what is committed stays). */
  close(): void {
    this.#db.close();
  }

  #applyOne(e: LogEntry, filed: Map<string, { entries: number; last: number }>): LogEntry {
    const { index, term, ...payload } = e;
    if ("config" in e) {
      this.#db.exec("DELETE FROM members");
      for (const m of e.config.members) this.#insertMember.run(m.id, m.url, m.voter ? 1 : 0);
    }
    const key = boardKeyOf(e);
    if (key === null) {
      this.#insertEntry.run(index, term, null, JSON.stringify(payload));
      return e;
    }
    const board = key.board ?? DEFAULT_BOARD;
    const body = JSON.stringify(storedPayload(payload));
    if (this.#insertStroke.run(index, term, board, key.id, body).changes === 1) {
      const f = filed.get(board);
      if (f) {
        f.entries++;
        f.last = index;
      } else filed.set(board, { entries: 1, last: index });
      return e;
    }
    // A (board, id) committed before: a no-op at this index, on every replica alike.
    this.#insertEntry.run(index, term, board, '{"noop":true}');
    return { index, term, noop: true };
  }

  #wake(): void {
    for (const check of [...this.#wakeups]) check();
  }

  #migrate(): void {
    const { user_version: version } = this.#db.prepare("PRAGMA user_version").get() as {
      user_version: number;
    };
    if (version === SCHEMA_VERSION) return;
    if (version < 0 || version > SCHEMA_VERSION) {
      throw new StateDbError(
        `state database has schema ${version}; this replica knows ${SCHEMA_VERSION}`,
      );
    }
    if (version > 0) {
      // One step per version, each in its own transaction, so any older database comes up.
      for (let v = version; v < SCHEMA_VERSION; v++) {
        this.#db.exec(`BEGIN IMMEDIATE; ${MIGRATIONS[v]} PRAGMA user_version = ${v + 1}; COMMIT`);
      }
      return;
    }
    this.#db.exec(`BEGIN IMMEDIATE; ${SCHEMA} PRAGMA user_version = ${SCHEMA_VERSION}; COMMIT`);
  }

  #readApplied(): number {
    const row = this.#db.prepare(
      "SELECT a.idx AS idx, (SELECT coalesce(max(idx), 0) FROM entries) AS last FROM applied a",
    ).get() as { idx: number; last: number } | undefined;
    if (!row || row.idx !== row.last) {
      throw new StateDbError(
        `state database is inconsistent: applied ${row?.idx} but entries end at ${row?.last}`,
      );
    }
    return row.idx;
  }
}

/** The board and id a stroke or op entry is filed under; null for every other kind. */
function boardKeyOf(e: LogEntry): { id: string; board?: string } | null {
  if ("stroke" in e) return e.stroke;
  if ("erase" in e || "restore" in e || "clear" in e) return opOf(e);
  return null;
}

/** What is stored of a payload: a stroke without its id (the `stroke_id` column holds it). */
function storedPayload(payload: EntryPayload): unknown {
  if (!("stroke" in payload)) return payload;
  const { id: _id, ...rest } = payload.stroke;
  return { stroke: rest };
}

/** A row of a page of entries. */
interface Row {
  idx: number;
  term: number;
  stroke_id: string | null;
  body: string;
}

/** The payload's JSON of a stored body: a stroke's id goes back in, first among its keys. */
function withId(body: string, strokeId: string | null): string {
  if (strokeId === null || !body.startsWith(STROKE_BODY)) return body;
  const rest = body.slice(STROKE_BODY.length);
  return `${STROKE_BODY}"id":${JSON.stringify(strokeId)}${rest.startsWith("}") ? "" : ","}${rest}`;
}

function readMembers(db: DatabaseSync): Member[] | undefined {
  const rows = db.prepare("SELECT id, url, voter FROM members ORDER BY rowid").all() as {
    id: string;
    url: string;
    voter: number;
  }[];
  return rows.length === 0
    ? undefined
    : rows.map((r) => ({ id: r.id, url: r.url, voter: r.voter === 1 }));
}
