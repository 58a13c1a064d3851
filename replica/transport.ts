/**
 * Fetch-based transport between replicas: each request message becomes an
 * HTTP POST to the peer, and its JSON answer comes back as a response
 * message. Failures are reported, never thrown: Raft treats them as loss.
 */
import type { Peer } from "./config.ts";
import type { Message } from "./raft/types.ts";
import { decodeResponse, encodeRequest, type RequestMessage } from "../protocol/rpc.ts";

/** Where answers and failures go. */
export interface TransportSink {
  onResponse(m: Message): void;
  onUnreachable(req: RequestMessage): void;
}

/** Sends request messages to peers over HTTP. */
export class HttpTransport {
  private readonly urls: Map<string, string>;

  constructor(
    peers: Peer[],
    private readonly sink: TransportSink,
    private readonly token: string | null,
    private readonly timeoutMs: number,
  ) {
    this.urls = new Map(peers.map((p) => [p.id, p.url]));
  }

  /** Fire and forget; the answer (or the failure) is delivered to the sink. */
  send(m: RequestMessage): void {
    this.post(m).catch(() => this.sink.onUnreachable(m));
  }

  private async post(m: RequestMessage): Promise<void> {
    const url = this.urls.get(m.to);
    if (!url) throw new Error(`unknown peer ${m.to}`);
    const { path, body } = encodeRequest(m);
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    // Bulk catch-up chunks are large; give them more time than a heartbeat.
    const timeout = m.type === "appendEntries" && m.bulk ? this.timeoutMs * 4 : this.timeoutMs;
    const res = await fetch(url + path, {
      method: "POST",
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeout),
    });
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`${res.status}`);
    }
    const resp = decodeResponse(m, await res.json());
    if (!resp) throw new Error("malformed answer");
    this.sink.onResponse(resp);
  }
}
