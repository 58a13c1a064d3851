/**
 * The one client of the gateway's WebSocket, for tests, scripts and the
 * bench: connects with `board` (or a view-only `view` token), `since` and
 * `name`, checks every server message with the protocol decoder (as the page
 * does) and the stream's promises (index order, each entry once), records
 * what arrived, and draws strokes, erases, restores and clears that resolve
 * with their acked index, and moves its cursor.
 */
import {
  type BoardEntry,
  type ClientMessage,
  type CommittedStroke,
  decodeServerMessage,
  entryId,
  parseJson,
  type ServerMessage,
  type Stroke,
} from "../protocol/mod.ts";

/** How the socket was closed. */
export interface CloseInfo {
  code: number;
  reason: string;
}

/** Where and how to connect. */
export interface GatewayClientOptions {
  board?: string;
  /** A view-only token (`GET /boards/NAME/view-link`), instead of `board`. */
  view?: string;
  /** Resume after this committed index. */
  since?: number;
  /** Display name for presence. */
  name?: string;
  /** Keep every message and stroke (default); load runs turn it off and use `onStrokes`. */
  record?: boolean;
  /**
   * Decode each message fully (default). The bench turns it off so that the clients' CPU,
   * which shares the machine with the system under test, stays small.
   */
  validate?: boolean;
  /**
   * Decode `strokes` messages (default). The race's writers only count them
   * (`strokesMessages`): its 64 clients share two cores with the system under test, where 64
   * browsers would each decode the fan-out on their own (it was ~30% of the machine's CPU per
   * stroke at 64 clients).
   */
  decodeStrokes?: boolean;
}

/** How the gateway's encoding of a `strokes` message begins (`Hub.encodedBatch`). */
const STROKES_PREFIX = '{"type":"strokes"';

type Hello = Extract<ServerMessage, { type: "hello" }>;
type ErrorMessage = Extract<ServerMessage, { type: "error" }>;
type Presence = Extract<ServerMessage, { type: "presence" }>;
type Outcome = { index: number } | { error: string };

/** One connection; `connect` resolves once the socket is open. */
export class GatewayClient {
  /** Every message received, in order (empty unless `record`). */
  readonly messages: ServerMessage[] = [];
  /** Messages that failed decoding, strokes out of index order or repeated. */
  readonly violations: string[] = [];
  /** Resolves when the socket has closed, from either side. */
  readonly closed: Promise<CloseInfo>;
  /** Called with each `strokes` message and `performance.now()` at its arrival. */
  onStrokes: (entries: BoardEntry[], atMs: number) => void = () => {};
  #closeInfo: CloseInfo | null = null;
  #closing = false;
  #lastIndex = 0;
  readonly #record: boolean;
  readonly #validate: boolean;
  readonly #decodeStrokes: boolean;
  /** `strokes` messages received and not decoded (`decodeStrokes: false`), and their entries. */
  strokesMessages = 0;
  strokesEntries = 0;
  readonly #seen = new Map<string, number>();
  readonly #acks = new Map<string, number>();
  readonly #pending = new Map<string, (outcome: Outcome) => void>();
  readonly #listeners = new Set<() => void>();
  #hello: Hello | null = null;

  private constructor(readonly ws: WebSocket, opts: GatewayClientOptions) {
    this.#record = opts.record ?? true;
    this.#validate = opts.validate ?? true;
    this.#decodeStrokes = opts.decodeStrokes ?? true;
    this.#lastIndex = opts.since ?? 0;
    ws.onmessage = (e) => this.#receive(String(e.data));
    this.closed = new Promise((resolve) => {
      ws.onclose = (e) => {
        this.#closeInfo = { code: e.code, reason: e.reason };
        for (const done of this.#pending.values()) done({ error: `socket closed (${e.code})` });
        this.#pending.clear();
        resolve(this.#closeInfo);
        this.#notify();
      };
    });
  }

  /** Opens `url` (`ws://host:port/ws`) with the options as query and waits until it is open. */
  static connect(url: string, opts: GatewayClientOptions = {}): Promise<GatewayClient> {
    const u = new URL(url);
    if (opts.board !== undefined) u.searchParams.set("board", opts.board);
    if (opts.view !== undefined) u.searchParams.set("view", opts.view);
    if (opts.since !== undefined) u.searchParams.set("since", String(opts.since));
    if (opts.name !== undefined) u.searchParams.set("name", opts.name);
    const ws = new WebSocket(u);
    const client = new GatewayClient(ws, opts);
    return new Promise((resolve, reject) => {
      ws.onopen = () => resolve(client);
      ws.onerror = () => reject(new Error(`cannot connect to ${u}`));
    });
  }

  /** True when the server (or the network) closed the socket, not `close()`. */
  get closedByServer(): boolean {
    return this.#closeInfo !== null && !this.#closing;
  }

  /** Resolves with the `hello` message. */
  hello(timeoutMs = 10_000): Promise<Hello> {
    return this.waitFor("hello", () => this.#hello ?? undefined, timeoutMs);
  }

  /** Sends an object as JSON, or a raw string as is. */
  send(msg: ClientMessage | unknown): void {
    this.ws.send(typeof msg === "string" ? msg : JSON.stringify(msg));
  }

  /** Sends a stroke message without waiting. */
  sendStroke(stroke: Stroke): void {
    this.send({ type: "stroke", stroke } satisfies ClientMessage);
  }

  /** Sends a stroke; resolves with its committed index once acked, rejects on its error. */
  draw(stroke: Stroke): Promise<number> {
    return this.#acked(stroke.id, () => this.sendStroke(stroke));
  }

  /** Sends an erase of these stroke or group ids without waiting. */
  sendErase(id: string, targets: string[]): void {
    this.send({ type: "erase", id, targets } satisfies ClientMessage);
  }

  /** Sends a restore of these stroke, group or clear ids without waiting. */
  sendRestore(id: string, targets: string[]): void {
    this.send({ type: "restore", id, targets } satisfies ClientMessage);
  }

  /** Sends a clear of the board without waiting. */
  sendClear(id: string): void {
    this.send({ type: "clear", id } satisfies ClientMessage);
  }

  /** Erases; resolves with the op's committed index once acked, rejects on its error. */
  erase(id: string, targets: string[]): Promise<number> {
    return this.#acked(id, () => this.sendErase(id, targets));
  }

  /** Restores; resolves with the op's committed index once acked. */
  restore(id: string, targets: string[]): Promise<number> {
    return this.#acked(id, () => this.sendRestore(id, targets));
  }

  /** Clears the board; resolves with the op's committed index once acked. */
  clear(id: string): Promise<number> {
    return this.#acked(id, () => this.sendClear(id));
  }

  /** Moves this client's cursor (board coordinates); never acked, never in the log. */
  sendCursor(x: number, y: number): void {
    this.send({ type: "cursor", x, y } satisfies ClientMessage);
  }

  /** `presence` messages received, in order (needs `record`). */
  presences(): Presence[] {
    return this.messages.flatMap((m) => m.type === "presence" ? [m] : []);
  }

  /** Client ids of the `left` messages received (needs `record`). */
  lefts(): string[] {
    return this.messages.flatMap((m) => m.type === "left" ? [m.clientId] : []);
  }

  #acked(id: string, send: () => void): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#pending.set(id, (outcome) => {
        this.#pending.delete(id);
        if ("index" in outcome) resolve(outcome.index);
        else reject(new Error(`${id}: ${outcome.error}`));
      });
      send();
    });
  }

  /** Every committed stroke received, in arrival order (needs `record`). */
  strokes(): CommittedStroke[] {
    return this.entries().filter((e): e is CommittedStroke => "stroke" in e);
  }

  /** Every committed entry (strokes and board operations) received, in arrival order (needs `record`). */
  entries(): BoardEntry[] {
    return this.messages.flatMap((m) => m.type === "strokes" ? m.entries : []);
  }

  /** The index a stroke arrived with, if it did (needs `record`). */
  indexOf(id: string): number | undefined {
    return this.#seen.get(id);
  }

  /** Acks by stroke id, the last one if acked twice (needs `record`). */
  acks(): Map<string, number> {
    return new Map(this.#acks);
  }

  /** Error messages received (needs `record`). */
  errors(): ErrorMessage[] {
    return this.messages.flatMap((m) => m.type === "error" ? [m] : []);
  }

  /** Resolves with the condition's first non-undefined value; rejects on close or timeout. */
  waitFor<T>(what: string, check: () => T | undefined, timeoutMs = 10_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const done = (fn: () => void) => {
        clearTimeout(timer);
        this.#listeners.delete(listener);
        fn();
      };
      const listener = () => {
        const value = check();
        if (value !== undefined) return done(() => resolve(value));
        if (this.#closeInfo) {
          const { code, reason } = this.#closeInfo;
          done(() => reject(new Error(`socket closed (${code} ${reason}) waiting for ${what}`)));
        }
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`timed out waiting for ${what}`))),
        timeoutMs,
      );
      this.#listeners.add(listener);
      listener();
    });
  }

  /** Waits until strokes with all these ids have arrived; returns all strokes received. */
  waitForStrokes(ids: Iterable<string>, timeoutMs = 10_000): Promise<CommittedStroke[]> {
    const wanted = [...ids];
    return this.waitFor(`${wanted.length} strokes`, () => {
      return wanted.every((id) => this.#seen.has(id)) ? this.strokes() : undefined;
    }, timeoutMs);
  }

  /** Waits until all these ids are acked; returns the acks. */
  waitForAcks(ids: Iterable<string>, timeoutMs = 10_000): Promise<Map<string, number>> {
    const wanted = [...ids];
    return this.waitFor(`${wanted.length} acks`, () => {
      return wanted.every((id) => this.#acks.has(id)) ? this.acks() : undefined;
    }, timeoutMs);
  }

  /** Closes from the client side and waits for the close to complete. */
  async close(): Promise<void> {
    this.#closing = true;
    if (this.ws.readyState <= WebSocket.OPEN) this.ws.close(1000, "client done");
    await this.closed;
  }

  #receive(text: string): void {
    if (!this.#decodeStrokes && text.startsWith(STROKES_PREFIX)) {
      this.strokesMessages++;
      this.strokesEntries += countEntries(text);
      return;
    }
    const msg = this.#decode(text);
    if (!msg) return;
    if (this.#record) this.messages.push(msg);
    switch (msg.type) {
      case "hello":
        this.#hello = msg;
        break;
      case "strokes":
        this.#onStrokes(msg.entries);
        break;
      case "ack":
        if (this.#record) this.#acks.set(msg.id, msg.index);
        this.#pending.get(msg.id)?.({ index: msg.index });
        break;
      case "error":
        if (msg.id !== undefined) this.#pending.get(msg.id)?.({ error: msg.message });
        break;
    }
    this.#notify();
  }

  #decode(text: string): ServerMessage | null {
    if (this.#validate) {
      const r = decodeServerMessage(text);
      if (!r.ok) this.violations.push(`bad message: ${r.error}`);
      return r.ok ? r.value : null;
    }
    const r = parseJson(text);
    return r.ok ? r.value as ServerMessage : null;
  }

  #onStrokes(entries: BoardEntry[]): void {
    this.onStrokes(entries, performance.now());
    for (const e of entries) {
      if (e.index <= this.#lastIndex) {
        this.violations.push(`index ${e.index} after ${this.#lastIndex}`);
      }
      this.#lastIndex = e.index;
      if (!this.#record) continue;
      const id = entryId(e);
      if (this.#seen.has(id)) this.violations.push(`entry ${id} twice`);
      this.#seen.set(id, e.index);
    }
  }

  #notify(): void {
    this.#listeners.forEach((l) => l());
  }
}

/**
 * Entries in a `strokes` message's text: each is an object that begins with its index
 * (`Hub.encodedBatch`), and inside a string the same characters would be escaped.
 */
function countEntries(text: string): number {
  let n = 0;
  for (let at = text.indexOf(ENTRY_START); at >= 0; at = text.indexOf(ENTRY_START, at + 1)) n++;
  return n;
}
const ENTRY_START = '{"index":';

let counter = 0;

/** A valid stroke with a unique id (prefix + counter). */
export function makeStroke(prefix = "s", extra: Partial<Stroke> = {}): Stroke {
  counter++;
  return {
    id: `${prefix}-${counter}`,
    x0: counter % 1000,
    y0: 1,
    x1: 2,
    y1: 3,
    color: "#e63946",
    width: 3,
    ...extra,
  };
}
