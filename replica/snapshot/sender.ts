/**
 * The leader's side of InstallSnapshot: sends a snapshot file to one
 * follower in frames (protocol/snapshot.ts), from wherever the follower's
 * staged copy ends, `requestBytes` per request. The file is read one
 * request's worth at a time (never whole: it may be hundreds of MiB), so
 * memory stays at one request body per follower being caught up.
 */
import {
  type ChunkAnswer,
  decodeChunkAnswer,
  encodeChunkHeaders,
  type FinalAnswerBody,
  FRAME_HEADER_BYTES,
  SNAPSHOT_FRAME_BYTES,
  SNAPSHOT_FRAMES_TYPE,
  SNAPSHOT_PATH,
  SNAPSHOT_REQUEST_BYTES,
  type SnapshotMeta,
} from "../../protocol/snapshot.ts";
import { crc32 } from "../storage/crc32.ts";
import { frameHeader } from "./frames.ts";

export interface SendSnapshotOptions {
  /** The follower's base URL (`/install-snapshot` is appended). */
  url: string;
  token: string | null;
  path: string;
  meta: SnapshotMeta;
  term: number;
  leaderId: string;
  /** Bytes per frame (SNAPSHOT_FRAME_BYTES). */
  frameBytes?: number;
  /** Bytes per request at most (SNAPSHOT_REQUEST_BYTES; the leader holds one request's body). */
  requestBytes?: number;
  /** Per request, plus a second per 8 MiB of its body (not for the whole transfer, which may take minutes). */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Network errors (and 5xx) without progress before giving up. */
  maxAttempts?: number;
  /** Refused chunks in a row (corrupt in transit, offset moved) before giving up. */
  maxRefusals?: number;
}

/**
 * How a transfer ended. `final`: the follower has the whole snapshot and
 * answered as AppendEntries would (it may still say `success: false`).
 * `stale`: the follower knows a newer term, so the caller steps down.
 * `failed`: gave up (unreachable, or it kept refusing): the caller treats
 * the peer as unreachable and tries again later.
 */
export type SendResult =
  | { kind: "final"; answer: FinalAnswerBody }
  | { kind: "stale"; term: number }
  | { kind: "failed"; error: string };

const BACKOFF_MS = [50, 200, 500, 1000];

type Reply = { status: number; answer: ChunkAnswer } | { status: number; error: string };

export async function sendSnapshot(opts: SendSnapshotOptions): Promise<SendResult> {
  const { meta, term } = opts;
  const requestBytes = opts.requestBytes ?? SNAPSHOT_REQUEST_BYTES;
  const maxAttempts = opts.maxAttempts ?? 5;
  const maxRefusals = opts.maxRefusals ?? 5;
  const file = await Deno.open(opts.path, { read: true });
  try {
    // null: we do not know where the follower is, so we ask with an empty body.
    let offset: number | null = null;
    let failures = 0;
    let refusals = 0;
    let furthest = 0;
    for (;;) {
      if (opts.signal?.aborted) return { kind: "failed", error: "aborted" };
      const from = offset ?? 0;
      const end = offset === null ? 0 : Math.min(meta.bytes, from + requestBytes);
      let body: Uint8Array<ArrayBuffer>;
      try {
        body = framesOf(file, from, end, opts);
      } catch (e) {
        return { kind: "failed", error: `reading ${opts.path}: ${e}` };
      }
      let reply: Reply;
      try {
        reply = await post(opts, from, body);
      } catch (e) {
        if (opts.signal?.aborted) return { kind: "failed", error: "aborted" };
        if (++failures >= maxAttempts) return { kind: "failed", error: `unreachable: ${e}` };
        await sleep(BACKOFF_MS[Math.min(failures, BACKOFF_MS.length) - 1]);
        offset = null; // some frames may or may not have landed: ask
        continue;
      }
      if ("error" in reply) {
        if (reply.status >= 500 && ++failures < maxAttempts) {
          await sleep(BACKOFF_MS[Math.min(failures, BACKOFF_MS.length) - 1]);
          offset = null;
          continue;
        }
        return { kind: "failed", error: `HTTP ${reply.status}: ${reply.error}` };
      }
      const a = reply.answer;
      if (a.term > term) return { kind: "stale", term: a.term };
      if (a.kind === "final") return { kind: "final", answer: a };
      if (a.nextOffset > meta.bytes) {
        return { kind: "failed", error: `follower asks for offset ${a.nextOffset} past the end` };
      }
      // Only progress forgives failures: a link that breaks every stream before a frame lands
      // would otherwise be probed and streamed to forever.
      if (a.nextOffset > furthest) {
        furthest = a.nextOffset;
        failures = 0;
      }
      if (a.kind === "refused") {
        // 409: the follower is elsewhere (a duplicate, a reset); 400: a frame
        // was damaged in transit, or the whole file failed its digest. Either
        // way it said where to go on; going on forever is what the bound stops.
        if (++refusals >= maxRefusals) {
          return { kind: "failed", error: `refused ${refusals} times, last: ${a.error}` };
        }
      } else {
        refusals = 0;
      }
      offset = a.nextOffset;
    }
  } finally {
    file.close();
  }
}

/**
 * The frames of bytes [from, end) of the file, as one body. A body in
 * memory, not a ReadableStream: Deno sends it without a turn of the event
 * loop per frame, which on a leader busy with clients was what limited a
 * streamed transfer (26 MB/s at load 10 on 2 cores, against 130 for 4 MiB
 * bodies). The follower still takes it frame by frame as it arrives.
 */
function framesOf(file: Deno.FsFile, from: number, end: number, opts: SendSnapshotOptions) {
  const frameBytes = opts.frameBytes ?? SNAPSHOT_FRAME_BYTES;
  const count = Math.ceil((end - from) / frameBytes);
  const body = new Uint8Array(end - from + count * FRAME_HEADER_BYTES);
  let at = 0;
  for (let offset = from; offset < end; offset += frameBytes) {
    const size = Math.min(frameBytes, end - offset);
    const bytes = body.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + size);
    readAt(file, offset, bytes, opts.meta);
    body.set(frameHeader(size, crc32(bytes)), at);
    at += FRAME_HEADER_BYTES + size;
  }
  return body;
}

/** The slowest a body may go before its request times out, beyond `timeoutMs`: 8 MiB/s. */
const SLOWEST_BYTES_PER_MS = 8 * 1024 * 1024 / 1000;

/** One request with `body` (frames from `from`, or none: the probe). */
async function post(
  opts: SendSnapshotOptions,
  from: number,
  body: Uint8Array<ArrayBuffer>,
): Promise<Reply> {
  const headers: Record<string, string> = {
    "content-type": SNAPSHOT_FRAMES_TYPE,
    ...encodeChunkHeaders({
      term: opts.term,
      leaderId: opts.leaderId,
      meta: opts.meta,
      offset: from,
    }),
  };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const timeout = AbortSignal.timeout(opts.timeoutMs + body.length / SLOWEST_BYTES_PER_MS);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  const res = await fetch(opts.url + SNAPSHOT_PATH, { method: "POST", headers, body, signal });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch { /* reported below */ }
  const answer = decodeChunkAnswer(json);
  if (answer.ok && [200, 400, 409, 413].includes(res.status)) {
    return { status: res.status, answer: answer.value };
  }
  const error = (json as { error?: unknown } | null)?.error;
  return { status: res.status, error: typeof error === "string" ? error : text.slice(0, 200) };
}

/**
 * Fills `buf` from the file at `offset`. Synchronous, as the receiver's
 * writes are (receiver.ts): a frame comes from the page cache in a fraction
 * of a millisecond, and an async read per frame was slow while streaming.
 */
function readAt(file: Deno.FsFile, offset: number, buf: Uint8Array, meta: SnapshotMeta): void {
  file.seekSync(offset, Deno.SeekMode.Start);
  let filled = 0;
  while (filled < buf.length) {
    const n = file.readSync(buf.subarray(filled));
    if (n === null) {
      throw new Error(`snapshot file ends at ${offset + filled}, before ${meta.bytes}`);
    }
    filled += n;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
