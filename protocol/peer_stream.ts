/**
 * The peer stream: the JSON RPCs of `rpc.ts` over one WebSocket from a
 * sender (a leader, a candidate) to each peer, and a gateway's proposals to
 * its leader, beside the seed's HTTP endpoints, which stay as they are. A POST per message cost the leader
 * ~0.25 ms of CPU per replicated stroke and a round trip of ~0.15 ms on
 * loopback against ~0.05 ms for a WebSocket message (measured for issue 14).
 *
 * `GET /raft/stream` upgrades (cluster token in `authorization`, checked
 * before the upgrade). Each text message is one request or one answer: a
 * header line, then the JSON body exactly as the HTTP endpoint takes or
 * returns it, so no body is parsed twice:
 *
 *     request:  "<seq> <rpc path>\n<json body>"     e.g. "7 /heartbeat\n{...}"
 *     answer:   "<seq> <http status>\n<json body>"  e.g. "7 200\n{...}"
 *
 * Answers may come out of order (one waits for an fsync, the next does not);
 * `seq` pairs them. A malformed message closes the stream.
 */
import { RPC_PATHS, type RpcPath } from "./rpc.ts";
import { fail, ok, type Result } from "./validate.ts";

export const PEER_STREAM_PATH = "/raft/stream";
/** Proposals travel the stream too (a gateway's to its leader), with `/propose`'s body and answer. */
export const PROPOSE_PATH = "/propose";
/**
 * So does a gateway's long poll of the committed log: `GET /entries`'s query as a JSON object
 * (`{"from":1,"limit":1000,"waitMs":10000}`, each optional as in the query), its answer as the
 * GET's, but a page of at most `STREAM_PAGE_BYTES` (an answer shares the stream with proposals).
 * An HTTP request per commit cost the gateway ~0.3 ms of CPU per stroke (issue 14).
 */
export const ENTRIES_PATH = "/entries";
/** What a stream request may carry: a peer RPC, a proposal or a long poll of entries. */
export type StreamPath = RpcPath | typeof PROPOSE_PATH | typeof ENTRIES_PATH;
/**
 * A streamed `/entries` page ends with the entry that takes its text to this many UTF-16 units
 * (the first entry always goes, however big).
 */
export const STREAM_PAGE_BYTES = 1024 * 1024;
/**
 * Largest answer a stream takes; a bigger one closes it. A streamed page is at most 3 MiB of
 * UTF-8 before its last entry, which came in a proposal of at most 8 MiB.
 */
export const MAX_STREAM_ANSWER_BYTES = 16 * 1024 * 1024;

/** Close code for a message the receiver cannot read (RFC 6455: 1007 invalid payload data). */
export const BAD_FRAME_CLOSE = 1007;
/** Close code for a message over the body limit (RFC 6455: 1009 message too big). */
export const TOO_BIG_CLOSE = 1009;

export interface StreamRequest {
  seq: number;
  path: StreamPath;
  body: string;
}

export interface StreamAnswer {
  seq: number;
  status: number;
  body: string;
}

const PATHS: ReadonlySet<string> = new Set<string>([...RPC_PATHS, PROPOSE_PATH, ENTRIES_PATH]);
const SEQ = /^\d{1,15}$/;
const STATUS = /^[1-5]\d\d$/;

export function encodeStreamRequest(seq: number, path: StreamPath, body: string): string {
  return `${seq} ${path}\n${body}`;
}

export function encodeStreamAnswer(seq: number, status: number, body: string): string {
  return `${seq} ${status}\n${body}`;
}

/** The header line split in two, or null. */
function header(text: string): [string, string, string] | null {
  const nl = text.indexOf("\n");
  if (nl < 0 || nl > 64) return null;
  const sp = text.indexOf(" ");
  if (sp < 0 || sp > nl) return null;
  return [text.slice(0, sp), text.slice(sp + 1, nl), text.slice(nl + 1)];
}

export function decodeStreamRequest(text: string): Result<StreamRequest> {
  const h = header(text);
  if (!h) return fail("a stream message starts with '<seq> <path>' and a newline");
  const [seq, path, body] = h;
  if (!SEQ.test(seq)) return fail("seq must be a non-negative integer");
  if (!PATHS.has(path)) return fail(`unknown RPC ${path.slice(0, 40)}`);
  return ok({ seq: Number(seq), path: path as StreamPath, body });
}

export function decodeStreamAnswer(text: string): StreamAnswer | null {
  const h = header(text);
  if (!h || !SEQ.test(h[0]) || !STATUS.test(h[1])) return null;
  return { seq: Number(h[0]), status: Number(h[1]), body: h[2] };
}
