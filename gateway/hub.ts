/**
 * All sessions of the gateway, grouped by board: opens and forgets them, wakes them when
 * entries commit, encodes each batch once for every session in step, and relays presence
 * (each client's last cursor) between the clients of a board, outside the log.
 */
import type { BoardEntry, ClusterStatus, ProposalItem, ServerMessage } from "../protocol/mod.ts";
import type { CommitStream } from "./commit_stream.ts";
import type { HistoryReader } from "./history_reader.ts";
import type { Logger } from "../common/log.ts";
import type { SessionLimits } from "./session_limits.ts";
import { Session, type SessionIdentity } from "./sessions.ts";
import { colorFor, displayName } from "./presence.ts";

/** What sessions need from the rest of the gateway. */
export interface HubDeps {
  stream: Pick<CommitStream, "cache" | "lastIndex" | "caughtUp">;
  /** Where sessions behind the recent cache read the history from. */
  history: Pick<HistoryReader, "page">;
  proposer: { submitItem(item: ProposalItem): Promise<number> };
  log: Logger;
  limits: SessionLimits;
  /** Sent to each client after its hello, then on every leader change. */
  clusterStatus: () => ClusterStatus;
  /**
   * How long a session with a `since` beyond the gateway's log waits for it before its hello
   * says so (only once the gateway is caught up: the history may really be shorter).
   */
  helloGraceMs?: number;
}

/** Encoded batches kept per board; sessions in step hit the newest, a lagging one its own. */
const ENCODED_BATCHES_PER_BOARD = 8;

/** The sessions of one gateway. */
export class Hub {
  readonly #boards = new Map<string, Set<Session>>();
  /** Board to `after:last` (the batch of its strokes in that range) to its `strokes` message. */
  readonly #encoded = new Map<string, Map<string, string>>();
  /** Per board, each session's last cursor as its encoded `presence` message. */
  readonly #cursors = new Map<string, Map<Session, string>>();
  /** Sessions still waiting for the gateway to reach their `since` before their hello. */
  readonly #waiting = new Set<Session>();
  readonly #prefix = crypto.randomUUID().slice(0, 8);
  #nextId = 1;
  #count = 0;
  #encodings = 0;

  constructor(readonly deps: HubDeps) {}

  /** Connected clients. */
  get clientCount(): number {
    return this.#count;
  }

  /** `strokes` messages encoded so far (each sent to one or more sessions). */
  get encodedBatches(): number {
    return this.#encodings;
  }

  /** Connected clients per board. */
  clientsByBoard(): Map<string, number> {
    return new Map([...this.#boards].map(([board, set]) => [board, set.size]));
  }

  /** The sessions on a board. */
  sessionsOn(board: string): Session[] {
    return [...this.#boards.get(board) ?? []];
  }

  /**
   * Registers an open socket; the session sends `hello` and the replay after `since`. `name`
   * is the raw `name=` (cleaned here); a view session passes its token as `helloBoard`.
   */
  open(
    ws: WebSocket,
    board: string,
    since: number,
    who: { name?: string; readOnly?: boolean; helloBoard?: string } = {},
  ): Session {
    const id = `${this.#prefix}-${this.#nextId++}`;
    const identity: SessionIdentity = {
      name: displayName(who.name, id),
      color: colorFor(id),
      readOnly: who.readOnly ?? false,
      helloBoard: who.helloBoard ?? board,
    };
    const session = new Session(this, ws, id, board, since, identity);
    let set = this.#boards.get(board);
    if (!set) this.#boards.set(board, set = new Set());
    set.add(session);
    this.#count++;
    session.start();
    return session;
  }

  /** Forgets a session (idempotent). */
  remove(session: Session): void {
    this.#waiting.delete(session);
    const set = this.#boards.get(session.board);
    if (!set?.delete(session)) return;
    this.#count--;
    const cursors = this.#cursors.get(session.board);
    cursors?.delete(session);
    if (cursors?.size === 0) this.#cursors.delete(session.board);
    if (set.size === 0) {
      this.#boards.delete(session.board);
      this.#encoded.delete(session.board);
      return;
    }
    const left: ServerMessage = { type: "left", clientId: session.id };
    for (const other of set) if (other.greeted) other.sendControl(left);
  }

  /** A client's cursor moved: every other greeted client of the board is told (or misses it if slow). */
  moveCursor(session: Session, x: number, y: number): void {
    const { name, color } = session.identity;
    const msg: ServerMessage = { type: "presence", clientId: session.id, name, color, x, y };
    const text = JSON.stringify(msg);
    let cursors = this.#cursors.get(session.board);
    if (!cursors) this.#cursors.set(session.board, cursors = new Map());
    cursors.set(session, text);
    for (const other of this.#boards.get(session.board) ?? []) {
      if (other !== session) other.sendPresence(text);
    }
  }

  /** The last cursor of every other client of the session's board, for a newcomer. */
  cursorsSeenBy(session: Session): string[] {
    const cursors = this.#cursors.get(session.board);
    return cursors ? [...cursors].filter(([s]) => s !== session).map(([, text]) => text) : [];
  }

  /** The session waits for the gateway to take in more of the log before its hello. */
  waitToGreet(session: Session, waiting: boolean): void {
    if (waiting) this.#waiting.add(session);
    else this.#waiting.delete(session);
  }

  /**
   * The `strokes` message of a board's entries after index `after`, encoded once for every
   * session that sends the same batch (a board's entries in a range of the log never change).
   */
  encodedBatch(board: string, after: number, entries: readonly BoardEntry[]): string {
    let cache = this.#encoded.get(board);
    if (!cache) this.#encoded.set(board, cache = new Map());
    const key = `${after}:${entries[entries.length - 1].index}`;
    let text = cache.get(key);
    if (text === undefined) {
      const msg: ServerMessage = { type: "strokes", entries: [...entries] };
      text = JSON.stringify(msg);
      this.#encodings++;
      if (cache.size >= ENCODED_BATCHES_PER_BOARD) cache.delete(cache.keys().next().value!);
      cache.set(key, text);
    }
    return text;
  }

  /** The gateway took in more of the log: sessions on these boards stream what they lack. */
  notify(boards: Set<string>): void {
    for (const board of boards) this.#boards.get(board)?.forEach((s) => s.wake());
    this.#waiting.forEach((s) => s.wake());
  }

  /** Sends a message to every client. */
  broadcast(msg: ServerMessage): void {
    for (const set of this.#boards.values()) set.forEach((s) => s.sendControl(msg));
  }

  /** Closes every client (gateway shutdown). */
  closeAll(code: number, reason: string): void {
    for (const set of [...this.#boards.values()]) set.forEach((s) => s.close(code, reason));
  }
}
