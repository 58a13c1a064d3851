/**
 * The leader's side of InstallSnapshot: sends a snapshot file to one
 * follower in frames (protocol/snapshot.ts), from wherever the follower's
 * staged copy ends, `requestBytes` per request. The file is read a piece
 * of a request at a time, as the connection takes it (never whole: it may be
 * hundreds of MiB), so memory stays at a piece or two per follower being
 * caught up.
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
      const body = framesOf(file, from, end, opts);
      let reply: Reply;
      try {
        reply = await post(opts, from, end - from, body.stream);
      } catch (e) {
        if (body.readError) {
          return { kind: "failed", error: `reading ${opts.path}: ${body.readError}` };
        }
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

/** Bytes of file read into one piece of a request body (see `framesOf`). */
const PIECE_BYTES = 4 * 1024 * 1024;

/**
 * The frames of bytes [from, end) of the file, as a body of pieces of a few
 * whole frames, each read when the connection wants it. Not one array of the
 * whole request: Deno's fetch took 20-50 ms to start sending a 13 MiB array
 * (the follower sat idle meanwhile), where a stream's first piece is there in
 * 2-3 ms and the follower checks and writes frames while the rest travels.
 * Not a piece per frame either: on a leader busy with clients, a turn of the
 * event loop per 1 MiB frame held a transfer to 26 MB/s at load 10. A read
 * error ends the body; `readError` says why.
 */
function framesOf(file: Deno.FsFile, from: number, end: number, opts: SendSnapshotOptions) {
  const frameBytes = opts.frameBytes ?? SNAPSHOT_FRAME_BYTES;
  const perPiece = Math.max(1, Math.floor(PIECE_BYTES / frameBytes));
  let offset = from;
  const out: { stream: ReadableStream<Uint8Array<ArrayBuffer>> | null; readError: unknown } = {
    stream: null,
    readError: null,
  };
  if (end <= from) return out; // the probe: no body
  out.stream = new ReadableStream<Uint8Array<ArrayBuffer>>({
    pull(controller) {
      const pieceEnd = Math.min(end, offset + perPiece * frameBytes);
      const count = Math.ceil((pieceEnd - offset) / frameBytes);
      const piece = new Uint8Array(pieceEnd - offset + count * FRAME_HEADER_BYTES);
      let at = 0;
      try {
        for (; offset < pieceEnd; offset += frameBytes) {
          const size = Math.min(frameBytes, pieceEnd - offset);
          const bytes = piece.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + size);
          readAt(file, offset, bytes, opts.meta);
          piece.set(frameHeader(size, crc32(bytes)), at);
          at += FRAME_HEADER_BYTES + size;
        }
      } catch (e) {
        out.readError = e;
        controller.error(e);
        return;
      }
      controller.enqueue(piece);
      if (offset >= end) controller.close();
    },
  });
  return out;
}

/** The slowest a body may go before its request times out, beyond `timeoutMs`: 8 MiB/s. */
const SLOWEST_BYTES_PER_MS = 8 * 1024 * 1024 / 1000;

/** One request with `body` (`bytes` of the file from `from` in frames, or none: the probe). */
async function post(
  opts: SendSnapshotOptions,
  from: number,
  bytes: number,
  body: ReadableStream<Uint8Array<ArrayBuffer>> | null,
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
  const timeout = AbortSignal.timeout(opts.timeoutMs + bytes / SLOWEST_BYTES_PER_MS);
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
