/**
 * The replica's snapshot receiver: the pure assembler over a file in
 * DATA_DIR, `snapshot.incoming`. The hash state lives in memory only, so a
 * partial file cannot be resumed after a restart and is deleted when the
 * receiver opens: "resumable" means across broken connections within one
 * process life, which is the case that matters (a restart costs one full
 * transfer, and keeps this file free of a format of its own).
 */
import { createHash } from "node:crypto";
import type { ChunkHeader, SnapshotMeta } from "../../protocol/snapshot.ts";
import {
  type OfferResult,
  type Sha256,
  SnapshotAssembler,
  type SnapshotSink,
} from "./assembler.ts";

export const INCOMING_FILE_NAME = "snapshot.incoming";

/** A whole, checked and fsynced snapshot waiting at `path` to be installed. */
export interface StagedSnapshot {
  path: string;
  meta: SnapshotMeta;
  /** From the first chunk taken to the last (for the log line). */
  receiveMs: number;
  /** The fsync of the whole file. */
  sealMs: number;
}

export type ReceiveResult =
  | Exclude<OfferResult, { kind: "complete" }>
  | { kind: "complete"; staged: StagedSnapshot };

function nodeSha256(): Sha256 {
  const h = createHash("sha256");
  return { update: (b) => void h.update(b), hex: () => h.digest("hex") };
}

/** Bytes written between two early flushes of the staged file (see `FileSink.append`). */
const FLUSH_EVERY_BYTES = 8 * 1024 * 1024;

/** Appends to one file; the length is counted here, so it is never asked of the disk. */
class FileSink implements SnapshotSink {
  #file: Deno.FsFile | null = null;
  /** A second handle on the file, for flushes that run while frames go on being written. */
  #flusher: Deno.FsFile | null = null;
  #flushing: Promise<void> | null = null;
  #unflushed = 0;
  #length = 0;

  constructor(readonly path: string) {}

  length(): number {
    return this.#length;
  }

  /**
   * Synchronous on purpose: a frame is written to the page cache in about a
   * millisecond, while Deno 2.9's async write, awaited while a request body
   * streams in, took 25 ms per call (6 MiB/s, against 200 with writeSync).
   * Every 8 MiB, the pages written so far start going to disk in the
   * background (fdatasync on the second handle, in Deno's thread pool), so
   * the fsync at the end has only the tail left: at 1M strokes (133 MB) it
   * took ~200 ms all at the end.
   */
  async append(bytes: Uint8Array): Promise<void> {
    if (!this.#file) {
      this.#file = await Deno.open(this.path, { write: true, create: true, truncate: true });
      this.#flusher = await Deno.open(this.path, { write: true });
    }
    let done = 0;
    while (done < bytes.length) done += this.#file.writeSync(bytes.subarray(done));
    this.#length += bytes.length;
    this.#unflushed += bytes.length;
    if (this.#unflushed >= FLUSH_EVERY_BYTES && !this.#flushing) {
      this.#unflushed = 0;
      const flusher = this.#flusher!;
      this.#flushing = flusher.syncData().catch(() => {}).finally(() => this.#flushing = null);
    }
  }

  async reset(): Promise<void> {
    await this.#close();
    this.#length = 0;
    await Deno.remove(this.path).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
  }

  /** Makes the bytes durable and lets go of the file (it now belongs to the installer). */
  async seal(): Promise<void> {
    if (!this.#file) {
      // An empty snapshot never opened the file.
      this.#file = await Deno.open(this.path, { write: true, create: true, truncate: true });
    }
    await this.#flushing;
    await this.#file.sync();
    await this.#close();
  }

  async #close(): Promise<void> {
    await this.#flushing;
    this.#file?.close();
    this.#flusher?.close();
    this.#file = this.#flusher = null;
    this.#unflushed = 0;
  }
}

export class SnapshotReceiver {
  readonly #sink: FileSink;
  readonly #assembler: SnapshotAssembler;
  // The file is sealed after the assembler is done with a chunk: no other chunk may start between.
  #queue: Promise<unknown> = Promise.resolve();
  #firstChunkAt = 0;

  private constructor(readonly path: string) {
    this.#sink = new FileSink(path);
    this.#assembler = new SnapshotAssembler(this.#sink, nodeSha256);
  }

  /** A receiver staging into `${dataDir}/snapshot.incoming`; a file left by an earlier process is deleted. */
  static async open(dataDir: string): Promise<SnapshotReceiver> {
    const r = new SnapshotReceiver(`${dataDir}/${INCOMING_FILE_NAME}`);
    await r.#sink.reset();
    return r;
  }

  /** Where a sender of `h`'s snapshot should go on. */
  nextOffsetFor(h: ChunkHeader): number {
    return this.#assembler.nextOffsetFor(h);
  }

  /** Takes or refuses a chunk; on the last one, fsyncs the file and hands it over. */
  offer(h: ChunkHeader, body: Uint8Array): Promise<ReceiveResult> {
    const run = this.#queue.then(() => this.#offer(h, body));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #offer(h: ChunkHeader, body: Uint8Array): Promise<ReceiveResult> {
    const empty = this.#sink.length() === 0;
    const r = await this.#assembler.offer(h, body);
    if (r.kind === "refused") return r;
    if (empty) this.#firstChunkAt = Date.now();
    if (r.kind !== "complete") return r;
    const sealing = Date.now();
    await this.#sink.seal();
    const sealMs = Date.now() - sealing;
    const receiveMs = sealing - this.#firstChunkAt;
    return { kind: "complete", staged: { path: this.path, meta: r.meta, receiveMs, sealMs } };
  }

  /** Deletes the staged file, whole or partial (after a failed install, or to give up). */
  async discard(): Promise<void> {
    await this.#queue;
    await this.#assembler.clear();
  }
}
