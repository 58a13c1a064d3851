/**
 * The leader's side of InstallSnapshot: streams a snapshot file to one
 * follower, chunk by chunk, from wherever the follower's staged copy ends.
 * The file is read one chunk at a time (never whole: it may be hundreds of
 * MiB), so memory stays at one chunk per follower being caught up.
 */
import {
  type ChunkAnswer,
  decodeChunkAnswer,
  encodeChunkHeaders,
  type FinalAnswerBody,
  SNAPSHOT_CHUNK_BYTES,
  SNAPSHOT_PATH,
  type SnapshotMeta,
} from "../../protocol/snapshot.ts";
import { crc32 } from "../storage/crc32.ts";

export interface SendSnapshotOptions {
  /** The follower's base URL (`/install-snapshot` is appended). */
  url: string;
  token: string | null;
  path: string;
  meta: SnapshotMeta;
  term: number;
  leaderId: string;
  chunkBytes?: number;
  /** Per request, not for the whole transfer (which may take minutes). */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Network errors (and 5xx) in a row before giving up. */
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
  const chunkBytes = opts.chunkBytes ?? SNAPSHOT_CHUNK_BYTES;
  const maxAttempts = opts.maxAttempts ?? 5;
  const maxRefusals = opts.maxRefusals ?? 5;
  const file = await Deno.open(opts.path, { read: true });
  try {
    // null: we do not know where the follower is, so we ask with the empty chunk.
    let offset: number | null = null;
    let failures = 0;
    let refusals = 0;
    for (;;) {
      if (opts.signal?.aborted) return { kind: "failed", error: "aborted" };
      const at = offset ?? 0;
      let body: Uint8Array<ArrayBuffer> = new Uint8Array(0);
      try {
        if (offset !== null) body = await readAt(file, at, chunkBytes, meta);
      } catch (e) {
        return { kind: "failed", error: `reading ${opts.path}: ${e}` };
      }
      let reply: Reply;
      try {
        reply = await post(opts, at, body);
      } catch (e) {
        if (opts.signal?.aborted) return { kind: "failed", error: "aborted" };
        if (++failures >= maxAttempts) return { kind: "failed", error: `unreachable: ${e}` };
        await sleep(BACKOFF_MS[Math.min(failures, BACKOFF_MS.length) - 1]);
        offset = null; // the chunk may or may not have landed: ask
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
      failures = 0;
      const a = reply.answer;
      if (a.term > term) return { kind: "stale", term: a.term };
      if (a.kind === "final") return { kind: "final", answer: a };
      if (a.nextOffset > meta.bytes) {
        return { kind: "failed", error: `follower asks for offset ${a.nextOffset} past the end` };
      }
      if (a.kind === "refused") {
        // 409: the follower is elsewhere (a duplicate, a reset); 400: the chunk
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

async function post(
  opts: SendSnapshotOptions,
  offset: number,
  body: Uint8Array<ArrayBuffer>,
): Promise<Reply> {
  const headers: Record<string, string> = {
    "content-type": "application/octet-stream",
    ...encodeChunkHeaders({
      term: opts.term,
      leaderId: opts.leaderId,
      meta: opts.meta,
      offset,
      crc32: crc32(body),
    }),
  };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  const res = await fetch(opts.url + SNAPSHOT_PATH, { method: "POST", headers, body, signal });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch { /* reported below */ }
  const answer = decodeChunkAnswer(json);
  if (answer.ok && (res.status === 200 || res.status === 400 || res.status === 409)) {
    return { status: res.status, answer: answer.value };
  }
  const error = (json as { error?: unknown } | null)?.error;
  return { status: res.status, error: typeof error === "string" ? error : text.slice(0, 200) };
}

/** Up to `size` bytes of the file from `offset` (fewer at its end). */
async function readAt(
  file: Deno.FsFile,
  offset: number,
  size: number,
  meta: SnapshotMeta,
): Promise<Uint8Array<ArrayBuffer>> {
  const buf = new Uint8Array(Math.min(size, meta.bytes - offset));
  await file.seek(offset, Deno.SeekMode.Start);
  let filled = 0;
  while (filled < buf.length) {
    const n = await file.read(buf.subarray(filled));
    if (n === null) {
      throw new Error(`snapshot file ends at ${offset + filled}, before ${meta.bytes}`);
    }
    filled += n;
  }
  return buf;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
