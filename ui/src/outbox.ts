/**
 * The outbox: every own stroke and board operation is kept in IndexedDB from
 * the moment it is made until the gateway acks it (durable) or its committed
 * copy arrives, so a reload or a crashed tab sends it again with the same id
 * and it commits exactly once (the replicas refuse a second entry of an id).
 *
 * Writes are batched: everything made in one task goes out in one
 * transaction, and a put followed by its delete before the flush never
 * touches the disk. Items are tagged with the tab that made them; a page
 * takes back its own (same tab id across a reload) and those of tabs that
 * are gone, which it tells from the Web Locks every live tab holds.
 */
import type { OutMessage } from "./board_state.ts";

/** One stored item. */
export interface OutboxRecord {
  /** `board` and the item's id: unique. */
  key: string;
  board: string;
  /** The tab that sends it. */
  tab: string;
  seq: number;
  msg: OutMessage;
}

/** Where records go: IndexedDB in the page, memory in tests. */
export interface OutboxBackend {
  /** Applies puts and deletes as one transaction. */
  write(puts: readonly OutboxRecord[], deletes: readonly string[]): Promise<void>;
  /** Every record of `board`, any order. */
  list(board: string): Promise<OutboxRecord[]>;
}

/** The stored key of item `id` on `board`. */
export function recordKey(board: string, id: string): string {
  return `${board}\n${id}`;
}

/** One board's outbox for one tab. */
export class Outbox {
  /** Queued changes by key: a record to put, or null to delete. */
  #queue = new Map<string, OutboxRecord | null>();
  #flushing: Promise<void> | null = null;
  #scheduled = false;
  /** Keys known to be on disk now. */
  readonly #stored = new Set<string>();
  /** Called after each flush (the page updates its "saved" text). */
  onFlushed: () => void = () => {};

  constructor(readonly backend: OutboxBackend, readonly board: string, readonly tab: string) {}

  /** How many items are durably stored right now. */
  get storedCount(): number {
    return this.#stored.size;
  }

  /** Keeps an item until `remove(id)`. */
  save(id: string, seq: number, msg: OutMessage): void {
    const key = recordKey(this.board, id);
    this.#queue.set(key, { key, board: this.board, tab: this.tab, seq, msg });
    this.#schedule();
  }

  /** The item is acked or committed: forget it. */
  remove(id: string): void {
    const key = recordKey(this.board, id);
    // Never written and not being written: nothing to delete on disk.
    if (this.#queue.get(key) && !this.#stored.has(key) && this.#flushing === null) {
      this.#queue.delete(key);
      return;
    }
    this.#queue.set(key, null);
    this.#schedule();
  }

  /**
   * The items this tab should send: its own and those of tabs no longer open
   * (`isLive(tab)` false), oldest first. Adopted items are re-tagged as ours.
   */
  async adopt(isLive: (tab: string) => boolean): Promise<OutboxRecord[]> {
    await this.flush();
    const all = await this.backend.list(this.board);
    const mine = all.filter((r) => r.tab === this.tab || !isLive(r.tab));
    for (const r of mine) {
      this.#stored.add(r.key);
      if (r.tab !== this.tab) this.#queue.set(r.key, { ...r, tab: this.tab });
    }
    if (this.#queue.size > 0) this.#schedule();
    return mine.sort((a, b) => a.seq - b.seq);
  }

  /** Writes everything queued so far; resolves once it is on disk. */
  async flush(): Promise<void> {
    while (this.#flushing !== null) await this.#flushing;
    if (this.#queue.size === 0) return;
    const batch = this.#queue;
    this.#queue = new Map();
    const puts: OutboxRecord[] = [];
    const deletes: string[] = [];
    for (const [key, rec] of batch) rec ? puts.push(rec) : deletes.push(key);
    this.#flushing = this.backend.write(puts, deletes).then(
      () => {
        for (const r of puts) this.#stored.add(r.key);
        for (const k of deletes) this.#stored.delete(k);
      },
      (e) => {
        // Keep what failed for the next flush, unless newer changes replaced it.
        console.warn("outbox write failed:", e);
        for (const [key, rec] of batch) if (!this.#queue.has(key)) this.#queue.set(key, rec);
      },
    ).finally(() => {
      this.#flushing = null;
      this.onFlushed();
    });
    await this.#flushing;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setTimeout(() => {
      this.#scheduled = false;
      this.flush().then(() => {
        if (this.#queue.size > 0) this.#schedule();
      });
    }, 0);
  }
}

/** A backend in memory, for tests (and the page when IndexedDB is unavailable). */
export function memoryBackend(): OutboxBackend & { records: Map<string, OutboxRecord> } {
  const records = new Map<string, OutboxRecord>();
  return {
    records,
    write(puts, deletes) {
      for (const r of puts) records.set(r.key, structuredClone(r));
      for (const k of deletes) records.delete(k);
      return Promise.resolve();
    },
    list(board) {
      return Promise.resolve(
        [...records.values()].filter((r) => r.board === board).map((r) => structuredClone(r)),
      );
    },
  };
}

const DB_NAME = "whiteboard-outbox";
const STORE = "items";

/** The IndexedDB backend, or null where IndexedDB is missing (then the outbox lives in memory). */
export function indexedDbBackend(): OutboxBackend | null {
  if (typeof indexedDB === "undefined") return null;
  let db: Promise<IDBDatabase> | null = null;
  const open = () =>
    db ??= new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => {
        req.result.createObjectStore(STORE, { keyPath: "key" }).createIndex("board", "board");
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  return {
    async write(puts, deletes) {
      const tx = (await open()).transaction(STORE, "readwrite");
      const store = tx.objectStore(STORE);
      for (const r of puts) store.put(r);
      for (const k of deletes) store.delete(k);
      await new Promise<void>((resolve, reject) => {
        tx.oncomplete = () => resolve();
        tx.onerror = tx.onabort = () => reject(tx.error);
      });
    },
    async list(board) {
      const req = (await open()).transaction(STORE).objectStore(STORE).index("board").getAll(board);
      return await new Promise<OutboxRecord[]>((resolve, reject) => {
        req.onsuccess = () => resolve(req.result as OutboxRecord[]);
        req.onerror = () => reject(req.error);
      });
    },
  };
}

const LOCK_PREFIX = "whiteboard-tab:";
/** How long a reloaded page waits for its previous document to let go of the tab's lock. */
const LOCK_WAIT_MS = 3000;

/** The tab id this page uses, and a way to tell which tabs are open now. */
export interface TabClaim {
  tab: string;
  liveTabs(): Promise<(tab: string) => boolean>;
}

/**
 * Holds this tab's Web Lock for the page's lifetime. A reload keeps the tab
 * id (its lock is let go as the old document goes); a duplicated tab, whose
 * copied id stays locked by the original, gets a fresh id from `fresh()`.
 * Without Web Locks (plain http on a LAN host is not a secure context) every
 * other tab counts as gone: its items are then sent twice at worst, which the
 * ids make harmless.
 */
export async function claimTab(candidate: string, fresh: () => string): Promise<TabClaim> {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (!locks) return { tab: candidate, liveTabs: () => Promise.resolve((t) => t === candidate) };
  const hold = (name: string, signal?: AbortSignal) =>
    new Promise<boolean>((resolve) => {
      locks.request(LOCK_PREFIX + name, { signal }, () => {
        resolve(true);
        return new Promise<void>(() => {}); // released when the page goes away
      }).catch(() => resolve(false));
    });
  let tab = candidate;
  if (!await hold(tab, AbortSignal.timeout(LOCK_WAIT_MS))) {
    tab = fresh();
    await hold(tab);
  }
  return {
    tab,
    liveTabs: async () => {
      const state = await locks.query();
      const live = new Set((state.held ?? []).map((l) => l.name ?? ""));
      return (t: string) => t === tab || live.has(LOCK_PREFIX + t);
    },
  };
}
