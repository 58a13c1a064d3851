/** A WebSocket test client that records every server message and waits for conditions. */
import type { CommittedStroke, ServerMessage, Stroke } from "../../protocol/mod.ts";

/** How the server closed the socket. */
export interface CloseInfo {
  code: number;
  reason: string;
}

/** Records messages; `waitFor` re-checks a condition after every message. */
export class TestClient {
  readonly messages: ServerMessage[] = [];
  readonly closed: Promise<CloseInfo>;
  #closeInfo: CloseInfo | null = null;
  #listeners = new Set<() => void>();

  private constructor(readonly ws: WebSocket) {
    ws.onmessage = (e) => {
      this.messages.push(JSON.parse(e.data));
      this.#listeners.forEach((l) => l());
    };
    this.closed = new Promise((resolve) => {
      ws.onclose = (e) => {
        this.#closeInfo = { code: e.code, reason: e.reason };
        resolve(this.#closeInfo);
        this.#listeners.forEach((l) => l());
      };
    });
  }

  /** Opens a socket and waits until it is open. */
  static connect(url: string): Promise<TestClient> {
    const ws = new WebSocket(url);
    const client = new TestClient(ws);
    return new Promise((resolve, reject) => {
      ws.onopen = () => resolve(client);
      ws.onerror = () => reject(new Error(`cannot connect to ${url}`));
    });
  }

  /** Sends an object as JSON, or a raw string as is. */
  send(msg: unknown): void {
    this.ws.send(typeof msg === "string" ? msg : JSON.stringify(msg));
  }

  /** Sends a stroke message. */
  sendStroke(stroke: Stroke): void {
    this.send({ type: "stroke", stroke });
  }

  /** Every committed stroke received, in arrival order. */
  strokes(): CommittedStroke[] {
    return this.messages.flatMap((m) => m.type === "strokes" ? m.entries : []);
  }

  /** Acks by stroke id (the last one if acked twice). */
  acks(): Map<string, number> {
    return new Map(this.messages.flatMap((m) => m.type === "ack" ? [[m.id, m.index]] : []));
  }

  /** Error messages received. */
  errors(): Extract<ServerMessage, { type: "error" }>[] {
    return this.messages.flatMap((m) => m.type === "error" ? [m] : []);
  }

  /** Resolves with the condition's first non-undefined value; rejects after `timeoutMs`. */
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
      const seen = new Set(this.strokes().map((e) => e.stroke.id));
      return wanted.every((id) => seen.has(id)) ? this.strokes() : undefined;
    }, timeoutMs);
  }

  /** Waits until all these ids are acked; returns the acks. */
  waitForAcks(ids: Iterable<string>, timeoutMs = 10_000): Promise<Map<string, number>> {
    const wanted = [...ids];
    return this.waitFor(`${wanted.length} acks`, () => {
      const acks = this.acks();
      return wanted.every((id) => acks.has(id)) ? acks : undefined;
    }, timeoutMs);
  }

  /** Closes from the client side and waits for the close to complete. */
  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000, "test done");
    await this.closed;
  }
}

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
