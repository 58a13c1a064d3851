/**
 * InstallSnapshot on the wire: a follower behind the leader's compacted log
 * receives the leader's state database in chunks, as raw bytes with
 * everything else in headers, so that SQLite pages never pass through JSON
 * or base64. The answers are small JSON bodies.
 *
 * A `POST /install-snapshot` carries either one chunk (`application/octet-stream`,
 * its CRC-32 in `x-chunk-crc32`) or, from this version's senders, a stream
 * of chunks (`application/x-snapshot-frames`): each frame is a 4-byte length
 * and a 4-byte CRC-32 (big-endian) and then that many bytes, the first at
 * `x-chunk-offset`, the next right after it. A stream keeps both sides busy
 * at once (the follower writes and hashes a frame while the next arrives),
 * where one chunk per request left each idle half the time. The
 * follower takes frame by frame and answers once: at the end of the body,
 * at the first frame it refuses, or with the install's answer. An empty
 * body at offset 0 is a probe: it asks where an interrupted transfer can
 * resume.
 */
import { fail, isIndex, isObject, ok, type Result } from "./validate.ts";

export const SNAPSHOT_PATH = "/install-snapshot";

/** Largest chunk a receiver accepts (the route's body limit). */
export const MAX_CHUNK_BYTES = 8 * 1024 * 1024;
/** The content type of a stream of frames (see above); a chunk alone is `application/octet-stream`. */
export const SNAPSHOT_FRAMES_TYPE = "application/x-snapshot-frames";
/** A frame's header: length and CRC-32, 4 bytes each, big-endian. */
export const FRAME_HEADER_BYTES = 8;
/** What a sender cuts a stream into by default (small: the follower buffers one frame). */
export const SNAPSHOT_FRAME_BYTES = 1024 * 1024;
/**
 * What one request carries by default: the follower takes its frames as they
 * arrive and confirms its progress once per request; the leader holds one
 * request's body in memory.
 */
export const SNAPSHOT_REQUEST_BYTES = 16 * 1024 * 1024;

/** The header names of a chunk. */
export const SNAPSHOT_HEADERS = {
  term: "x-raft-term",
  leaderId: "x-raft-leader",
  index: "x-snapshot-index",
  snapshotTerm: "x-snapshot-term",
  bytes: "x-snapshot-bytes",
  sha256: "x-snapshot-sha256",
  offset: "x-chunk-offset",
  crc32: "x-chunk-crc32",
} as const;

/** One snapshot: the state as applied up to `index` (of `term`), its size and digest. */
export interface SnapshotMeta {
  index: number;
  term: number;
  bytes: number;
  /** SHA-256 of the whole file, lowercase hex. */
  sha256: string;
}

/** Everything about a chunk but its bytes. */
export interface ChunkHeader {
  /** The sender's current term (checked like any RPC's). */
  term: number;
  leaderId: string;
  meta: SnapshotMeta;
  /** Where the body starts in the snapshot file. */
  offset: number;
  /** CRC-32 of the body (IEEE, as `replica/storage/crc32.ts`). */
  crc32: number;
}

/** More chunks wanted, from `nextOffset`. */
export interface PartialAnswerBody {
  term: number;
  nextOffset: number;
  done: false;
}
/** Chunk refused (409: wrong offset, stale term, other snapshot; 400: bad chunk or checksum). */
export interface RefusalBody {
  term: number;
  nextOffset: number;
  error: string;
}
/** The snapshot arrived whole and the follower tried to install it; fields as AppendEntries'. */
export interface FinalAnswerBody {
  term: number;
  done: true;
  success: boolean;
  matchIndex: number;
  logLength: number;
  incarnation: number;
}

export type ChunkAnswer =
  | ({ kind: "partial" } & PartialAnswerBody)
  | ({ kind: "refused" } & RefusalBody)
  | ({ kind: "final" } & FinalAnswerBody);

const LEADER_ID = /^[A-Za-z0-9_-]{1,64}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
// Digits only: Number() would also take "0x10", "1e3", " 7" and "".
const DECIMAL = /^\d{1,16}$/;

/** The headers of a stream of frames: a chunk's but its CRC-32 (each frame carries its own). */
export type StreamHeader = Omit<ChunkHeader, "crc32">;

/** The headers of a chunk (the body goes beside them), or of a stream when `crc32` is absent. */
export function encodeChunkHeaders(h: StreamHeader & { crc32?: number }): Record<string, string> {
  const headers: Record<string, string> = {
    [SNAPSHOT_HEADERS.term]: String(h.term),
    [SNAPSHOT_HEADERS.leaderId]: h.leaderId,
    [SNAPSHOT_HEADERS.index]: String(h.meta.index),
    [SNAPSHOT_HEADERS.snapshotTerm]: String(h.meta.term),
    [SNAPSHOT_HEADERS.bytes]: String(h.meta.bytes),
    [SNAPSHOT_HEADERS.sha256]: h.meta.sha256,
    [SNAPSHOT_HEADERS.offset]: String(h.offset),
  };
  if (h.crc32 !== undefined) headers[SNAPSHOT_HEADERS.crc32] = String(h.crc32);
  return headers;
}

/** Decodes and fully validates the headers of a chunk (untrusted input: the route answers 400). */
export function decodeChunkHeaders(headers: Headers): Result<ChunkHeader> {
  const raw = headers.get(SNAPSHOT_HEADERS.crc32);
  const crc32 = raw !== null && DECIMAL.test(raw) ? Number(raw) : NaN;
  if (!(crc32 >= 0 && crc32 <= 0xffffffff)) {
    return fail(`${SNAPSHOT_HEADERS.crc32} must be a decimal integer below 2^32`);
  }
  const h = decodeStreamHeaders(headers);
  return h.ok ? ok({ ...h.value, crc32 }) : h;
}

/** Decodes and fully validates the headers of a stream of frames. */
export function decodeStreamHeaders(headers: Headers): Result<StreamHeader> {
  const nums: Record<string, number> = {};
  for (const key of ["term", "index", "snapshotTerm", "bytes", "offset"] as const) {
    const name = SNAPSHOT_HEADERS[key];
    const raw = headers.get(name);
    const n = raw !== null && DECIMAL.test(raw) ? Number(raw) : NaN;
    if (!isIndex(n)) return fail(`${name} must be a decimal integer below 2^48`);
    nums[key] = n;
  }
  const leaderId = headers.get(SNAPSHOT_HEADERS.leaderId) ?? "";
  if (!LEADER_ID.test(leaderId)) {
    return fail(`${SNAPSHOT_HEADERS.leaderId} must be 1-64 chars of [A-Za-z0-9_-]`);
  }
  const sha256 = headers.get(SNAPSHOT_HEADERS.sha256) ?? "";
  if (!SHA256_HEX.test(sha256)) return fail(`${SNAPSHOT_HEADERS.sha256} must be 64 lowercase hex`);
  if (nums.offset > nums.bytes) {
    return fail(`${SNAPSHOT_HEADERS.offset} is past the snapshot's end`);
  }
  return ok({
    term: nums.term,
    leaderId,
    meta: { index: nums.index, term: nums.snapshotTerm, bytes: nums.bytes, sha256 },
    offset: nums.offset,
  });
}

/** Decodes an answer to a chunk (from a peer: a shape check, numbers as indexes). */
export function decodeChunkAnswer(body: unknown): Result<ChunkAnswer> {
  if (!isObject(body) || !isIndex(body.term)) return fail("answer needs a term");
  const term = body.term;
  if (body.done === true) {
    const { success, matchIndex, logLength, incarnation } = body;
    if (typeof success !== "boolean" || !isIndex(matchIndex) || !isIndex(logLength)) {
      return fail("final answer needs success, matchIndex and logLength");
    }
    const inc = isIndex(incarnation) ? incarnation : 0;
    return ok({
      kind: "final",
      term,
      done: true,
      success,
      matchIndex,
      logLength,
      incarnation: inc,
    });
  }
  if (!isIndex(body.nextOffset)) return fail("answer needs a nextOffset");
  const nextOffset = body.nextOffset;
  if (typeof body.error === "string") {
    return ok({ kind: "refused", term, nextOffset, error: body.error });
  }
  if (body.done === false) return ok({ kind: "partial", term, nextOffset, done: false });
  return fail("answer is neither partial, refused nor final");
}
