/**
 * Per-client WebSocket state: replay then live stream from a cursor into the board's committed
 * strokes (no per-client queue), backpressure on `bufferedAmount`, input validation and a rate
 * limit. Sessions that are in step share one encoding of each batch. Nothing here throws out of
 * a socket handler; a failing session is closed alone.
 */
import {
  type ClusterStatus,
  type CommittedStroke,
  decodeClientMessage,
  ErrorCode,
  parseJson,
  PROTOCOL_VERSION,
  refusalCode,
  type ServerMessage,
  type Stroke,
  strokeIdOf,
} from "../protocol/mod.ts";
import type { CommitStream } from "./commit_stream.ts";
import type { Logger } from "../common/log.ts";
import { ProposeRefused } from "./proposer.ts";
import { TokenBucket } from "./rate_limit.ts";

/** Per-client limits; sizes in bytes, times in milliseconds. */
export interface SessionLimits {
  maxMessageBytes: number;
  /** Strokes are streamed only while the socket buffers less than this. */
  sendHighWaterBytes: number;
  /** Any send beyond this closes the socket at once. */
  maxBufferedBytes: number;
  /** A client stuck above the high-water mark this long is closed (it resumes with `since`). */
  slowClientTimeoutMs: number;
  drainCheckMs: number;
  maxEntriesPerMessage: number;
  messagesPerSec: number;
  messageBurst: number;
  /** Refused messages allowed before a flooding client is closed. */
  refusalsPerSec: number;
  refusalBurst: number;
}

/** Defaults for production. */
export const DEFAULT_LIMITS: SessionLimits = {
  maxMessageBytes: 64 * 1024,
  sendHighWaterBytes: 1024 * 1024,
  maxBufferedBytes: 8 * 1024 * 1024,
  slowClientTimeoutMs: 5000,
  drainCheckMs: 50,
  maxEntriesPerMessage: 500,
  messagesPerSec: 500,
  messageBurst: 1000,
  refusalsPerSec: 500,
  refusalBurst: 2000,
};

/** What sessions need from the rest of the gateway. */
export interface HubDeps {
  stream: Pick<CommitStream, "board" | "lastIndex">;
  proposer: { submit(stroke: Stroke): Promise<number> };
  log: Logger;
  limits: SessionLimits;
  /** Sent to each client after its first replay batch, then on every leader change. */
  clusterStatus: () => ClusterStatus;
}

/** WebSocket close codes used here (RFC 6455 section 7.4.1). */
export const CloseCode = {
  goingAway: 1001,
  policy: 1008,
  tooBig: 1009,
  internal: 1011,
  tryAgainLater: 1013,
} as const;

/** Encoded batches kept per board; sessions in step hit the newest, a lagging one its own. */
const ENCODED_BATCHES_PER_BOARD = 8;

/** All sessions of the gateway, grouped by board. */
export class Hub {
  readonly #boards = new Map<string, Set<Session>>();
  /** Board to `start:end` positions to the encoded `strokes` message of that slice. */
  readonly #encoded = new Map<string, Map<string, string>>();
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

  /** Registers an open socket and sends `hello` and the replay after `since`. */
  open(ws: WebSocket, board: string, since: number): Session {
    const session = new Session(this, ws, `${this.#prefix}-${this.#nextId++}`, board, since);
    let set = this.#boards.get(board);
    if (!set) this.#boards.set(board, set = new Set());
    set.add(session);
    this.#count++;
    session.start();
    return session;
  }

  /** Forgets a session (idempotent). */
  remove(session: Session): void {
    const set = this.#boards.get(session.board);
    if (!set?.delete(session)) return;
    this.#count--;
    if (set.size === 0) {
      this.#boards.delete(session.board);
      this.#encoded.delete(session.board);
    }
  }

  /**
   * The `strokes` message of positions [start, end) of a board's committed list, encoded once
   * for every session that sends the same slice (the list only grows at its end, so a slice's
   * encoding never changes).
   */
  encodedBatch(
    board: string,
    list: readonly CommittedStroke[],
    start: number,
    end: number,
  ): string {
    let cache = this.#encoded.get(board);
    if (!cache) this.#encoded.set(board, cache = new Map());
    const key = `${start}:${end}`;
    let text = cache.get(key);
    if (text === undefined) {
      const msg: ServerMessage = { type: "strokes", entries: list.slice(start, end) };
      text = JSON.stringify(msg);
      this.#encodings++;
      if (cache.size >= ENCODED_BATCHES_PER_BOARD) cache.delete(cache.keys().next().value!);
      cache.set(key, text);
    }
    return text;
  }

  /** New committed strokes on these boards: every session there streams what it lacks. */
  notify(boards: Set<string>): void {
    for (const board of boards) this.#boards.get(board)?.forEach((s) => s.wake());
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

/** One connected client. */
export class Session {
  #pos = 0;
  #sentIndex: number;
  #wakeQueued = false;
  #drainTimer: ReturnType<typeof setTimeout> | undefined;
  #stalledSinceMs: number | null = null;
  #closed = false;
  readonly #messages: TokenBucket;
  readonly #refusals: TokenBucket;

  constructor(
    readonly hub: Hub,
    readonly ws: WebSocket,
    readonly id: string,
    readonly board: string,
    since: number,
  ) {
    const l = hub.deps.limits;
    this.#sentIndex = since;
    this.#messages = new TokenBucket(l.messagesPerSec, l.messageBurst);
    this.#refusals = new TokenBucket(l.refusalsPerSec, l.refusalBurst);
  }

  /** Sends `hello`, starts the replay, then tells the client who leads. */
  start(): void {
    const { stream, clusterStatus } = this.hub.deps;
    this.#guard(() => {
      this.#send({
        type: "hello",
        clientId: this.id,
        board: this.board,
        commitIndex: stream.lastIndex,
        protocolVersion: PROTOCOL_VERSION,
      });
      this.#pos = firstAfter(stream.board(this.board), this.#sentIndex);
      this.#pump();
      this.#send({ type: "cluster", status: clusterStatus() });
    });
  }

  /** New strokes may be ready; several wakes in one tick make one message. */
  wake(): void {
    if (this.#wakeQueued || this.#closed) return;
    this.#wakeQueued = true;
    queueMicrotask(() => {
      this.#wakeQueued = false;
      this.#guard(() => this.#pump());
    });
  }

  /** Sends a small message that does not wait for the stroke stream (ack, error, cluster). */
  sendControl(msg: ServerMessage): void {
    this.#guard(() => this.#send(msg));
  }

  /** Handles one client message; never throws. */
  onMessage(data: unknown): void {
    this.#guard(() => this.#handle(data));
  }

  /** The peer closed the socket (or it failed). */
  onClosed(): void {
    this.#closed = true;
    clearTimeout(this.#drainTimer);
    this.hub.remove(this);
  }

  /** Closes the socket with a code and reason; logs abnormal closes once. */
  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.onClosed();
    if (code !== CloseCode.goingAway) {
      this.hub.deps.log.info("client_dropped", { client: this.id, code, reason });
    }
    try {
      this.ws.close(code, reason);
    } catch {
      // Already closing: nothing left to tell the client.
    }
  }

  #guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.hub.deps.log.error("session_failed", { client: this.id, error: String(e) });
      this.close(CloseCode.internal, "internal error");
    }
  }

  #handle(data: unknown): void {
    if (this.#closed) return;
    const { limits } = this.hub.deps;
    if (isOversize(data, limits.maxMessageBytes)) {
      return this.close(CloseCode.tooBig, `message over ${limits.maxMessageBytes} bytes`);
    }
    const parsed = typeof data === "string" ? parseJson(data) : undefined;
    const raw = parsed?.ok ? parsed.value : undefined;
    const id = strokeIdOf(raw);
    if (!this.#messages.take()) {
      if (!this.#refusals.take()) return this.close(CloseCode.policy, "rate limit exceeded");
      return this.#error(ErrorCode.rateLimited, "too many messages, slow down", id);
    }
    const msg = decodeClientMessage(raw);
    if (!msg.ok) return this.#error(refusalCode(raw), msg.error, id);
    if (msg.value.type === "stroke") this.#onStroke(msg.value.stroke);
  }

  #onStroke(checked: Stroke): void {
    const stroke: Stroke = { ...checked, board: this.board };
    this.hub.deps.proposer.submit(stroke).then(
      (index) => this.sendControl({ type: "ack", id: stroke.id, index }),
      (e: unknown) => {
        const code = e instanceof ProposeRefused ? e.code : ErrorCode.unavailable;
        this.sendControl({
          type: "error",
          id: stroke.id,
          code,
          message: String((e as Error).message),
        });
      },
    );
  }

  #error(code: string, message: string, id: string | undefined): void {
    this.#send(
      id === undefined ? { type: "error", code, message } : { type: "error", id, code, message },
    );
  }

  /** Streams from the cursor while the socket drains; stops at the high-water mark. */
  #pump(): void {
    if (this.#closed || this.#drainTimer !== undefined) return;
    const { stream, limits } = this.hub.deps;
    const list = stream.board(this.board);
    while (this.#pos < list.length) {
      if (this.ws.bufferedAmount >= limits.sendHighWaterBytes) return this.#waitForDrain();
      const end = Math.min(list.length, this.#pos + limits.maxEntriesPerMessage);
      // Entries at or below `since` can still arrive while the gateway catches up after a restart.
      let start = this.#pos;
      while (start < end && list[start].index <= this.#sentIndex) start++;
      this.#pos = end;
      if (start === end) continue;
      this.#sentIndex = list[end - 1].index;
      if (!this.#sendText(this.hub.encodedBatch(this.board, list, start, end))) return;
    }
  }

  #waitForDrain(): void {
    const { limits } = this.hub.deps;
    this.#stalledSinceMs ??= performance.now();
    this.#drainTimer = setTimeout(() => {
      this.#drainTimer = undefined;
      if (this.#closed) return;
      if (this.ws.bufferedAmount < limits.sendHighWaterBytes) {
        this.#stalledSinceMs = null;
        return this.#guard(() => this.#pump());
      }
      if (performance.now() - (this.#stalledSinceMs ?? 0) >= limits.slowClientTimeoutMs) {
        return this.close(CloseCode.tryAgainLater, "too slow: reconnect with since");
      }
      this.#waitForDrain();
    }, limits.drainCheckMs);
  }

  #send(msg: ServerMessage): boolean {
    return this.#sendText(JSON.stringify(msg));
  }

  /** False when the message could not be sent (closed, or closed now for a full buffer). */
  #sendText(text: string): boolean {
    if (this.#closed || this.ws.readyState !== WebSocket.OPEN) return false;
    if (this.ws.bufferedAmount > this.hub.deps.limits.maxBufferedBytes) {
      this.close(CloseCode.tryAgainLater, "too slow: reconnect with since");
      return false;
    }
    this.ws.send(text);
    return true;
  }
}

/** Position of the first entry with an index above `since` (binary search; indexes ascend). */
export function firstAfter(list: readonly CommittedStroke[], since: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid].index <= since) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function isOversize(data: unknown, maxBytes: number): boolean {
  if (typeof data === "string") {
    // Each UTF-16 unit is at least one UTF-8 byte: encode only when the length leaves doubt.
    return data.length > maxBytes ||
      (data.length * 3 > maxBytes && new TextEncoder().encode(data).length > maxBytes);
  }
  if (data instanceof ArrayBuffer) return data.byteLength > maxBytes;
  if (data instanceof Blob) return data.size > maxBytes;
  return false;
}
