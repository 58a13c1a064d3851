/**
 * `GET /raft/stream`: the peer stream's receiving end (protocol/peer_stream.ts).
 * The app's middleware has checked the cluster token on the upgrade request;
 * each message is then served by the same function as its HTTP endpoint
 * (the Raft RPCs; `/propose` from a gateway),
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

export interface RpcAnswer {
  status: ContentfulStatusCode;
  json: unknown;
}

export interface PeerStreamDeps {
  /** What the path's HTTP endpoint answers for this body. */
  serve(path: StreamPath, body: unknown): Promise<RpcAnswer>;
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
    const answer = (seq: number, status: number, json: unknown) => {
      if (socket.readyState === WebSocket.OPEN) {
        socket.send(encodeStreamAnswer(seq, status, JSON.stringify(json)));
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
      if (!parsed.ok) return answer(seq, 400, { error: parsed.error });
      try {
        const { status, json } = await deps.serve(path, parsed.value);
        answer(seq, status, json);
      } catch (err) {
        deps.onError(err);
        answer(seq, 500, { error: "internal error" });
      }
    };
    return response;
  };
}
