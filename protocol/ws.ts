/**
 * The gateway's WebSocket protocol (CONTRACT.md): what a browser may send,
 * what the gateway sends back, and a decoder for each direction. Both ends
 * are trust edges, so both decoders validate fully: the gateway never
 * proposes a bad stroke, the page never draws one.
 */
import type { ReplicaState } from "./replica_api.ts";
import { checkStroke, isStrokeId, MAX_COORDINATE, type Stroke } from "./stroke.ts";
import {
  type BoardEntry,
  checkClearOp,
  checkTargetsOp,
  type ClearOp,
  type EraseOp,
  type RestoreOp,
} from "./board_ops.ts";
import {
  fail,
  isIndex,
  isObject,
  MAX_NAME_LENGTH,
  ok,
  parseJson,
  type Result,
} from "./validate.ts";

export type { BoardEntry };

/** A committed stroke as clients see it. */
export interface CommittedStroke {
  index: number;
  stroke: Stroke;
}

/** Longest display name a client may give (`name=` on connect); longer ones are cut. */
/** Most cursor messages a client may send per second (CONTRACT.md); more are dropped. */
export const MAX_CURSORS_PER_SECOND = 30;

/** Gateway's view of one replica, for `/status` and the UI. */
export interface ReplicaView {
  url: string;
  replicaId: string | null;
  state: ReplicaState | null;
  term: number | null;
  commitIndex: number | null;
  logLength: number | null;
  reachable: boolean;
  /** Extensions from the replica's last `/status` (absent when it did not say). */
  snapshotIndex?: number;
  voter?: boolean;
  lastContactMs?: number;
  rssBytes?: number;
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
    /** This session may not draw or change the board (a view-only link); presence still flows. */
    readOnly?: boolean;
    /** The name and colour others see for this client's cursor. */
    name?: string;
    color?: string;
  }
  /** Committed entries of the board: strokes and board operations, in index order. */
  | { type: "strokes"; entries: BoardEntry[] }
  /** Another client's cursor, in board coordinates (never in the log). */
  | { type: "presence"; clientId: string; name: string; color: string; x: number; y: number }
  | { type: "left"; clientId: string }
  | { type: "ack"; id: string; index: number }
  | { type: "error"; id?: string; code: string; message: string }
  | { type: "cluster"; status: ClusterStatus };

/** Client to server, as on the wire (CONTRACT.md: an op's id and targets are top-level). */
export type ClientMessage =
  | { type: "stroke"; stroke: Stroke }
  | ({ type: "erase" } & Omit<EraseOp, "board">)
  | ({ type: "restore" } & Omit<RestoreOp, "board">)
  | ({ type: "clear" } & Omit<ClearOp, "board">)
  | { type: "cursor"; x: number; y: number }
  | { type: "ping" };

/** Error codes of `{type:"error"}`. */
export const ErrorCode = {
  badMessage: "bad_message",
  badStroke: "bad_stroke",
  rateLimited: "rate_limited",
  /** An edit from a view-only session. */
  readOnly: "read_only",
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
  switch (v.type) {
    case "ping":
      return ok({ type: "ping" });
    case "cursor":
      return isCoordinate(v.x) && isCoordinate(v.y)
        ? ok({ type: "cursor", x: v.x, y: v.y })
        : fail("cursor.x and cursor.y must be finite board coordinates");
    case "erase":
    case "restore": {
      const op = checkTargetsOp(v, v.type);
      return op.ok ? ok({ type: v.type, id: op.value.id, targets: op.value.targets }) : op;
    }
    case "clear": {
      const op = checkClearOp(v);
      return op.ok ? ok({ type: "clear", id: op.value.id }) : op;
    }
    case "stroke":
      break;
    default:
      return fail(`unknown message type "${v.type.slice(0, 32)}"`);
  }
  // The socket decides the board and the gateway the authorship: neither is the browser's to say.
  const stroke = checkStroke(
    isObject(v.stroke) ? { ...v.stroke, board: undefined, by: undefined, at: undefined } : v.stroke,
  );
  return stroke.ok ? ok({ type: "stroke", stroke: stroke.value }) : stroke;
}

/** The `code` of the error that answers a refused client message. */
export function refusalCode(v: unknown): string {
  return isObject(v) && v.type === "stroke" ? ErrorCode.badStroke : ErrorCode.badMessage;
}

/** The stroke or op id of a client message, if it has a valid one (echoed in errors so clients can match). */
export function strokeIdOf(v: unknown): string | undefined {
  if (!isObject(v)) return undefined;
  if (v.type === "erase" || v.type === "restore" || v.type === "clear") {
    return isStrokeId(v.id) ? v.id : undefined;
  }
  if (!isObject(v.stroke)) return undefined;
  return isStrokeId(v.stroke.id) ? v.stroke.id : undefined;
}

function isCoordinate(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v) && Math.abs(v) <= MAX_COORDINATE;
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
      if (v.name !== undefined && typeof v.name !== "string") return fail("hello.name");
      if (
        v.color !== undefined && !(typeof v.color === "string" && /^#[0-9a-f]{6}$/i.test(v.color))
      ) {
        return fail("hello.color must be #rrggbb");
      }
      if (v.readOnly !== undefined && typeof v.readOnly !== "boolean") {
        return fail("hello.readOnly");
      }
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
    case "presence":
      if (
        typeof v.clientId !== "string" || typeof v.name !== "string" ||
        typeof v.color !== "string" || !isCoordinate(v.x) || !isCoordinate(v.y)
      ) return fail("bad presence");
      return ok({
        type: "presence",
        clientId: v.clientId,
        name: v.name.slice(0, MAX_NAME_LENGTH),
        color: v.color,
        x: v.x,
        y: v.y,
      });
    case "left":
      if (typeof v.clientId !== "string") return fail("left.clientId");
      return ok({ type: "left", clientId: v.clientId });
    case "cluster":
      if (!isClusterStatus(v.status)) return fail("cluster.status");
      return ok({ type: "cluster", status: v.status });
    default:
      return fail(`unknown type ${JSON.stringify(v.type)}`);
  }
}

function decodeStrokes(entries: unknown): Result<ServerMessage> {
  if (!Array.isArray(entries)) return fail("strokes.entries");
  const out: BoardEntry[] = [];
  let prev = -1;
  for (const e of entries) {
    if (!isObject(e) || !isIndex(e.index) || e.index <= prev) {
      return fail("strokes.entries: index missing or out of order");
    }
    const d = decodeBoardEntry(e);
    if (!d.ok) return d;
    out.push(d.value);
    prev = e.index;
  }
  return ok({ type: "strokes", entries: out });
}

function decodeBoardEntry(e: Record<string, unknown>): Result<BoardEntry> {
  const index = e.index as number;
  if (e.erase !== undefined || e.restore !== undefined) {
    const kind = e.erase !== undefined ? "erase" : "restore";
    const op = checkTargetsOp(e[kind], kind);
    if (!op.ok) return op;
    return ok(kind === "erase" ? { index, erase: op.value } : { index, restore: op.value });
  }
  if (e.clear !== undefined) {
    const op = checkClearOp(e.clear);
    return op.ok ? ok({ index, clear: op.value }) : op;
  }
  const s = checkStroke(e.stroke);
  return s.ok ? ok({ index, stroke: s.value }) : s;
}

/** Loose check of a gateway `ClusterStatus` (the `cluster` message and `GET /status`). */
export function isClusterStatus(v: unknown): v is ClusterStatus {
  return isObject(v) &&
    (v.leaderId === null || typeof v.leaderId === "string") &&
    (v.term === null || isIndex(v.term));
}
