/**
 * Request bodies with a hard size limit, for every route that takes one (the
 * JSON RPCs and proposals, the snapshot chunks): never more than `limit`
 * bytes are buffered, whatever the sender declares or streams.
 */
import { concat } from "../common/bytes.ts";

/** The bytes of a body, or the status and error to answer with. */
export type BytesResult =
  | { ok: true; bytes: Uint8Array }
  | { ok: false; status: 400 | 413; error: string };

/** A parsed JSON body, or the status and error to answer with. */
export type BodyResult =
  | { ok: true; value: unknown }
  | { ok: false; status: 400 | 413; error: string };

/**
 * Reads a body: a declared length over the limit is refused before reading,
 * a streamed one as soon as it passes the limit, one the sender cut short is
 * a 400 (not an error of ours). No body is zero bytes.
 */
export async function readBytes(req: Request, limit: number): Promise<BytesResult> {
  const tooLarge = { ok: false, status: 413, error: `body over ${limit} bytes` } as const;
  if (Number(req.headers.get("content-length") ?? NaN) > limit) {
    await req.body?.cancel().catch(() => {});
    return tooLarge;
  }
  if (!req.body) return { ok: true, bytes: new Uint8Array(0) };
  const parts: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel().catch(() => {});
        return tooLarge;
      }
      parts.push(value);
    }
  } catch {
    // The sender went away mid-body; nobody reads this answer, but nothing of it may count.
    return { ok: false, status: 400, error: "body cut short" };
  }
  return { ok: true, bytes: concat(parts) };
}

/** Reads a JSON body (UTF-8, strictly) under the same limit. */
export async function readJson(req: Request, limit: number): Promise<BodyResult> {
  if (!req.body) return { ok: false, status: 400, error: "body must be JSON" };
  const body = await readBytes(req, limit);
  if (!body.ok) return body;
  try {
    return {
      ok: true,
      value: JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body.bytes)),
    };
  } catch {
    return { ok: false, status: 400, error: "body is not valid JSON" };
  }
}
