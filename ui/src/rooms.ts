/**
 * Rooms: which board the page shows (`?board=`), the gateway's board list and
 * view-only links. The gateway's HTTP routes live on the same host and port as
 * its WebSocket, so their base URL is derived from the ws URL.
 */
import { isBoardName } from "../../protocol/stroke.ts";

/** One row of the gateway's `GET /boards`. */
export interface BoardRow {
  name: string;
  entries: number;
  clients: number;
}

/** The http(s) origin of the gateway whose WebSocket is `wsUrl` (ws -> http, wss -> https). */
export function httpBaseFor(wsUrl: string): string {
  const u = new URL(wsUrl);
  u.protocol = u.protocol === "wss:" ? "https:" : "http:";
  return u.origin;
}

/** The page URL showing board `name` (drops any view token: a new board is not view-only). */
export function boardUrl(page: URL, name: string): string {
  const u = new URL(page.href);
  u.search = "";
  u.hash = "";
  u.searchParams.set("board", name);
  return u.href;
}

/** The view-only page URL for `name` with the gateway's token. */
export function viewUrl(page: URL, name: string, token: string): string {
  const u = new URL(boardUrl(page, name));
  u.searchParams.set("view", token);
  return u.href;
}

/** A fresh board name like "board-k3f9x2" (valid for isBoardName). */
export function newBoardName(random: () => number = Math.random): string {
  const alphabet = "abcdefghijkmnpqrstuvwxyz23456789";
  let s = "";
  for (let i = 0; i < 6; i++) s += alphabet[Math.floor(random() * alphabet.length)];
  return `board-${s}`;
}

/** Reads a `GET /boards` body, keeping only well-formed rows. */
export function parseBoardList(body: unknown): BoardRow[] {
  const list = (body as { boards?: unknown })?.boards;
  if (!Array.isArray(list)) return [];
  const rows: BoardRow[] = [];
  for (const r of list) {
    if (r === null || typeof r !== "object" || !isBoardName(r.name)) continue;
    rows.push({
      name: r.name,
      entries: typeof r.entries === "number" ? r.entries : 0,
      clients: typeof r.clients === "number" ? r.clients : 0,
    });
  }
  return rows;
}

/** The gateway's board list; throws with a readable message when it cannot be read. */
export async function fetchBoards(base: string): Promise<BoardRow[]> {
  const res = await fetch(`${base}/boards`, { cache: "no-store" });
  if (!res.ok) throw new Error(`board list: HTTP ${res.status}`);
  return parseBoardList(await res.json());
}

/** A view-only token for board `name`. */
export async function fetchViewToken(base: string, name: string): Promise<string> {
  const res = await fetch(`${base}/boards/${encodeURIComponent(name)}/view-link`);
  if (!res.ok) throw new Error(`view link: HTTP ${res.status}`);
  const body: unknown = await res.json();
  const view = (body as { view?: unknown })?.view;
  if (typeof view !== "string" || view === "") throw new Error("view link: no token");
  return view;
}
