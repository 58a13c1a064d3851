/**
 * Reassembles a snapshot from its chunks: pure logic over an injected sink
 * (a file in the replica, memory in the simulator) and an injected
 * incremental SHA-256, so that nothing here touches Deno or node:crypto.
 *
 * The one rule behind every decision: the sink holds a prefix of exactly one
 * snapshot, and the hash has been fed exactly that prefix, in order. So a
 * chunk is taken only at the sink's end, a different snapshot only from
 * offset 0 (replacing the old prefix), and a refusal changes nothing. Once
 * the last byte is in, the digest decides.
 */
import { type ChunkHeader, MAX_CHUNK_BYTES, type SnapshotMeta } from "../../protocol/snapshot.ts";
import { crc32 } from "../storage/crc32.ts";

/** Where the received bytes go. */
export interface SnapshotSink {
  length(): number;
  append(bytes: Uint8Array): void | Promise<void>;
  /** Forgets every byte (length() is 0 after). */
  reset(): void | Promise<void>;
}

/** An incremental SHA-256. */
export interface Sha256 {
  update(bytes: Uint8Array): void;
  /** Digest of everything fed, lowercase hex. */
  hex(): string;
}

export type OfferResult =
  | { kind: "partial"; nextOffset: number }
  | { kind: "complete"; meta: SnapshotMeta }
  | {
    kind: "refused";
    status: 400 | 409;
    error: string;
    nextOffset: number;
    /** Set when the chunk is refused as coming from an older term than this one. */
    term?: number;
  };

interface Receiving {
  meta: SnapshotMeta;
  term: number;
  leaderId: string;
}

const sameMeta = (a: SnapshotMeta, b: SnapshotMeta) =>
  a.index === b.index && a.term === b.term && a.bytes === b.bytes && a.sha256 === b.sha256;

export class SnapshotAssembler {
  #receiving: Receiving | null = null;
  #hash: Sha256;
  // offer() awaits the sink: two requests in flight must not interleave their appends.
  #queue: Promise<unknown> = Promise.resolve();

  constructor(readonly sink: SnapshotSink, private readonly newHash: () => Sha256) {
    this.#hash = newHash();
  }

  /** The snapshot being received (its leader and term), if any. */
  receiving(): Readonly<Receiving> | null {
    return this.#receiving;
  }

  /** Where a sender of `h`'s snapshot should go on: the staged length for it, 0 for another. */
  nextOffsetFor(h: ChunkHeader): number {
    return this.#isCurrent(h) ? this.sink.length() : 0;
  }

  /** Takes or refuses one chunk; offers run one at a time in arrival order. */
  offer(h: ChunkHeader, body: Uint8Array): Promise<OfferResult> {
    const run = this.#queue.then(() => this.#offer(h, body));
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Drops the partial snapshot (e.g. once the caller installed or gave up on it). */
  async clear(): Promise<void> {
    await this.#queue;
    await this.#restart(null);
  }

  async #offer(h: ChunkHeader, body: Uint8Array): Promise<OfferResult> {
    const refuse = (status: 400 | 409, error: string, term?: number): OfferResult => ({
      kind: "refused",
      status,
      error,
      nextOffset: this.nextOffsetFor(h),
      ...(term === undefined ? {} : { term }),
    });
    if (crc32(body) !== h.crc32) return refuse(400, "chunk crc32 mismatch");
    if (body.length > MAX_CHUNK_BYTES) return refuse(400, `chunk over ${MAX_CHUNK_BYTES} bytes`);
    if (h.offset + body.length > h.meta.bytes) return refuse(400, "chunk ends past the snapshot");
    const current = this.#receiving;
    // We have heard from a leader of a newer term, so this one is stale. Were it
    // let in at offset 0 (same index: the same state, maybe other bytes), it would
    // wipe the newer leader's progress, and two leaders that both still send
    // would wipe each other's forever. The route's check against the replica's
    // term cannot catch this while the replica has not adopted the newer term.
    if (current && h.term < current.term) {
      return refuse(409, `a snapshot from term ${current.term} is being received`, current.term);
    }
    if (!this.#isCurrent(h)) {
      if (h.offset !== 0) return refuse(409, "another snapshot is being received; start at 0");
      await this.#restart({ meta: h.meta, term: h.term, leaderId: h.leaderId });
    } else if (body.length === 0 && h.offset === 0) {
      // The probe of a sender that lost its connection: resume, never restart.
      this.#adopt(h);
      return this.#progress();
    } else if (h.offset !== this.sink.length()) {
      return refuse(409, `expected offset ${this.sink.length()}`);
    }
    this.#adopt(h);
    if (body.length > 0) {
      try {
        await this.sink.append(body);
      } catch (e) {
        // A half-done append leaves the sink and the hash out of step: start over.
        await this.#restart(null);
        throw e;
      }
      this.#hash.update(body);
    }
    return this.#progress();
  }

  async #progress(): Promise<OfferResult> {
    const meta = this.#receiving!.meta;
    if (this.sink.length() < meta.bytes) return { kind: "partial", nextOffset: this.sink.length() };
    const digest = this.#hash.hex();
    if (digest !== meta.sha256) {
      await this.#restart(null);
      return {
        kind: "refused",
        status: 400,
        error: `snapshot sha256 mismatch (got ${digest}); send it again`,
        nextOffset: 0,
      };
    }
    // The sink now holds the whole snapshot for the caller; the next chunk starts afresh.
    this.#receiving = null;
    this.#hash = this.newHash();
    return { kind: "complete", meta };
  }

  #isCurrent(h: ChunkHeader): boolean {
    return this.#receiving !== null && sameMeta(this.#receiving.meta, h.meta);
  }

  /** The same snapshot from a newer leader: later refusals name the newer term. */
  #adopt(h: ChunkHeader): void {
    const r = this.#receiving!;
    if (h.term > r.term) this.#receiving = { ...r, term: h.term, leaderId: h.leaderId };
  }

  async #restart(next: Receiving | null): Promise<void> {
    await this.sink.reset();
    this.#hash = this.newHash();
    this.#receiving = next;
  }
}
