/**
 * Transport between replicas: each request message goes over the peer's
 * stream when it is open (peer_stream.ts), else as an HTTP POST, and its
 * JSON answer comes back as a response message. Bulk catch-up chunks are
 * always posted: megabytes on the stream would hold up the heartbeats
 * behind them. A failed delivery is reported, never thrown: Raft treats it as
 * loss. What the core does with an answer is outside the catch, so an
 * invariant error it raises stops the process instead of passing for a lost
 * message. A snapshot is streamed by the shipper instead of posted as JSON.
 */
import type { Message } from "./raft/types.ts";
import type { PeerDirectory } from "./peers.ts";
import {
  decodeResponse,
  encodeRequest,
  isJsonRequest,
  type JsonRequestMessage,
  type RequestMessage,
} from "../protocol/rpc.ts";
import type { SnapshotShipper } from "./snapshot/shipper.ts";
import type { PeerStreams } from "./peer_stream.ts";

/** Where answers and failures go. */
export interface TransportSink {
  onResponse(m: Message): void;
  onUnreachable(req: RequestMessage): void;
}

/** Sends request messages to peers over HTTP. */
export class HttpTransport {
  constructor(
    private readonly peers: PeerDirectory,
    private readonly sink: TransportSink,
    private readonly token: string | null,
    private readonly timeoutMs: number,
    private readonly shipper: SnapshotShipper,
    private readonly streams: PeerStreams,
  ) {}

  /** Fire and forget; the answer (or the failure) is delivered to the sink. */
  send(m: RequestMessage): void {
    if (this.peers.isPlaceholder(m.to)) {
      // Not named yet: ask who it is, and count this message as lost.
      this.peers.learn();
      queueMicrotask(() => this.sink.onUnreachable(m));
      return;
    }
    const url = this.peers.urlOf(m.to);
    const answer = !url
      ? Promise.resolve(null)
      : isJsonRequest(m)
      ? this.post(m, url)
      : this.shipper.ship(m, url);
    answer.then(
      (resp) => resp ? this.sink.onResponse(resp) : this.sink.onUnreachable(m),
    );
  }

  /** The peer's answer, or null when it could not be had. */
  private async post(m: JsonRequestMessage, url: string): Promise<Message | null> {
    const { path, body } = encodeRequest(m);
    const text = JSON.stringify(body);
    const bulk = m.type === "appendEntries" && m.bulk;
    // Bulk catch-up chunks are large; give them more time than a heartbeat.
    const timeout = bulk ? this.timeoutMs * 4 : this.timeoutMs;
    const streamed = bulk ? null : this.streams.request(url, path, text, timeout);
    let json: unknown;
    try {
      if (streamed) {
        const a = await streamed;
        if (typeof a === "string" || a.status !== 200) return null;
        json = JSON.parse(a.body);
      } else {
        json = await this.fetchJson(url + path, text, timeout);
        if (json === null) return null;
      }
    } catch {
      return null;
    }
    const answer = decodeResponse(m, json);
    // A wiped replica learns where members beyond its PEERS are.
    if (answer?.type === "probeResponse" && answer.members) this.peers.remember(answer.members);
    return answer;
  }

  /** A 200's JSON body, or null for any other status; throws on a network failure. */
  private async fetchJson(url: string, body: string, timeoutMs: number): Promise<unknown> {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const res = await fetch(url, {
      method: "POST",
      headers,
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) {
      await res.body?.cancel();
      return null;
    }
    return await res.json();
  }
}
