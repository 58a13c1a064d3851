/**
 * One client's WebSocket: its hello (once the gateway has reached its `since`), its messages
 * in (validated, rate limited, strokes and board ops to the proposer, cursors to the hub) and
 * its acks and errors out. The committed entries go out through its `StrokeFeed`. Nothing
 * here throws out of a socket handler; a failing session is closed alone.
 */
import {
  type Authorship,
  type ClientMessage,
  decodeClientMessage,
  ErrorCode,
  parseJson,
  type ProposalItem,
  PROTOCOL_VERSION,
  refusalCode,
  type ServerMessage,
  strokeIdOf,
} from "../protocol/mod.ts";
import { StrokeFeed } from "./feed.ts";
import type { Hub } from "./hub.ts";
import { ProposeRefused } from "./proposer.ts";
import { TokenBucket } from "./rate_limit.ts";
import { CloseCode } from "./session_limits.ts";

/** Acks and errors held for a client that has no hello yet; more closes it. */
const MAX_HELD_MESSAGES = 1000;
/** Default of `HubDeps.helloGraceMs`. */
const HELLO_GRACE_MS = 3000;
/** Recent groups whose first stroke carried the authorship. */
const MAX_STAMPED_GROUPS = 64;

/** Who the client is and what it may do. */
export interface SessionIdentity {
  /** The name and colour others see with its cursor. */
  name: string;
  color: string;
  /** A view-only session: edits are refused, presence flows. */
  readOnly: boolean;
  /** What `hello.board` says (a view session is told its token, never the board name). */
  helloBoard: string;
}

/** One connected client. */
export class Session {
  readonly #feed: StrokeFeed;
  #greeted = false;
  #held: ServerMessage[] = [];
  readonly #openedAtMs = performance.now();
  #graceTimer: ReturnType<typeof setTimeout> | undefined;
  #wakeQueued = false;
  #closed = false;
  readonly #messages: TokenBucket;
  readonly #refusals: TokenBucket;
  readonly #cursors: TokenBucket;
  readonly #droppedCursors: TokenBucket;
  /** The last op submitted and not settled: later items wait for it (they must commit after). */
  #barrier: Promise<unknown> | null = null;
  /** Strokes submitted since that op: the next op waits for them (it may undo them). */
  readonly #sinceBarrier = new Set<Promise<unknown>>();
  readonly #stampedGroups = new Set<string>();

  constructor(
    readonly hub: Hub,
    readonly ws: WebSocket,
    readonly id: string,
    readonly board: string,
    readonly since: number,
    readonly identity: SessionIdentity,
  ) {
    const l = hub.deps.limits;
    this.#feed = new StrokeFeed(this, since);
    this.#messages = new TokenBucket(l.messagesPerSec, l.messageBurst);
    this.#refusals = new TokenBucket(l.refusalsPerSec, l.refusalBurst);
    this.#cursors = new TokenBucket(l.cursorsPerSec, l.cursorBurst);
    this.#droppedCursors = new TokenBucket(l.droppedCursorsPerSec, l.droppedCursorBurst);
  }

  /** True once `hello` was sent (presence goes only to greeted clients). */
  get greeted(): boolean {
    return this.#greeted;
  }

  /** Its stream of committed strokes (tests read its cursor). */
  get feed(): StrokeFeed {
    return this.#feed;
  }

  /** True once the socket is closed or being closed. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** Sends `hello` as soon as the gateway has reached `since`, then the replay. */
  start(): void {
    this.guard(() => this.#greetWhenReady());
  }

  /** The log moved on; several wakes in one tick make one pass. */
  wake(): void {
    if (this.#wakeQueued || this.#closed) return;
    this.#wakeQueued = true;
    queueMicrotask(() => {
      this.#wakeQueued = false;
      this.guard(() => this.#greeted ? this.#feed.pump() : this.#greetWhenReady());
    });
  }

  /**
   * `hello.commitIndex` must never be below `since`, so a gateway behind `since` (restarted,
   * or a step behind another gateway) waits. A `since` past the cluster's whole history is
   * told so (hello below it, and the page starts over) once the gateway is caught up and
   * has waited a grace period.
   */
  #greetWhenReady(): void {
    if (this.#greeted || this.#closed) return;
    const { stream, clusterStatus } = this.hub.deps;
    const graceMs = this.hub.deps.helloGraceMs ?? HELLO_GRACE_MS;
    const waitedMs = performance.now() - this.#openedAtMs;
    if (stream.lastIndex < this.since && !(stream.caughtUp && waitedMs >= graceMs)) {
      this.hub.waitToGreet(this, true);
      this.#graceTimer ??= setTimeout(() => this.wake(), Math.max(0, graceMs - waitedMs));
      return;
    }
    this.hub.waitToGreet(this, false);
    clearTimeout(this.#graceTimer);
    this.#greeted = true;
    const { name, color, readOnly, helloBoard } = this.identity;
    this.#send({
      type: "hello",
      clientId: this.id,
      board: helloBoard,
      commitIndex: stream.lastIndex,
      protocolVersion: PROTOCOL_VERSION,
      name,
      color,
      ...(readOnly ? { readOnly } : {}),
    });
    this.#feed.pump();
    for (const msg of this.#held) this.#send(msg);
    this.#held = [];
    this.#send({ type: "cluster", status: clusterStatus() });
    for (const text of this.hub.cursorsSeenBy(this)) this.sendPresence(text);
  }

  /** Sends a small message that does not wait for the stroke stream (ack, error, cluster). */
  sendControl(msg: ServerMessage): void {
    if (msg.type === "error") this.hub.deps.metrics?.refused.inc({ code: msg.code });
    this.guard(() => {
      if (this.#greeted) return this.#send(msg);
      // Nothing may precede the hello; the cluster view is sent fresh right after it.
      if (msg.type === "cluster") return;
      if (this.#held.push(msg) > MAX_HELD_MESSAGES) {
        this.close(CloseCode.tryAgainLater, "too many messages before hello");
      }
    });
  }

  /** Handles one client message; never throws. */
  onMessage(data: unknown): void {
    this.hub.deps.metrics?.messagesIn.inc();
    this.guard(() => this.#handle(data));
  }

  /** The peer closed the socket (or it failed). */
  onClosed(): void {
    this.#closed = true;
    clearTimeout(this.#graceTimer);
    this.#feed.stop();
    this.hub.remove(this);
  }

  /** Closes the socket with a code and reason; logs abnormal closes once. */
  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.onClosed();
    if (code !== CloseCode.goingAway) {
      this.hub.deps.metrics?.closed.inc({ code: String(code) });
      this.hub.deps.log.info("client_dropped", { client: this.id, code, reason });
    }
    try {
      this.ws.close(code, reason);
    } catch {
      // Already closing: nothing left to tell the client.
    }
  }

  /** Runs `fn`; an exception closes this session alone. */
  guard(fn: () => void): void {
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
    const m = msg.value;
    if (m.type === "cursor") return this.#onCursor(m.x, m.y);
    if (m.type === "ping") return;
    if (this.identity.readOnly) {
      return this.#error(ErrorCode.readOnly, "this is a view-only session", id);
    }
    this.#onEdit(m);
  }

  /** Fans the cursor out at most at the allowed rate; a client flooding far beyond is closed. */
  #onCursor(x: number, y: number): void {
    if (this.#cursors.take()) return this.hub.moveCursor(this, x, y);
    if (!this.#droppedCursors.take()) this.close(CloseCode.policy, "cursor flood");
  }

  /** A stroke or op, with the socket's board, to the proposer in the order this client sent them. */
  #onEdit(m: Exclude<ClientMessage, { type: "cursor" | "ping" }>): void {
    const board = this.board;
    const item: ProposalItem = m.type === "stroke"
      ? { stroke: { ...m.stroke, board, ...this.#authorshipOf(m.stroke.group) } }
      : m.type === "erase"
      ? { erase: { id: m.id, targets: m.targets, board, ...this.#authorshipOf() } }
      : m.type === "restore"
      ? { restore: { id: m.id, targets: m.targets, board, ...this.#authorshipOf() } }
      : { clear: { id: m.id, board, ...this.#authorshipOf() } };
    const id = m.type === "stroke" ? m.stroke.id : m.id;
    this.#submitInOrder(item, m.type !== "stroke").then(
      (index) => this.sendControl({ type: "ack", id, index }),
      (e: unknown) => {
        const code = e instanceof ProposeRefused ? e.code : ErrorCode.unavailable;
        this.sendControl({ type: "error", id, code, message: String((e as Error).message) });
      },
    );
  }

  /**
   * Who and when, for history replay: on every op and on the first stroke of each group this
   * session sends (a group's later segments share it, and 30 bytes per segment add up).
   */
  #authorshipOf(group?: string): Authorship {
    if (group !== undefined) {
      if (this.#stampedGroups.has(group)) return {};
      // Groups arrive one after another: remembering the recent ones is enough.
      if (this.#stampedGroups.size >= MAX_STAMPED_GROUPS) this.#stampedGroups.clear();
      this.#stampedGroups.add(group);
    }
    return { by: this.identity.name, at: Date.now() };
  }

  /**
   * Batches commit in any order, so order is kept here: an op is submitted once everything
   * this client sent before it has settled (a stroke then its undo never commit the other way
   * round), and whatever comes after an op waits for the op. Strokes between ops still
   * pipeline. A retry after a reconnect is a new session, but the client resends in order.
   */
  #submitInOrder(item: ProposalItem, isOp: boolean): Promise<number> {
    const { proposer } = this.hub.deps;
    const submit = () => proposer.submitItem(item);
    if (!isOp) {
      const p = this.#barrier ? this.#barrier.then(submit) : submit();
      const settled = p.then(noop, noop);
      this.#sinceBarrier.add(settled);
      void settled.then(() => this.#sinceBarrier.delete(settled));
      return p;
    }
    const before = [...this.#sinceBarrier, ...(this.#barrier ? [this.#barrier] : [])];
    this.#sinceBarrier.clear();
    const p = Promise.all(before).then(submit);
    const barrier = p.then(noop, noop);
    this.#barrier = barrier;
    void barrier.then(() => {
      if (this.#barrier === barrier) this.#barrier = null;
    });
    return p;
  }

  /**
   * Sends a presence message (already encoded) if the client keeps up: one that buffers is
   * dropped rather than queued, so presence never delays strokes. Nothing before the hello.
   */
  sendPresence(text: string): void {
    if (!this.#greeted || this.#closed || this.ws.readyState !== WebSocket.OPEN) return;
    if (this.ws.bufferedAmount > this.hub.deps.limits.presenceHighWaterBytes) return;
    this.guard(() => this.ws.send(text));
  }

  #error(code: string, message: string, id: string | undefined): void {
    this.sendControl(
      id === undefined ? { type: "error", code, message } : { type: "error", id, code, message },
    );
  }

  #send(msg: ServerMessage): boolean {
    return this.sendText(JSON.stringify(msg));
  }

  /** False when the message could not be sent (closed, or closed now for a full buffer). */
  sendText(text: string): boolean {
    if (this.#closed || this.ws.readyState !== WebSocket.OPEN) return false;
    if (this.ws.bufferedAmount > this.hub.deps.limits.maxBufferedBytes) {
      this.close(CloseCode.tryAgainLater, "too slow: reconnect with since");
      return false;
    }
    this.ws.send(text);
    this.hub.deps.metrics?.messagesOut.inc();
    this.hub.deps.metrics?.bytesOut.inc({}, text.length);
    return true;
  }
}

function noop(): void {}

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
