/**
 * `POST /install-snapshot`: one chunk or a stream of frames in (see
 * protocol/snapshot.ts), one small JSON answer out. Input is checked here
 * (sizes, headers, term) before the receiver sees it; the cluster token is
 * checked by the app's middleware before this runs.
 */
import type { Context } from "hono";
import {
  type ChunkHeader,
  decodeChunkHeaders,
  decodeStreamHeaders,
  type FinalAnswerBody,
  MAX_CHUNK_BYTES,
  type PartialAnswerBody,
  type RefusalBody,
  SNAPSHOT_FRAMES_TYPE,
  type StreamHeader,
} from "../../protocol/snapshot.ts";
import { FrameReader } from "./frames.ts";
import type { ReceiveResult, StagedSnapshot } from "./receiver.ts";
import { readBytes } from "../read_body.ts";

export interface InstallSnapshotDeps {
  receiver: {
    offer(h: ChunkHeader, body: Uint8Array): Promise<ReceiveResult>;
    nextOffsetFor(h: ChunkHeader): number;
  };
  currentTerm(): number;
  /** Installs a whole snapshot (it owns `staged.path` from now on) and says how it went. */
  install(h: ChunkHeader, staged: StagedSnapshot): Promise<FinalAnswerBody>;
}

/** The handler of `POST /install-snapshot`. */
export function installSnapshotRoute(deps: InstallSnapshotDeps): (c: Context) => Promise<Response> {
  // One chunk at a time from body to answer: an install must finish before the
  // next chunk may start a new staged file.
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn);
    queue = run.catch(() => {});
    return run;
  };

  return async (c) => {
    const req = c.req.raw;
    const framed = req.headers.get("content-type") === SNAPSHOT_FRAMES_TYPE;
    const header = framed ? decodeStreamHeaders(req.headers) : decodeChunkHeaders(req.headers);
    if (!header.ok) {
      await req.body?.cancel().catch(() => {});
      return c.json({ error: header.error }, 400);
    }
    const h = header.value;
    const chunkAt = (offset: number, crc32: number): ChunkHeader => ({ ...h, offset, crc32 });
    const refusal = (
      status: 400 | 409 | 413,
      error: string,
      term = deps.currentTerm(),
      nextOffset = deps.receiver.nextOffsetFor(chunkAt(h.offset, 0)),
    ) => c.json({ term, nextOffset, error } satisfies RefusalBody, status);
    // Checked before the body is read too, so a stale leader costs no body read.
    if (h.term < deps.currentTerm()) {
      await req.body?.cancel().catch(() => {});
      return refusal(409, "stale term");
    }
    /** One chunk to the receiver: the answer to send, or where the next chunk goes. */
    const take = (chunk: ChunkHeader, bytes: Uint8Array) =>
      serially(async (): Promise<Response | { nextOffset: number }> => {
        // The term may have moved while the body arrived.
        if (chunk.term < deps.currentTerm()) return refusal(409, "stale term");
        const r = await deps.receiver.offer(chunk, bytes);
        switch (r.kind) {
          case "partial":
            return { nextOffset: r.nextOffset };
          case "refused":
            // An assembler's term is one this replica heard from a newer leader, maybe not yet adopted.
            return refusal(
              r.status,
              r.error,
              Math.max(deps.currentTerm(), r.term ?? 0),
              r.nextOffset,
            );
          case "complete":
            return c.json(await deps.install(chunk, r.staged));
        }
      });
    const partial = (nextOffset: number) =>
      c.json(
        { term: deps.currentTerm(), nextOffset, done: false } satisfies PartialAnswerBody,
      );

    if (!framed) {
      const body = await readBytes(req, MAX_CHUNK_BYTES);
      if (!body.ok) return c.json({ error: body.error }, body.status);
      const r = await take(h as ChunkHeader, body.bytes);
      return r instanceof Response ? r : partial(r.nextOffset);
    }
    return await takeFrames(h, req.body, take, partial, refusal);
  };
}

/**
 * The frames of a streamed body, each taken as a chunk at the offset after
 * the last; answers at the first refusal (the rest of the body is dropped),
 * at the install, or at the end of the body with where to go on. An empty
 * body at offset 0 is the probe.
 */
async function takeFrames(
  h: StreamHeader,
  body: ReadableStream<Uint8Array> | null,
  take: (chunk: ChunkHeader, bytes: Uint8Array) => Promise<Response | { nextOffset: number }>,
  partial: (nextOffset: number) => Response,
  refusal: (status: 400 | 413, error: string) => Response,
): Promise<Response> {
  const frames = new FrameReader(body ?? new ReadableStream({ start: (c) => c.close() }));
  let offset = h.offset;
  let first = true;
  for (;;) {
    const f = await frames.next();
    if (f.kind === "bad") {
      await frames.cancel();
      return refusal(f.status, f.error);
    }
    if (f.kind === "end") {
      if (!first) return partial(offset);
      // No frame at all: the probe (an empty chunk, which the assembler answers).
      const r = await take({ ...h, crc32: 0 }, new Uint8Array(0));
      return r instanceof Response ? r : partial(r.nextOffset);
    }
    first = false;
    const r = await take({ ...h, offset, crc32: f.crc32 }, f.bytes);
    if (r instanceof Response) {
      await frames.cancel();
      return r;
    }
    offset = r.nextOffset;
  }
}
