/**
 * `POST /install-snapshot`: one chunk in, one small JSON answer out. Input is
 * checked here (body size, headers, term) before the receiver sees it; the
 * cluster token is checked by the app's middleware before this runs.
 */
import type { Context } from "hono";
import {
  type ChunkHeader,
  decodeChunkHeaders,
  type FinalAnswerBody,
  MAX_CHUNK_BYTES,
  type PartialAnswerBody,
  type RefusalBody,
} from "../../protocol/snapshot.ts";
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
    const header = decodeChunkHeaders(req.headers);
    if (!header.ok) {
      await req.body?.cancel().catch(() => {});
      return c.json({ error: header.error }, 400);
    }
    const h = header.value;
    const refusal = (
      status: 400 | 409,
      error: string,
      term = deps.currentTerm(),
      nextOffset = deps.receiver.nextOffsetFor(h),
    ) => c.json({ term, nextOffset, error } satisfies RefusalBody, status);
    // Checked before the body is read too, so a stale leader costs no 4 MiB read.
    if (h.term < deps.currentTerm()) {
      await req.body?.cancel().catch(() => {});
      return refusal(409, "stale term");
    }
    const body = await readBytes(req, MAX_CHUNK_BYTES);
    if (!body.ok) return c.json({ error: body.error }, body.status);
    return await serially(async () => {
      // The term may have moved while the body arrived.
      if (h.term < deps.currentTerm()) return refusal(409, "stale term");
      const r = await deps.receiver.offer(h, body.bytes);
      switch (r.kind) {
        case "partial":
          return c.json(
            {
              term: deps.currentTerm(),
              nextOffset: r.nextOffset,
              done: false,
            } satisfies PartialAnswerBody,
          );
        case "refused":
          // An assembler's term is one this replica heard from a newer leader, maybe not yet adopted.
          return refusal(
            r.status,
            r.error,
            Math.max(deps.currentTerm(), r.term ?? 0),
            r.nextOffset,
          );
        case "complete":
          return c.json(await deps.install(h, r.staged));
      }
    });
  };
}
