/**
 * The one wire protocol of the whiteboard, as tldraw's sync-core keeps its
 * protocol in one place: the stroke and the log entry (`stroke.ts`), the
 * Raft RPCs (`rpc.ts`, one table from path to codecs), the replica API
 * (`replica_api.ts`) and the gateway WebSocket (`ws.ts`), each type beside
 * its decoder; every decoder returns the one `Result` of `validate.ts`.
 *
 * The UI imports `ws.ts`, `stroke.ts` and `validate.ts` directly, so its
 * bundle carries no replica code.
 */

/** Bumped whenever a message changes shape in a way old peers cannot read. */
export const PROTOCOL_VERSION = 1;

export * from "./validate.ts";
export * from "./stroke.ts";
export * from "./rpc_bodies.ts";
export * from "./rpc.ts";
export * from "./peer_stream.ts";
export * from "./replica_api.ts";
export * from "./ws.ts";
export * from "./snapshot.ts";
export * from "./members.ts";
export * from "./board_ops.ts";
