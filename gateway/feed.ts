/**
 * One session's stream of committed strokes: a cursor into the log and no queue. The cursor is
 * a log index: every stroke of the board at or below it has been sent, none above it. Each
 * step sends the board's strokes of the next range (cursor, through] and moves the cursor to
 * `through`, from whichever source has that range: the recent cache while the session is in
 * step, a replica's `/entries` while it is behind the cache (a replay from an old `since`, a
 * slow reader). Ranges follow each other, so the hand-over from replica to cache (and back,
 * when the log outruns a slow reader) can neither skip nor repeat a stroke, whichever replica
 * serves the page: committed entries are the same on all of them. A session never holds more
 * than one page; a socket that stops draining is closed and resumes with `since`.
 */
import type { BoardEntry, LogEntry, ServerMessage } from "../protocol/mod.ts";
import { boardEntryOf } from "./recent_cache.ts";
import { backoffMs } from "./retry.ts";
import { CloseCode } from "./session_limits.ts";
import type { Session } from "./sessions.ts";

/** Longest wait before asking the replicas again for a page none of them had. */
const MAX_RETRY_MS = 1000;

/** The committed-stroke stream of one session. */
export class StrokeFeed {
  #cursor: number;
  #reading = false;
  #retries = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #drainTimer: ReturnType<typeof setTimeout> | undefined;
  #stalledSinceMs: number | null = null;
  readonly #stop = new AbortController();

  constructor(readonly session: Session, since: number) {
    this.#cursor = since;
  }

  /** Every stroke of the board at or below this index has been sent. */
  get cursor(): number {
    return this.#cursor;
  }

  /** Sends what the client lacks while its socket drains; returns when in step or waiting. */
  pump(): void {
    if (this.#busy()) return;
    const { hub, ws, board } = this.session;
    const { stream, limits } = hub.deps;
    while (this.#cursor < stream.lastIndex) {
      if (ws.bufferedAmount >= limits.sendHighWaterBytes) return this.#waitForDrain();
      const got = stream.cache.read(board, this.#cursor, limits.maxEntriesPerMessage);
      if (got === null) return this.#readHistory();
      const after = this.#cursor;
      this.#cursor = got.through;
      if (got.entries.length === 0) continue;
      if (!this.session.sendText(hub.encodedBatch(board, after, got.entries))) return;
    }
  }

  /** The session closed: drop timers and any page in flight. */
  stop(): void {
    this.#stop.abort();
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#drainTimer);
  }

  #busy(): boolean {
    return this.session.isClosed || this.#reading || this.#retryTimer !== undefined ||
      this.#drainTimer !== undefined;
  }

  /** The next range is older than the cache: one page from a replica, then on. */
  #readHistory(): void {
    this.#reading = true;
    const from = this.#cursor + 1;
    this.session.hub.deps.history.page(from, this.#stop.signal).then(
      (entries) => {
        this.#reading = false;
        if (this.session.isClosed) return;
        if (entries.length === 0) return this.#retryLater();
        this.#retries = 0;
        this.session.guard(() => {
          this.#sendPage(from, entries);
          this.pump();
        });
      },
      () => {
        this.#reading = false; // aborted: the session is closed
      },
    );
  }

  /**
   * Sends the board's strokes of a page that starts at `from`. At the high-water mark the rest
   * of the page is dropped and the cursor stays after the last stroke sent: it is read again
   * once the client drains, so nothing is held for a slow client.
   */
  #sendPage(from: number, page: LogEntry[]): void {
    const { ws, board } = this.session;
    const { limits } = this.session.hub.deps;
    const mine: BoardEntry[] = [];
    for (const e of page) {
      const filed = boardEntryOf(e);
      if (filed?.board === board) mine.push(filed.entry);
    }
    for (let sent = 0; sent < mine.length; sent += limits.maxEntriesPerMessage) {
      if (sent > 0 && ws.bufferedAmount >= limits.sendHighWaterBytes) return;
      const entries = mine.slice(sent, sent + limits.maxEntriesPerMessage);
      this.#cursor = entries[entries.length - 1].index;
      const msg: ServerMessage = { type: "strokes", entries };
      if (!this.session.sendText(JSON.stringify(msg))) return;
    }
    this.#cursor = from - 1 + page.length;
  }

  /** No replica had the page (all down or behind): ask again shortly. */
  #retryLater(): void {
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.session.guard(() => this.pump());
    }, backoffMs(this.#retries++, MAX_RETRY_MS));
  }

  #waitForDrain(): void {
    const { limits } = this.session.hub.deps;
    this.#stalledSinceMs ??= performance.now();
    this.#drainTimer = setTimeout(() => {
      this.#drainTimer = undefined;
      if (this.session.isClosed) return;
      if (this.session.ws.bufferedAmount < limits.sendHighWaterBytes) {
        this.#stalledSinceMs = null;
        return this.session.guard(() => this.pump());
      }
      if (performance.now() - (this.#stalledSinceMs ?? 0) >= limits.slowClientTimeoutMs) {
        return this.session.close(CloseCode.tryAgainLater, "too slow: reconnect with since");
      }
      this.#waitForDrain();
    }, limits.drainCheckMs);
  }
}
