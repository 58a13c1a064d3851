/**
 * The sending end of the peer streams (protocol/peer_stream.ts): one
 * WebSocket per peer URL (ws_client.ts), opened on first use. `request`
 * answers null at once while a peer's stream is not open, and the caller
 * posts the message instead: a stream is a faster path, never the only one (a peer of an
 * older version, a proxy that does not upgrade, a stream being reopened).
 *
 * A request that is not answered in time is lost, as a POST that times out
 * would be, and it closes the stream: after a partition or a pause, a fresh
 * connection is surer than one whose buffers hold seconds of old messages.
 * A stream that fails to open is tried again after a backoff.
 */
import {
  decodeStreamAnswer,
  encodeStreamRequest,
  MAX_STREAM_ANSWER_BYTES,
  PEER_STREAM_PATH,
  type StreamAnswer,
  type StreamPath,
} from "../protocol/peer_stream.ts";
import { WsClient } from "./ws_client.ts";

const MIN_RETRY_MS = 100;
const MAX_RETRY_MS = 5000;

/** A request's answer, or why there is none: no answer in time, or the stream went away. */
export type StreamResult = StreamAnswer | "timeout" | "closed";

interface Pending {
  resolve: (a: StreamResult) => void;
  timer: ReturnType<typeof setTimeout>;
}

class Stream {
  #ws: WsClient | null = null;
  readonly #pending = new Map<number, Pending>();
  #seq = 0;
  #closed = false;

  constructor(
    url: string,
    token: string | null,
    openTimeoutMs: number,
    maxMessageBytes: number,
    events: { onOpen(): void; onClose(): void },
  ) {
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    WsClient.connect(url + PEER_STREAM_PATH, headers, openTimeoutMs, {
      onMessage: (text) => {
        const a = decodeStreamAnswer(text);
        if (!a) return this.close(); // a peer that says nonsense gets a fresh start
        const p = this.#pending.get(a.seq);
        if (!p) return; // answered after it timed out
        this.#pending.delete(a.seq);
        clearTimeout(p.timer);
        p.resolve(a);
      },
      onClose: () => {
        this.#shut();
        events.onClose();
      },
    }, maxMessageBytes).then((ws) => {
      this.#ws = ws;
      if (this.#closed) return ws.close();
      events.onOpen();
    }, () => {
      this.#shut();
      events.onClose();
    });
  }

  get open(): boolean {
    return !this.#closed && this.#ws !== null && !this.#ws.closed;
  }

  request(path: StreamPath, body: string, timeoutMs: number): Promise<StreamResult> {
    const seq = this.#seq++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(seq);
        resolve("timeout");
        // The others waiting on this stream are as unanswered as this one, not cut off.
        this.#shut("timeout");
        this.close();
      }, timeoutMs);
      this.#pending.set(seq, { resolve, timer });
      this.#ws!.send(encodeStreamRequest(seq, path, body));
    });
  }

  close(): void {
    this.#shut();
    this.#ws?.close();
  }

  /** Every request still waiting is lost. */
  #shut(why: "timeout" | "closed" = "closed"): void {
    this.#closed = true;
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.resolve(why);
    }
    this.#pending.clear();
  }
}

/** The streams of one replica to its peers. */
export class PeerStreams {
  readonly #streams = new Map<string, Stream>();
  readonly #retry = new Map<string, { at: number; waitMs: number }>();
  #stopped = false;

  constructor(
    private readonly token: string | null,
    private readonly openTimeoutMs: number,
    /** `peer_stream_opened` and `peer_stream_closed`, with the peer's URL. */
    private readonly onEvent: (event: string, fields: Record<string, string | number>) => void =
      () => {},
  ) {}

  /** The answer over the stream to `url`, or null right away when it is not open (post instead). */
  request(
    url: string,
    path: StreamPath,
    body: string,
    timeoutMs: number,
  ): Promise<StreamResult> | null {
    const s = this.#streams.get(url);
    if (s?.open) return s.request(path, body, timeoutMs);
    if (!s) this.#connect(url);
    return null;
  }

  /**
   * Opens a stream to each URL that has none (a failed one after its backoff), so that the
   * first message after a change of leader (a vote, a proposal to the new leader) finds it
   * open: a first POST on a fresh connection cost ~15-30 ms of a leader hand-over.
   */
  warm(urls: Iterable<string>): void {
    for (const url of urls) if (!this.#streams.has(url)) this.#connect(url);
  }

  /** Closes every stream and opens no more. */
  close(): void {
    this.#stopped = true;
    for (const s of this.#streams.values()) s.close();
    this.#streams.clear();
  }

  #connect(url: string): void {
    const retry = this.#retry.get(url);
    if (this.#stopped || (retry && Date.now() < retry.at)) return;
    let served = false;
    const s = new Stream(url, this.token, this.openTimeoutMs, MAX_STREAM_ANSWER_BYTES, {
      onOpen: () => {
        served = true;
        this.#retry.delete(url);
        this.onEvent("peer_stream_opened", { url });
      },
      onClose: () => {
        if (this.#streams.get(url) === s) this.#streams.delete(url);
        if (served) this.onEvent("peer_stream_closed", { url });
        // A stream that served is reopened on the next send; one that never opened waits longer each time.
        const waitMs = served
          ? 0
          : Math.min(MAX_RETRY_MS, Math.max(MIN_RETRY_MS, 2 * (retry?.waitMs ?? 0)));
        this.#retry.set(url, { at: Date.now() + waitMs, waitMs });
      },
    });
    this.#streams.set(url, s);
  }
}
