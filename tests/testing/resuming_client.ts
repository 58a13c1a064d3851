/**
 * A drawing client that survives its gateway: when the socket drops it connects again (through
 * a load balancer, to whichever gateway answers) with `since` = the last index it streamed, and
 * resends every stroke not yet acked with the same id, as the page does. It keeps what all its
 * connections streamed, in order, so a test can check the whole stream: no gap, no repeat.
 */
import type { BoardEntry, Stroke } from "../../protocol/mod.ts";
import { GatewayClient } from "../../gateway/client.ts";

/** One reconnection: how long the client had no hello. */
export interface Reconnect {
  closedAt: number;
  helloAt: number;
  since: number;
  attempts: number;
}

/** See the module comment. */
export class ResumingClient {
  /** What the connections before the current one streamed. */
  readonly #past: BoardEntry[] = [];
  /** Stroke id to the index it was acked with. */
  readonly acks = new Map<string, number>();
  readonly reconnects: Reconnect[] = [];
  /** Decoder or order violations any connection saw. */
  readonly violations: string[] = [];
  /** Client ids the gateways gave each connection (`hello.clientId`), in order. */
  readonly clientIds: string[] = [];
  /** Strokes sent again (same id) after their first attempt got no ack. */
  resent = 0;
  #conn: GatewayClient | null = null;
  #ready: Promise<GatewayClient>;
  #stopped = false;

  private constructor(readonly url: string, readonly board: string, first: GatewayClient) {
    this.#ready = Promise.resolve(first);
    this.#adopt(first);
  }

  /** Connects (retrying until `timeoutMs`) and waits for the first hello. */
  static async open(url: string, board: string, timeoutMs = 30_000): Promise<ResumingClient> {
    const { conn } = await connectWithRetry(url, board, 0, Date.now() + timeoutMs);
    const c = new ResumingClient(url, board, conn);
    c.clientIds.push((await conn.hello()).clientId);
    return c;
  }

  /**
   * Every entry streamed, across connections, in arrival order. Each connection records its
   * own from its first message on (a handler attached after `connect` could miss the replay).
   */
  get stream(): BoardEntry[] {
    return [...this.#past, ...(this.#conn?.entries() ?? [])];
  }

  /** The last index streamed: what a reconnection resumes after. */
  get lastIndex(): number {
    return (this.#conn?.entries().at(-1) ?? this.#past.at(-1))?.index ?? 0;
  }

  /** Sends a stroke and resolves with its acked index, across as many reconnections as it takes. */
  async draw(stroke: Stroke, timeoutMs = 60_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let tried = false;
    for (;;) {
      const conn = await this.#ready;
      // A socket that closed a moment ago, before its replacement is known: wait for that one.
      if (conn.ws.readyState !== WebSocket.OPEN) {
        if (Date.now() > deadline || this.#stopped) {
          throw new Error(`stroke ${stroke.id}: no connection`);
        }
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      if (tried) this.resent++;
      try {
        const index = await conn.draw(stroke);
        this.acks.set(stroke.id, index);
        return index;
      } catch (e) {
        // The socket closed (gateway gone) or the gateway refused for now: same id, next try.
        if (Date.now() > deadline || this.#stopped) throw e;
        tried = true;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  /** Closes the current connection for good. */
  async close(): Promise<void> {
    this.#stopped = true;
    await this.#conn?.close();
  }

  #adopt(conn: GatewayClient): void {
    this.#conn = conn;
    void conn.closed.then(() => {
      this.violations.push(...conn.violations);
      if (this.#stopped || this.#conn !== conn) return;
      const closedAt = Date.now();
      const since = this.lastIndex;
      this.#past.push(...conn.entries());
      this.#conn = null;
      this.#ready = (async () => {
        const { conn: next, attempts } = await connectWithRetry(
          this.url,
          this.board,
          since,
          Date.now() + 60_000,
        );
        this.#adopt(next);
        this.clientIds.push((await next.hello()).clientId);
        this.reconnects.push({ closedAt, helloAt: Date.now(), since, attempts });
        return next;
      })();
    });
  }
}

async function connectWithRetry(
  url: string,
  board: string,
  since: number,
  deadline: number,
): Promise<{ conn: GatewayClient; attempts: number }> {
  for (let attempts = 1;; attempts++) {
    try {
      const conn = await GatewayClient.connect(url, { board, since });
      await conn.hello(5000);
      return { conn, attempts };
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, Math.min(500, 25 * attempts)));
    }
  }
}
