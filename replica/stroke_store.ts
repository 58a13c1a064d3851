/**
 * The replica's state machine: the committed strokes in log order, with each
 * stroke id at most once. A stroke whose id was already committed (a retry
 * that reached a new leader before it learned of the first copy) is applied
 * as a no-op at its index, so every replica skips the same entries and
 * `/entries` never shows an id twice.
 */
import type { LogEntry } from "../protocol/mod.ts";

/** Committed, de-duplicated entries and the waiters for new ones. */
export class StrokeStore {
  /** applied[i] is the entry at index i + 1 as applied (duplicates become no-ops). */
  private applied: LogEntry[] = [];
  private firstIndexOf = new Map<string, number>();
  private wakeups = new Set<() => void>();

  /** Index of the last applied entry. */
  lastIndex(): number {
    return this.applied.length;
  }

  /** Index where stroke `id` was first committed, if it was. */
  indexOf(id: string): number | undefined {
    return this.firstIndexOf.get(id);
  }

  /** Applies committed entries in order; returns them as applied. */
  apply(entries: LogEntry[]): LogEntry[] {
    const out: LogEntry[] = [];
    for (const e of entries) {
      if (e.index !== this.applied.length + 1) {
        throw new Error(`apply of ${e.index} after ${this.applied.length}: entries out of order`);
      }
      let applied = e;
      if ("stroke" in e) {
        if (this.firstIndexOf.has(e.stroke.id)) {
          applied = { index: e.index, term: e.term, noop: true };
        } else {
          this.firstIndexOf.set(e.stroke.id, e.index);
        }
      }
      this.applied.push(applied);
      out.push(applied);
    }
    if (entries.length > 0) this.wake();
    return out;
  }

  /** Applied entries from index `from` on, at most `limit`. */
  entries(from: number, limit: number): LogEntry[] {
    return this.applied.slice(Math.max(from, 1) - 1, Math.max(from, 1) - 1 + limit);
  }

  /** Resolves when an entry at or past `index` is applied, or after `waitMs`, or on abort. */
  waitFor(index: number, waitMs: number, signal?: AbortSignal): Promise<void> {
    if (this.applied.length >= index || waitMs <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeups.delete(check);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const check = () => {
        if (this.applied.length >= index) done();
      };
      const timer = setTimeout(done, waitMs);
      signal?.addEventListener("abort", done);
      this.wakeups.add(check);
    });
  }

  private wake(): void {
    for (const check of [...this.wakeups]) check();
  }
}
