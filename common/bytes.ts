/** Byte helpers the replica's files, sockets and bodies share. */

/**
 * The parts as one array (the part itself when there is one: no copy). Typed by the parts'
 * buffer, so that parts on plain ArrayBuffers give a request body `fetch` takes.
 */
export function concat<B extends ArrayBufferLike>(
  parts: readonly Uint8Array<B>[],
): Uint8Array<B | ArrayBuffer> {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Writes all of `bytes` (a write may take fewer). */
export async function writeAll(
  to: { write(p: Uint8Array): Promise<number> },
  bytes: Uint8Array,
): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += await to.write(bytes.subarray(done));
}
