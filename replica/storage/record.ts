/**
 * The record format of the durable log: [u32 payload length][u32 CRC-32 of
 * payload][payload], little-endian, payload JSON of one of entry, truncate,
 * hard state or snapshot point.
 */
import type { HardState, LogEntry, SnapshotPoint } from "../raft/types.ts";
import { crc32 } from "./crc32.ts";

/** One change to the stored log, in the order it was made. */
export type LogRecord =
  | { entry: LogEntry }
  /** Consecutive entries in one record: one encode and one checksum per batch (group commit). */
  | { entries: LogEntry[] }
  /** The stored log now ends at `truncate` (entries after it are dropped). */
  | { truncate: number }
  | { hardState: HardState }
  /**
   * The log was compacted: entries up to this point live in the state
   * machine; the entries that follow start right after it. Only the second
   * record of a rewritten file (after its hard state).
   */
  | { snapshot: SnapshotPoint };

/** Bytes before each payload: length and checksum. */
export const HEADER_BYTES = 8;
/** Far above any real entry (a stroke is ~200 bytes); a larger length field means garbage. */
export const MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Record bytes for `record`, header included. Throws if the payload is too large. */
export function encodeRecord(record: LogRecord): Uint8Array {
  const compact = "entry" in record
    ? { e: record.entry }
    : "entries" in record
    ? { es: record.entries }
    : "truncate" in record
    ? { t: record.truncate }
    : "snapshot" in record
    ? { s: record.snapshot }
    : { h: record.hardState };
  const payload = encoder.encode(JSON.stringify(compact));
  if (payload.length > MAX_PAYLOAD_BYTES) {
    throw new RangeError(`log record of ${payload.length} bytes exceeds ${MAX_PAYLOAD_BYTES}`);
  }
  return frameRecord(payload);
}

/** Header (length, CRC-32) plus `payload`: the framing of every record. */
export function frameRecord(payload: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES + payload.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, payload.length, true);
  view.setUint32(4, crc32(payload), true);
  bytes.set(payload, HEADER_BYTES);
  return bytes;
}

/** What `decodeRecords` found at the front of a buffer. */
export interface DecodeResult {
  records: LogRecord[];
  /** Where each of `records` starts in the buffer. */
  offsets: number[];
  /** Bytes taken by `records`; the rest is an incomplete record or the bad one. */
  consumedBytes: number;
  /** True when decoding stopped at a record that can never become valid. */
  bad: boolean;
}

/**
 * Decodes complete, intact records from the front of `bytes`. It stops at an
 * incomplete record (more bytes may follow) or at a bad one: a zero or absurd
 * length (a zero-filled tail after a crash looks like length 0) or a checksum
 * mismatch. A record whose checksum holds but whose content is not a valid
 * record was written that way, so that throws `RecordContentError` (offsets
 * relative to `bytes`) instead of being skipped.
 */
export function decodeRecords(bytes: Uint8Array): DecodeResult {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: LogRecord[] = [];
  const offsets: number[] = [];
  let offset = 0;
  while (bytes.length - offset >= HEADER_BYTES) {
    const length = view.getUint32(offset, true);
    if (length === 0 || length > MAX_PAYLOAD_BYTES) {
      return { records, offsets, consumedBytes: offset, bad: true };
    }
    const end = offset + HEADER_BYTES + length;
    if (end > bytes.length) break;
    const payload = bytes.subarray(offset + HEADER_BYTES, end);
    if (crc32(payload) !== view.getUint32(offset + 4, true)) {
      return { records, offsets, consumedBytes: offset, bad: true };
    }
    records.push(parsePayload(payload, offset));
    offsets.push(offset);
    offset = end;
  }
  return { records, offsets, consumedBytes: offset, bad: false };
}

/** A record passes its checksum but its content is not a log record: it was written that way. */
export class RecordContentError extends Error {
  constructor(readonly offset: number, readonly reason: string, options?: ErrorOptions) {
    super(`log record at byte ${offset} ${reason}`, options);
  }
}

function parsePayload(payload: Uint8Array, offset: number): LogRecord {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(payload));
  } catch (error) {
    throw new RecordContentError(offset, "passes its checksum but is not JSON", { cause: error });
  }
  const v = (value ?? {}) as { e?: unknown; es?: unknown; t?: unknown; h?: unknown; s?: unknown };
  if (isEntry(v.e)) return { entry: v.e };
  if (Array.isArray(v.es) && v.es.length > 0 && v.es.every(isEntry)) return { entries: v.es };
  if (isIndex(v.t)) return { truncate: v.t };
  if (isHardState(v.h)) return { hardState: v.h };
  if (isSnapshotPoint(v.s)) return { snapshot: v.s };
  throw new RecordContentError(offset, "passes its checksum but is not a log record");
}

/** True for a non-negative safe integer (an index or a term). */
export function isIndex(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

/** True when `v` has the fields a hard state needs. */
export function isHardState(v: unknown): v is HardState {
  const h = v as HardState;
  return typeof h === "object" && h !== null && isIndex(h.term) &&
    typeof h.votedFor === "string" && typeof h.recovering === "boolean";
}

/** True when `v` has a valid index (>= 1) and term; the payload is the core's business. */
export function isEntry(v: unknown): v is LogEntry {
  const e = v as LogEntry;
  return typeof e === "object" && e !== null && isIndex(e.index) && e.index >= 1 &&
    isIndex(e.term);
}

/** True for a snapshot point past index 0. */
export function isSnapshotPoint(v: unknown): v is SnapshotPoint {
  const p = v as SnapshotPoint;
  return typeof p === "object" && p !== null && isIndex(p.index) && p.index >= 1 &&
    isIndex(p.term);
}
