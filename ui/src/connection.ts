/**
 * The WebSocket to the gateway: connects (`board=` or a view link's `view=`,
 * and `name=`), resumes with `since=<last index>` after any drop (exponential
 * backoff with jitter), and resends every unacked stroke and op with its
 * original id once the new session says hello, in the order they were made,
 * so nothing drawn during a failover is lost or doubled (the replicas dedup
 * ids). Presence goes into ui_state's `peers`, hello's name, colour and
 * read-only flag into ui_state too.
 */
import type { ClientMessage, ServerMessage } from "../../protocol/mod.ts";
import { needsReset, resendList } from "./board_state.ts";
import { decodeServerMessage, isClusterStatus } from "../../protocol/ws.ts";
import * as store from "./store.ts";
import { type Peer, peers, readOnly, selfColor, selfName } from "./ui_state.ts";

/** Delay before reconnect attempt `attempt` (0-based): doubling from 250 ms up to 5 s, jittered. */
export function backoffMs(attempt: number, random: number): number {
  const capped = Math.min(5000, 250 * 2 ** Math.min(attempt, 10));
  return Math.round(capped * (0.5 + random / 2));
}

/** Gateway `ws(s)://host/ws` to its `http(s)://host/status`. */
export function statusUrlOf(gatewayUrl: string): string {
  const u = new URL(gatewayUrl);
  u.protocol = u.protocol === "wss:" ? "https:" : "http:";
  u.pathname = "/status";
  u.search = "";
  return u.toString();
}

const RETRY_REFUSED_MS = 1000;
const STATUS_POLL_MS = 3000;

/** The live link to the gateway. */
export interface Connection {
  /**
   * Sends a message now if the session is up. A stroke or op not sent now
   * goes out on the next hello (from the pending list); a cursor is dropped.
   */
  send(msg: ClientMessage): void;
  close(): void;
}

/** Which board to show, and how. */
export interface ConnectOptions {
  /** A view-only link's token (`view=`): the gateway names the board and refuses edits. */
  view?: string | null;
  /** Display name others see (`name=`). */
  name?: string | null;
  /** Called after each hello, once pending items were resent (the outbox adopts orphans then). */
  onHello?: () => void;
}

/** Opens the connection and keeps it open until `close()`. */
export function connect(
  gatewayUrl: string,
  boardName: string,
  opts: ConnectOptions = {},
): Connection {
  const link = new GatewayLink(gatewayUrl, boardName, opts);
  link.open();
  return link;
}

type Timer = ReturnType<typeof setTimeout>;

class GatewayLink implements Connection {
  #ws: WebSocket | null = null;
  /** True between our hello and the socket's close: strokes may be sent. */
  #ready = false;
  #attempt = 0;
  #closed = false;
  #gotClusterMessage = false;
  #reconnectTimer: Timer | undefined;
  #resendTimer: Timer | undefined;
  #pollTimer: Timer | undefined;

  constructor(
    readonly gatewayUrl: string,
    readonly boardName: string,
    readonly opts: ConnectOptions,
  ) {}

  open(): void {
    const url = new URL(this.gatewayUrl);
    if (this.opts.view) url.searchParams.set("view", this.opts.view);
    else url.searchParams.set("board", this.boardName);
    if (this.opts.name) url.searchParams.set("name", this.opts.name);
    url.searchParams.set("since", String(store.board.lastIndex));
    const sock = new WebSocket(url);
    this.#ws = sock;
    // Events of a socket we already replaced are stale and ignored.
    sock.onmessage = (ev) => {
      if (sock === this.#ws && typeof ev.data === "string") this.#handle(ev.data);
    };
    sock.onclose = () => {
      if (sock === this.#ws) this.#onClose();
    };
  }

  send(msg: ClientMessage): void {
    if (!this.#ws || !this.#ready) return;
    this.#ws.send(JSON.stringify(msg));
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#resendTimer);
    clearInterval(this.#pollTimer);
    this.#ws?.close();
  }

  #onClose(): void {
    this.#ws = null;
    this.#ready = false;
    clearInterval(this.#pollTimer);
    if (this.#closed) return;
    store.connection.value = "reconnecting";
    store.cluster.value = null; // what we knew of the leader may be stale by now
    peers.value = new Map(); // the next hello brings the cursors of who is still here
    const delayMs = backoffMs(this.#attempt++, Math.random());
    this.#reconnectTimer = setTimeout(() => this.open(), delayMs);
  }

  #resendAll(): void {
    for (const msg of resendList(store.board)) this.send(msg);
  }

  #handle(text: string): void {
    const parsed = decodeServerMessage(text);
    if (!parsed.ok) {
      console.warn(`gateway message ignored: ${parsed.error}`);
      return;
    }
    const msg: ServerMessage = parsed.value;
    switch (msg.type) {
      case "hello":
        return this.#onHello(msg);
      case "strokes":
        return store.receiveCommitted(msg.entries);
      case "presence":
        return setPeer({
          clientId: msg.clientId,
          name: msg.name,
          color: msg.color,
          x: msg.x,
          y: msg.y,
          atMs: performance.now(),
        });
      case "left": {
        if (!peers.peek().has(msg.clientId)) return;
        const next = new Map(peers.peek());
        next.delete(msg.clientId);
        peers.value = next;
        return;
      }
      case "ack":
        return store.receiveAck(msg.id, msg.index);
      case "error":
        if (store.receiveRefusal(msg.id, msg.code, msg.message) === "retry") {
          clearTimeout(this.#resendTimer);
          this.#resendTimer = setTimeout(() => this.#resendAll(), RETRY_REFUSED_MS);
        }
        return;
      case "cluster":
        this.#gotClusterMessage = true;
        store.cluster.value = msg.status;
        return;
    }
  }

  #onHello(hello: Extract<ServerMessage, { type: "hello" }>): void {
    if (needsReset(store.board, hello.commitIndex)) {
      // Our `since` is past the cluster's history: fetch everything again.
      store.resetBoard();
      this.#ws?.close();
      return;
    }
    this.#ready = true;
    this.#attempt = 0;
    readOnly.value = hello.readOnly === true;
    if (hello.name !== undefined) selfName.value = hello.name;
    if (hello.color !== undefined) selfColor.value = hello.color;
    store.connection.value = "open";
    this.#resendAll();
    this.opts.onHello?.();
    this.#startStatusPoll();
  }

  /** Fallback for gateways that push no `cluster` messages; if CORS forbids it, we go without. */
  #startStatusPoll(): void {
    clearInterval(this.#pollTimer);
    const poll = async () => {
      if (this.#gotClusterMessage) return clearInterval(this.#pollTimer);
      try {
        const res = await fetch(statusUrlOf(this.gatewayUrl));
        const body: unknown = await res.json();
        if (!this.#gotClusterMessage && isClusterStatus(body)) store.cluster.value = body;
      } catch {
        clearInterval(this.#pollTimer);
      }
    };
    this.#pollTimer = setTimeout(() => {
      poll();
      this.#pollTimer = setInterval(poll, STATUS_POLL_MS);
    }, STATUS_POLL_MS);
  }
}

/** A peer's cursor moved (or a newcomer learns where it is). */
function setPeer(p: Peer): void {
  const next = new Map(peers.peek());
  next.set(p.clientId, p);
  peers.value = next;
}
