/**
 * Checks what the gateway sends before the page believes it: a malformed
 * message is dropped with a reason instead of corrupting the board.
 */
import type { ClusterStatus, CommittedStroke, ServerMessage } from "../../protocol/mod.ts";
import { checkStroke, isIndex, isObject } from "../../protocol/validate.ts";

/** A parsed message or the reason it was rejected. */
export type Parsed = { ok: true; msg: ServerMessage } | { ok: false; error: string };

/** Parses one WebSocket text frame from the gateway. */
export function parseServerMessage(text: string): Parsed {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { ok: false, error: "not JSON" };
  }
  if (!isObject(v)) return { ok: false, error: "not an object" };
  switch (v.type) {
    case "hello":
      if (!isIndex(v.commitIndex)) return { ok: false, error: "hello.commitIndex" };
      return { ok: true, msg: v as ServerMessage };
    case "strokes":
      return parseStrokes(v.entries);
    case "ack":
      if (typeof v.id !== "string" || !isIndex(v.index)) return { ok: false, error: "bad ack" };
      return { ok: true, msg: { type: "ack", id: v.id, index: v.index } };
    case "error":
      if (typeof v.code !== "string") return { ok: false, error: "error.code" };
      return {
        ok: true,
        msg: {
          type: "error",
          id: typeof v.id === "string" ? v.id : undefined,
          code: v.code,
          message: typeof v.message === "string" ? v.message : "",
        },
      };
    case "cluster":
      if (!isClusterStatus(v.status)) return { ok: false, error: "cluster.status" };
      return { ok: true, msg: { type: "cluster", status: v.status } };
    default:
      return { ok: false, error: `unknown type ${JSON.stringify(v.type)}` };
  }
}

function parseStrokes(entries: unknown): Parsed {
  if (!Array.isArray(entries)) return { ok: false, error: "strokes.entries" };
  const out: CommittedStroke[] = [];
  let prev = -1;
  for (const e of entries) {
    if (!isObject(e) || !isIndex(e.index) || e.index <= prev) {
      return { ok: false, error: "strokes.entries: index missing or out of order" };
    }
    const s = checkStroke(e.stroke);
    if (!s.ok) return { ok: false, error: s.error };
    out.push({ index: e.index, stroke: s.value });
    prev = e.index;
  }
  return { ok: true, msg: { type: "strokes", entries: out } };
}

/** Loose check of a gateway `ClusterStatus` (also used for `GET /status`). */
export function isClusterStatus(v: unknown): v is ClusterStatus {
  return isObject(v) &&
    (v.leaderId === null || typeof v.leaderId === "string") &&
    (v.term === null || isIndex(v.term));
}
