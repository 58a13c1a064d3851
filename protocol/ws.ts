/**
 * The gateway's WebSocket protocol (CONTRACT.md): what a browser may send,
 * what the gateway sends back, and a decoder for each direction. Both ends
 * are trust edges, so both decoders validate fully: the gateway never
 * proposes a bad stroke, the page never draws one.
 */
import type { ReplicaState } from "./replica_api.ts";
import { checkStroke, isStrokeId, type Stroke } from "./stroke.ts";
import { fail, isIndex, isObject, ok, parseJson, type Result } from "./validate.ts";

/** A committed stroke as clients see it. */
export interface CommittedStroke {
  index: number;
  stroke: Stroke;
}

/** Gateway's view of one replica, for `/status` and the UI. */
export interface ReplicaView {
  url: string;
  replicaId: string | null;
  state: ReplicaState | null;
  term: number | null;
  commitIndex: number | null;
  logLength: number | null;
  reachable: boolean;
}

/** Gateway `GET /status`. */
export interface ClusterStatus {
  leaderId: string | null;
  leaderUrl: string | null;
  term: number | null;
  commitIndex: number;
  replicas: ReplicaView[];
  clients: number;
}

/** Server to client. */
export type ServerMessage =
  | {
    type: "hello";
    clientId: string;
    board: string;
    commitIndex: number;
    protocolVersion?: number;
  }
  | { type: "strokes"; entries: CommittedStroke[] }
  | { type: "ack"; id: string; index: number }
  | { type: "error"; id?: string; code: string; message: string }
  | { type: "cluster"; status: ClusterStatus };

/** Client to server. */
export type ClientMessage =
  | { type: "stroke"; stroke: Stroke }
  | { type: "ping" };

/** Error codes of `{type:"error"}`. */
export const ErrorCode = {
  badMessage: "bad_message",
  badStroke: "bad_stroke",
  rateLimited: "rate_limited",
  tooLarge: "too_large",
  unavailable: "unavailable",
} as const;

/**
 * A browser's message, already parsed from JSON. The socket decides the
 * board, so a stroke's own `board` is dropped, not judged.
 */
export function decodeClientMessage(v: unknown): Result<ClientMessage> {
  if (!isObject(v) || typeof v.type !== "string") {
    return fail("expected a JSON object with a string type");
  }
  if (v.type === "ping") return ok({ type: "ping" });
  if (v.type !== "stroke") return fail(`unknown message type "${v.type.slice(0, 32)}"`);
  const stroke = checkStroke(isObject(v.stroke) ? { ...v.stroke, board: undefined } : v.stroke);
  return stroke.ok ? ok({ type: "stroke", stroke: stroke.value }) : stroke;
}

/** The `code` of the error that answers a refused client message. */
export function refusalCode(v: unknown): string {
  return isObject(v) && v.type === "stroke" ? ErrorCode.badStroke : ErrorCode.badMessage;
}

/** The stroke id of a client message, if it has a valid one (echoed in errors so clients can match). */
export function strokeIdOf(v: unknown): string | undefined {
  if (!isObject(v) || !isObject(v.stroke)) return undefined;
  return isStrokeId(v.stroke.id) ? v.stroke.id : undefined;
}

/** One text frame from the gateway, validated before the page believes it. */
export function decodeServerMessage(text: string): Result<ServerMessage> {
  const parsed = parseJson(text);
  if (!parsed.ok) return parsed;
  const v = parsed.value;
  if (!isObject(v)) return fail("not an object");
  switch (v.type) {
    case "hello":
      if (typeof v.clientId !== "string" || typeof v.board !== "string") {
        return fail("hello.clientId and hello.board must be strings");
      }
      if (!isIndex(v.commitIndex)) return fail("hello.commitIndex");
      return ok(v as ServerMessage);
    case "strokes":
      return decodeStrokes(v.entries);
    case "ack":
      if (typeof v.id !== "string" || !isIndex(v.index)) return fail("bad ack");
      return ok({ type: "ack", id: v.id, index: v.index });
    case "error":
      if (typeof v.code !== "string") return fail("error.code");
      return ok({
        type: "error",
        id: typeof v.id === "string" ? v.id : undefined,
        code: v.code,
        message: typeof v.message === "string" ? v.message : "",
      });
    case "cluster":
      if (!isClusterStatus(v.status)) return fail("cluster.status");
      return ok({ type: "cluster", status: v.status });
    default:
      return fail(`unknown type ${JSON.stringify(v.type)}`);
  }
}

function decodeStrokes(entries: unknown): Result<ServerMessage> {
  if (!Array.isArray(entries)) return fail("strokes.entries");
  const out: CommittedStroke[] = [];
  let prev = -1;
  for (const e of entries) {
    if (!isObject(e) || !isIndex(e.index) || e.index <= prev) {
      return fail("strokes.entries: index missing or out of order");
    }
    const s = checkStroke(e.stroke);
    if (!s.ok) return s;
    out.push({ index: e.index, stroke: s.value });
    prev = e.index;
  }
  return ok({ type: "strokes", entries: out });
}

/** Loose check of a gateway `ClusterStatus` (the `cluster` message and `GET /status`). */
export function isClusterStatus(v: unknown): v is ClusterStatus {
  return isObject(v) &&
    (v.leaderId === null || typeof v.leaderId === "string") &&
    (v.term === null || isIndex(v.term));
}
