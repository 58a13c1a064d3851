/**
 * `GET /boards` on the gateway: the boards the cluster holds (entries counted by the replicas'
 * state machines, so every gateway agrees and none reads the history for it) joined with the
 * clients connected to this gateway. A short-lived cache keeps a page that polls the list
 * from turning into one replica call per poll.
 */
import { type BoardSummary, MAX_BOARDS_LISTED } from "../protocol/mod.ts";
import type { ReplicaClient } from "../replica/client.ts";
import type { Cluster } from "./cluster.ts";

/** One row of the gateway's list. */
export interface BoardListing {
  name: string;
  entries: number;
  clients: number;
}

/** How long one replica answer serves the list. */
const CACHE_MS = 500;

/** One per gateway. */
export class BoardDirectory {
  #cached: { atMs: number; boards: BoardSummary[] } | null = null;
  #inFlight: Promise<BoardSummary[] | null> | null = null;

  constructor(
    readonly cluster: Pick<Cluster, "leader" | "reachableUrls" | "urls">,
    readonly client: Pick<ReplicaClient, "boards">,
    readonly timeoutMs = 2000,
  ) {}

  /**
   * Boards with clients first (most clients first), then the most recently active; at most
   * `MAX_BOARDS_LISTED`. Null when no replica answered.
   */
  async list(clients: ReadonlyMap<string, number>): Promise<BoardListing[] | null> {
    const boards = await this.#fetch();
    if (boards === null) return null;
    const rows = new Map<string, BoardListing & { lastIndex: number }>();
    for (const b of boards) rows.set(b.name, { ...b, clients: clients.get(b.name) ?? 0 });
    for (const [name, n] of clients) {
      const row = rows.get(name);
      if (row) row.clients = n;
      else rows.set(name, { name, entries: 0, lastIndex: 0, clients: n });
    }
    return [...rows.values()]
      .sort((a, b) =>
        b.clients - a.clients || b.lastIndex - a.lastIndex || a.name.localeCompare(b.name)
      )
      .slice(0, MAX_BOARDS_LISTED)
      .map(({ name, entries, clients }) => ({ name, entries, clients }));
  }

  #fetch(): Promise<BoardSummary[] | null> {
    const c = this.#cached;
    if (c && performance.now() - c.atMs < CACHE_MS) return Promise.resolve(c.boards);
    this.#inFlight ??= this.#ask().finally(() => this.#inFlight = null);
    return this.#inFlight;
  }

  /** The leader first (freshest counts), then every other replica until one answers. */
  async #ask(): Promise<BoardSummary[] | null> {
    const leader = this.cluster.leader?.url;
    const urls = [
      ...new Set([
        ...(leader ? [leader] : []),
        ...this.cluster.reachableUrls(),
        ...this.cluster.urls,
      ]),
    ];
    for (const url of urls) {
      try {
        const reply = await this.client.boards(url, { timeoutMs: this.timeoutMs });
        if (!reply.ok) continue;
        this.#cached = { atMs: performance.now(), boards: reply.value.boards };
        return reply.value.boards;
      } catch {
        // Down or slow: the next one.
      }
    }
    return null;
  }
}
