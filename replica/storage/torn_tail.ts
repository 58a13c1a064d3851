/**
 * Tells a torn tail (what a crash during an append leaves, safe to drop) from
 * corruption (damage to data that was written, which must never be dropped
 * silently: it may hold fsynced votes and acknowledged entries).
 *
 * The model, as etcd's WAL (`decoder.isTornEntry`) has it: a crash loses the
 * end of the last write. After a process crash the file ends with a prefix of
 * it, so the last record is cut short by the end of the file. After a power
 * cut the file may also be longer than what reached the disk, and the sectors
 * that never did read as zeros. Neither leaves an intact record after the
 * damage, nor a complete record with wrong non-zero bytes in every sector.
 */
import { crc32, crc32PrefixLength } from "./crc32.ts";
import { HEADER_BYTES, MAX_PAYLOAD_BYTES } from "./record.ts";

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/** The unit a disk writes atomically (or not at all); etcd uses the same. */
export const SECTOR_BYTES = 512;

/** Verdict on the bytes from the first record that does not decode to the end of the file. */
export type TailVerdict = { torn: true } | { torn: false; reason: string };

/**
 * Judges `tail`, the bytes of the file from offset `tailOffset` (where the
 * first record that does not decode starts) to its end.
 */
export function judgeTail(tail: Uint8Array, tailOffset: number): TailVerdict {
  const next = findIntactRecord(tail, 1);
  if (next >= 0) {
    return {
      torn: false,
      reason: `damaged record with an intact record after it at byte ${tailOffset + next}`,
    };
  }
  if (tail.length < HEADER_BYTES) return { torn: true }; // a header cut short
  const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  if (tail.subarray(0, HEADER_BYTES).every((b) => b === 0)) return { torn: true }; // unwritten
  const length = view.getUint32(0, true);
  if (length === 0 || length > MAX_PAYLOAD_BYTES) {
    return { torn: false, reason: `impossible record length ${length}` };
  }
  const checksum = view.getUint32(4, true);
  const payload = tail.subarray(HEADER_BYTES, HEADER_BYTES + length);
  if (payload.length < length) {
    // Cut short by the end of the file, unless the bytes there are a whole
    // record of their own checksum: then the length field is what was damaged.
    const whole = crc32PrefixLength(payload, checksum);
    return whole < 0 ? { torn: true } : {
      torn: false,
      reason: `record length ${length} damaged (its checksum covers ${whole} bytes)`,
    };
  }
  if (hasZeroSector(payload, tailOffset + HEADER_BYTES)) return { torn: true };
  return { torn: false, reason: `checksum mismatch in a complete ${length}-byte record` };
}

/**
 * Offset of the first position at or after `from` where a record with a
 * plausible length and a matching checksum starts, or -1. Payloads are JSON,
 * which never holds a zero byte, and every real header does (lengths are below
 * 2^24), so a record found here is not an accident of the payload text.
 */
export function findIntactRecord(bytes: Uint8Array, from: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let p = from; p + HEADER_BYTES <= bytes.length; p++) {
    const length = view.getUint32(p, true);
    if (length === 0 || length > MAX_PAYLOAD_BYTES) continue;
    const end = p + HEADER_BYTES + length;
    if (end > bytes.length) continue;
    // Every payload is a JSON object: two cheap tests spare checksums over random bytes.
    if (bytes[p + HEADER_BYTES] !== OPEN_BRACE || bytes[end - 1] !== CLOSE_BRACE) continue;
    if (crc32(bytes.subarray(p + HEADER_BYTES, end)) === view.getUint32(p + 4, true)) return p;
  }
  return -1;
}

/** True when a sector-aligned piece of `bytes` (at file offset `fileOffset`) is all zeros. */
function hasZeroSector(bytes: Uint8Array, fileOffset: number): boolean {
  let start = 0;
  while (start < bytes.length) {
    const end = Math.min(
      bytes.length,
      start + SECTOR_BYTES - ((fileOffset + start) % SECTOR_BYTES),
    );
    if (bytes.subarray(start, end).every((b) => b === 0)) return true;
    start = end;
  }
  return false;
}
