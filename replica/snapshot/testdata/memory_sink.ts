/** A snapshot sink in memory, for the assembler tests, where no file is wanted. */
import type { SnapshotSink } from "../assembler.ts";

export class MemorySink implements SnapshotSink {
  #parts: Uint8Array[] = [];
  #length = 0;

  length(): number {
    return this.#length;
  }

  append(bytes: Uint8Array): void {
    // A copy: the caller may reuse its buffer.
    this.#parts.push(bytes.slice());
    this.#length += bytes.length;
  }

  reset(): void {
    this.#parts = [];
    this.#length = 0;
  }

  /** Everything appended since the last reset, as one array. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.#length);
    let at = 0;
    for (const p of this.#parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}
