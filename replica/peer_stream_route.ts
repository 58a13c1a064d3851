/**
 * `GET /raft/stream`: the peer stream's receiving end (protocol/peer_stream.ts).
 * The app's middleware has checked the cluster token on the upgrade request;
 * each message is then served by the same function as its HTTP endpoint
 * (the Raft RPCs; `/propose` and `/entries` from a gateway),
 * and answered on the socket when that function answers (out of order when
 * one request waits for an fsync and the next does not).
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import {
  BAD_FRAME_CLOSE,
  decodeStreamRequest,
  encodeStreamAnswer,
  TOO_BIG_CLOSE,
} from "../protocol/peer_stream.ts";
import type { StreamPath } from "../protocol/peer_stream.ts";
import { parseJson } from "../protocol/validate.ts";

/** A status and the value its JSON answer encodes. */
export interface JsonAnswer {
  status: ContentfulStatusCode;
  json: unknown;
}
/** What a stream request is answered: a value to encode, or JSON already written (an entries page). */
export type RpcAnswer = JsonAnswer | { status: ContentfulStatusCode; text: string };

export interface PeerStreamDeps {
  /** What the path's HTTP endpoint answers for this body; `signal` aborts when the stream closes. */
  serve(path: StreamPath, body: unknown, signal: AbortSignal): Promise<RpcAnswer>;
  /** Largest message taken (the HTTP endpoints' body limit); a bigger one closes the stream. */
  maxBytes: number;
  /** An exception while serving (the message is answered 500). */
  onError(e: unknown): void;
}

export function peerStreamRoute(deps: PeerStreamDeps): (c: Context) => Response {
  return (c) => {
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      return c.json({ error: "expected a WebSocket upgrade" }, 400);
    }
    const { socket, response } = Deno.upgradeWebSocket(c.req.raw);
    // A long poll waiting on a stream that closed stops waiting.
    const closed = new AbortController();
    socket.addEventListener("close", () => closed.abort());
    const answer = (seq: number, a: RpcAnswer) => {
      if (socket.readyState === WebSocket.OPEN) {
        const body = "text" in a ? a.text : JSON.stringify(a.json);
        socket.send(encodeStreamAnswer(seq, a.status, body));
      }
    };
    socket.onmessage = async (e: MessageEvent) => {
      if (typeof e.data !== "string") return socket.close(BAD_FRAME_CLOSE, "text messages only");
      // UTF-16 length: at most the byte length, so this never refuses what the HTTP limit takes.
      if (e.data.length > deps.maxBytes) {
        return socket.close(TOO_BIG_CLOSE, `message over ${deps.maxBytes} bytes`);
      }
      const req = decodeStreamRequest(e.data);
      if (!req.ok) return socket.close(BAD_FRAME_CLOSE, req.error.slice(0, 100));
      const { seq, path, body } = req.value;
      const parsed = parseJson(body);
      if (!parsed.ok) return answer(seq, { status: 400, json: { error: parsed.error } });
      try {
        answer(seq, await deps.serve(path, parsed.value, closed.signal));
      } catch (err) {
        deps.onError(err);
        answer(seq, { status: 500, json: { error: "internal error" } });
      }
    };
    return response;
  };
}
