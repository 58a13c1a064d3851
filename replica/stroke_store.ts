/**
 * The replica's state machine: the committed strokes in log order, with each
 * stroke at most once per board (ids are the clients', so two boards may use
 * the same one). A stroke whose (board, id) was already committed (a retry
 * that reached a new leader before it learned of the first copy) is applied
 * as a no-op at its index, so every replica skips the same entries and
 * `/entries` never shows a stroke twice.
 */
import { type LogEntry, type Stroke, strokeKey } from "../protocol/mod.ts";

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

  /** Index where the stroke (its id on its board) was first committed, if it was. */
  indexOf(stroke: Pick<Stroke, "id" | "board">): number | undefined {
    return this.firstIndexOf.get(strokeKey(stroke));
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
        const key = strokeKey(e.stroke);
        if (this.firstIndexOf.has(key)) {
          applied = { index: e.index, term: e.term, noop: true };
        } else {
          this.firstIndexOf.set(key, e.index);
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
