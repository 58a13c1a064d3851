/**
 * Reads the frames of a streamed snapshot body (protocol/snapshot.ts: a
 * 4-byte length, a 4-byte CRC-32, that many bytes) off a request body as it
 * arrives, never holding more than one frame. The frame's buffer is reused
 * for the next one: a caller is done with it when it asks for the next.
 */
import { FRAME_HEADER_BYTES, MAX_CHUNK_BYTES } from "../../protocol/snapshot.ts";

export type FrameResult =
  | { kind: "frame"; crc32: number; bytes: Uint8Array }
  | { kind: "end" }
  | { kind: "bad"; status: 400 | 413; error: string };

export class FrameReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  /** What the last read left over past the frame it completed. */
  #rest: Uint8Array = new Uint8Array(0);
  #buf: Uint8Array = new Uint8Array(0);
  readonly #header = new Uint8Array(FRAME_HEADER_BYTES);

  constructor(body: ReadableStream<Uint8Array>) {
    this.#reader = body.getReader();
  }

  /** The next frame, the clean end of the body, or what was wrong with it. */
  async next(): Promise<FrameResult> {
    const head = await this.#fill(this.#header, true);
    if (head === "end") return { kind: "end" };
    if (head !== "ok") return head;
    const view = new DataView(this.#header.buffer);
    const length = view.getUint32(0);
    const crc32 = view.getUint32(4);
    if (length > MAX_CHUNK_BYTES) {
      return { kind: "bad", status: 413, error: `frame over ${MAX_CHUNK_BYTES} bytes` };
    }
    if (this.#buf.length < length) this.#buf = new Uint8Array(length);
    const bytes = this.#buf.subarray(0, length);
    const body = await this.#fill(bytes, false);
    if (body !== "ok") return body === "end" ? cutShort : body;
    return { kind: "frame", crc32, bytes };
  }

  /** Stops reading (after a refusal: the rest of the body is not wanted). */
  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }

  /** Fills `target` whole; "end" when the body ended before its first byte (and `atBoundary`). */
  async #fill(
    target: Uint8Array,
    atBoundary: boolean,
  ): Promise<"ok" | "end" | Extract<FrameResult, { kind: "bad" }>> {
    let filled = 0;
    while (filled < target.length) {
      if (this.#rest.length === 0) {
        let r: ReadableStreamReadResult<Uint8Array>;
        try {
          r = await this.#reader.read();
        } catch {
          return cutShort; // the sender went away mid-body
        }
        if (r.done) return filled === 0 && atBoundary ? "end" : cutShort;
        this.#rest = r.value;
      }
      const n = Math.min(this.#rest.length, target.length - filled);
      target.set(this.#rest.subarray(0, n), filled);
      this.#rest = this.#rest.subarray(n);
      filled += n;
    }
    return "ok";
  }
}

const cutShort = { kind: "bad", status: 400, error: "body cut short" } as const;

/** The 8-byte header of a frame of `length` bytes with `crc32`. */
export function frameHeader(length: number, crc32: number): Uint8Array<ArrayBuffer> {
  const header = new Uint8Array(FRAME_HEADER_BYTES);
  const view = new DataView(header.buffer);
  view.setUint32(0, length);
  view.setUint32(4, crc32);
  return header;
}
