/**
 * The gateway's bounded memory of the committed log: the strokes of the most recent entries,
 * filed by board. Every stroke of a board above that board's floor (the last of its strokes
 * evicted) is here; older ones are read back from a replica. The floor is per board so that a
 * session on a quiet board stays in step however busy the others are. The bound is a number
 * of strokes over all boards, so the gateway's memory does not grow with the history (a stroke
 * is at most ~1 KiB: its id and board are bounded, the rest are numbers and a colour).
 */
import {
  type CommittedStroke,
  DEFAULT_BOARD,
  hasStrokeShape,
  type LogEntry,
} from "../protocol/mod.ts";

/** A FIFO with O(1) amortised shift (Array#shift is O(n) on large arrays). */
class Fifo<T> {
  #items: T[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head++];
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  at(i: number): T {
    return this.#items[this.#head + i];
  }

  /** Position of the first item for which `above` holds (items are sorted by it). */
  firstWhere(above: (item: T) => boolean): number {
    let lo = this.#head;
    let hi = this.#items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (above(this.#items[mid])) hi = mid;
      else lo = mid + 1;
    }
    return lo - this.#head;
  }
}

/** What `read` answers: the board's strokes after `after`, complete through index `through`. */
export interface CacheRead {
  entries: CommittedStroke[];
  through: number;
}

/** The board a committed entry draws on, or null for no-ops and entries that are not strokes. */
export function strokeBoard(e: LogEntry): string | null {
  if (!("stroke" in e) || !hasStrokeShape(e.stroke)) return null;
  return e.stroke.board ?? DEFAULT_BOARD;
}

/** Recent committed strokes of every board, at most `maxEntries` of them. */
export class RecentCache {
  readonly #boards = new Map<string, Fifo<CommittedStroke>>();
  /** The board of each cached stroke, oldest first: eviction takes the oldest of all boards. */
  readonly #order = new Fifo<string>();
  /** Per board, the index of its last evicted stroke (one number per board, not a history). */
  readonly #floors = new Map<string, number>();
  #last = 0;

  constructor(readonly maxEntries: number) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError("the recent cache must hold at least one entry");
    }
  }

  /** Every stroke of `board` above this index (up to `lastIndex`) is cached. */
  floor(board: string): number {
    return this.#floors.get(board) ?? 0;
  }

  /** The last log index taken in. */
  get lastIndex(): number {
    return this.#last;
  }

  /** Strokes held now (the test hook for "memory does not grow with the history"). */
  get size(): number {
    return this.#order.length;
  }

  /** Takes in a committed stroke of `board`; indexes must ascend. */
  add(board: string, entry: CommittedStroke): void {
    if (entry.index <= this.#last) {
      throw new Error(`cache: index ${entry.index} after ${this.#last}`);
    }
    let list = this.#boards.get(board);
    if (!list) this.#boards.set(board, list = new Fifo());
    list.push(entry);
    this.#order.push(board);
    this.#last = entry.index;
    while (this.#order.length > this.maxEntries) this.#evictOldest();
  }

  /** Every entry through `index` has been taken in (no-ops and other kinds advance it too). */
  advance(index: number): void {
    if (index > this.#last) this.#last = index;
  }

  /**
   * Up to `limit` strokes of `board` with an index above `after`, and the index through which
   * they are all of the board's strokes; null when `after` is below the board's floor.
   */
  read(board: string, after: number, limit: number): CacheRead | null {
    if (after < this.floor(board)) return null;
    const list = this.#boards.get(board);
    const entries: CommittedStroke[] = [];
    if (list) {
      const start = list.firstWhere((e) => e.index > after);
      for (let i = start; i < list.length && entries.length < limit; i++) entries.push(list.at(i));
    }
    const through = entries.length === limit ? entries[limit - 1].index : this.#last;
    return { entries, through: Math.max(after, through) };
  }

  #evictOldest(): void {
    const board = this.#order.shift()!;
    const list = this.#boards.get(board)!;
    this.#floors.set(board, list.shift()!.index);
    if (list.length === 0) this.#boards.delete(board);
  }
}
