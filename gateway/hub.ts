/**
 * All sessions of the gateway, grouped by board: opens and forgets them, wakes them when
 * strokes commit, and encodes each batch once for every session in step.
 */
import type { ClusterStatus, CommittedStroke, ServerMessage, Stroke } from "../protocol/mod.ts";
import type { CommitStream } from "./commit_stream.ts";
import type { HistoryReader } from "./history_reader.ts";
import type { Logger } from "../common/log.ts";
import type { SessionLimits } from "./session_limits.ts";
import { Session } from "./sessions.ts";
import type { GatewayMetrics } from "./metrics.ts";

/** What sessions need from the rest of the gateway. */
export interface HubDeps {
  stream: Pick<CommitStream, "cache" | "lastIndex" | "caughtUp">;
  /** Where sessions behind the recent cache read the history from. */
  history: Pick<HistoryReader, "page">;
  proposer: { submit(stroke: Stroke): Promise<number> };
  log: Logger;
  limits: SessionLimits;
  /** Sent to each client after its hello, then on every leader change. */
  clusterStatus: () => ClusterStatus;
  /**
   * How long a session with a `since` beyond the gateway's log waits for it before its hello
   * says so (only once the gateway is caught up: the history may really be shorter).
   */
  helloGraceMs?: number;
  /** Absent in tests that build a hub alone. */
  metrics?: GatewayMetrics;
}

/** Encoded batches kept per board; sessions in step hit the newest, a lagging one its own. */
const ENCODED_BATCHES_PER_BOARD = 8;

/** The sessions of one gateway. */
export class Hub {
  readonly #boards = new Map<string, Set<Session>>();
  /** Board to `after:last` (the batch of its strokes in that range) to its `strokes` message. */
  readonly #encoded = new Map<string, Map<string, string>>();
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

  /** Registers an open socket; the session sends `hello` and the replay after `since`. */
  open(ws: WebSocket, board: string, since: number): Session {
    const session = new Session(this, ws, `${this.#prefix}-${this.#nextId++}`, board, since);
    let set = this.#boards.get(board);
    if (!set) this.#boards.set(board, set = new Set());
    set.add(session);
    this.#count++;
    this.deps.metrics?.connections.inc();
    session.start();
    return session;
  }

  /** Forgets a session (idempotent). */
  remove(session: Session): void {
    this.#waiting.delete(session);
    const set = this.#boards.get(session.board);
    if (!set?.delete(session)) return;
    this.#count--;
    if (set.size === 0) {
      this.#boards.delete(session.board);
      this.#encoded.delete(session.board);
    }
  }

  /** The session waits for the gateway to take in more of the log before its hello. */
  waitToGreet(session: Session, waiting: boolean): void {
    if (waiting) this.#waiting.add(session);
    else this.#waiting.delete(session);
  }

  /**
   * The `strokes` message of a board's strokes after index `after`, encoded once for every
   * session that sends the same batch (a board's strokes in a range of the log never change).
   */
  encodedBatch(board: string, after: number, entries: readonly CommittedStroke[]): string {
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
