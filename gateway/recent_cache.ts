/**
 * The gateway's bounded memory of the committed log: the strokes and board ops of the most
 * recent entries, filed by board. Every entry of a board above that board's floor (the last of
 * its entries evicted) is here; older ones are read back from a replica. The floor is per board so that a
 * session on a quiet board stays in step however busy the others are. The bound is a number
 * of strokes over all boards, so the gateway's memory does not grow with the history (a stroke
 * is at most ~1 KiB: its id and board are bounded, the rest are numbers and a colour).
 */
import {
  type BoardEntry,
  DEFAULT_BOARD,
  hasStrokeShape,
  isObject,
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

/** What `read` answers: the board's entries after `after`, complete through index `through`. */
export interface CacheRead {
  entries: BoardEntry[];
  through: number;
}

/**
 * The board a committed entry belongs to and the entry as clients get it; null for no-ops,
 * configurations and kinds this gateway does not know. The payloads passed a replica's
 * `/propose`, so only what filing needs is checked (an op's id, targets and board).
 */
export function boardEntryOf(e: LogEntry): { board: string; entry: BoardEntry } | null {
  if ("stroke" in e) {
    if (!hasStrokeShape(e.stroke)) return null;
    return { board: e.stroke.board ?? DEFAULT_BOARD, entry: { index: e.index, stroke: e.stroke } };
  }
  const kind = "erase" in e ? "erase" : "restore" in e ? "restore" : "clear" in e ? "clear" : null;
  if (kind === null) return null;
  const op = (e as unknown as Record<string, unknown>)[kind];
  if (!isObject(op) || typeof op.id !== "string") return null;
  if (op.board !== undefined && typeof op.board !== "string") return null;
  if (kind !== "clear" && !Array.isArray(op.targets)) return null;
  const board = (op.board as string | undefined) ?? DEFAULT_BOARD;
  return { board, entry: { index: e.index, [kind]: op } as unknown as BoardEntry };
}

/** Recent committed entries of every board, at most `maxEntries` of them. */
export class RecentCache {
  readonly #boards = new Map<string, Fifo<BoardEntry>>();
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

  /** Takes in a committed entry of `board`; indexes must ascend. */
  add(board: string, entry: BoardEntry): void {
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
    const entries: BoardEntry[] = [];
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
