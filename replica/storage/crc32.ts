/**
 * CRC-32 (IEEE 802.3, the zlib/PNG polynomial), table-driven. The durable log
 * checksums every record with it to detect torn or corrupted writes.
 */

const POLYNOMIAL_REVERSED = 0xedb88320;

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? POLYNOMIAL_REVERSED ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 of `bytes` as an unsigned 32-bit integer. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * Length of the shortest non-empty prefix of `bytes` whose CRC-32 is `target`,
 * or -1: one pass instead of one checksum per candidate length.
 */
export function crc32PrefixLength(bytes: Uint8Array, target: number): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) {
    c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
    if (((c ^ 0xffffffff) >>> 0) === target) return i + 1;
  }
  return -1;
}
