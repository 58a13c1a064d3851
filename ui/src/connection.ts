/**
 * The WebSocket to the gateway: connects, resumes with `since=<last index>`
 * after any drop (exponential backoff with jitter), and resends every unacked
 * stroke with its original id once the new session says hello, so a stroke
 * drawn during a failover is neither lost nor doubled (the gateway dedups ids).
 */
import type { ClientMessage, CommittedStroke, ServerMessage, Stroke } from "../../protocol/mod.ts";
import { needsReset, resendList } from "./board_state.ts";
import { decodeServerMessage, isClusterStatus } from "../../protocol/ws.ts";
import * as store from "./store.ts";

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
  /** Sends a stroke now if the session is up; otherwise it goes out on the next hello. */
  send(stroke: Stroke): void;
  close(): void;
}

/** Opens the connection and keeps it open until `close()`. */
export function connect(gatewayUrl: string, boardName: string): Connection {
  const link = new GatewayLink(gatewayUrl, boardName);
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

  constructor(readonly gatewayUrl: string, readonly boardName: string) {}

  open(): void {
    const url = new URL(this.gatewayUrl);
    url.searchParams.set("board", this.boardName);
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

  send(stroke: Stroke): void {
    if (!this.#ws || !this.#ready) return;
    const msg: ClientMessage = { type: "stroke", stroke };
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
    const delayMs = backoffMs(this.#attempt++, Math.random());
    this.#reconnectTimer = setTimeout(() => this.open(), delayMs);
  }

  #resendAll(): void {
    for (const stroke of resendList(store.board)) this.send(stroke);
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
        return this.#onHello(msg.commitIndex);
      case "strokes":
        // Board operations are drawn once the canvas learns them (issue 12); strokes now.
        return store.receiveCommitted(
          msg.entries.filter((e): e is CommittedStroke => "stroke" in e),
        );
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

  #onHello(commitIndex: number): void {
    if (needsReset(store.board, commitIndex)) {
      // Our `since` is past the cluster's history: fetch everything again.
      store.resetBoard();
      this.#ws?.close();
      return;
    }
    this.#ready = true;
    this.#attempt = 0;
    store.connection.value = "open";
    this.#resendAll();
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
