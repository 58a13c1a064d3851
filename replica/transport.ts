/**
 * Fetch-based transport between replicas: each request message becomes an
 * HTTP POST to the peer, and its JSON answer comes back as a response
 * message. A failed delivery is reported, never thrown: Raft treats it as
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
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    // Bulk catch-up chunks are large; give them more time than a heartbeat.
    const timeout = m.type === "appendEntries" && m.bulk ? this.timeoutMs * 4 : this.timeoutMs;
    try {
      const res = await fetch(url + path, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeout),
      });
      if (!res.ok) {
        await res.body?.cancel();
        return null;
      }
      const answer = decodeResponse(m, await res.json());
      // A wiped replica learns where members beyond its PEERS are.
      if (answer?.type === "probeResponse" && answer.members) this.peers.remember(answer.members);
      return answer;
    } catch {
      return null;
    }
  }
}
