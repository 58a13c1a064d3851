/** HTTP routes of the gateway: `/ws` (WebSocket), `/status`, `/healthz`, `/boards`, `/cluster/events`. */
import { Hono } from "hono";
import { cors } from "hono/cors";
import { upgradeWebSocket } from "hono/deno";
import type { ClusterStatus } from "../protocol/mod.ts";
import { DEFAULT_BOARD, isBoardName, isIndex } from "../protocol/mod.ts";
import type { Cluster } from "./cluster.ts";
import type { CommitStream } from "./commit_stream.ts";
import type { Logger } from "../common/log.ts";
import type { Hub } from "./hub.ts";
import type { Session } from "./sessions.ts";
import type { ClusterEvents } from "./cluster_events.ts";

/** What the routes read from. */
export interface AppDeps {
  hub: Hub;
  cluster: Cluster;
  stream: CommitStream;
  log: Logger;
  /** The dashboard's server-sent events (absent in tests that do not need them). */
  events?: ClusterEvents;
}

type Env = { Variables: { board: string; since: number } };

/** The cluster view served by `/status` and pushed as `{type:"cluster"}`. */
export function clusterStatus(deps: AppDeps): ClusterStatus {
  return deps.cluster.status(deps.hub.clientCount, deps.stream.lastIndex);
}

/** `GET /boards`: every board with strokes or clients, from counters (no history is kept). */
export function boardList(deps: AppDeps): { name: string; entries: number; clients: number }[] {
  const counts = deps.stream.boardCounts();
  const clients = deps.hub.clientsByBoard();
  const names = new Set([...counts.keys(), ...clients.keys()]);
  return [...names].sort().map((name) => ({
    name,
    entries: counts.get(name) ?? 0,
    clients: clients.get(name) ?? 0,
  }));
}

/** Builds the Hono app. */
export function createApp(deps: AppDeps): Hono<Env> {
  const app = new Hono<Env>();
  // Read-only and public, so the UI on another port may poll it.
  app.use("/status", cors());
  app.use("/healthz", cors());
  app.use("/boards", cors());
  app.get("/healthz", (c) => c.json({ ok: true, leaderId: deps.cluster.leader?.id ?? null }));
  app.get("/status", (c) => c.json(clusterStatus(deps)));
  app.get("/boards", (c) => c.json({ boards: boardList(deps) }));
  app.get("/cluster/events", (c) => deps.events?.respond(c.req.raw) ?? c.notFound());
  const upgrade = upgradeWebSocket((c) => {
    let session: Session | undefined;
    return {
      onOpen: (_e, ws) => {
        session = deps.hub.open(ws.raw as WebSocket, c.get("board"), c.get("since"));
      },
      onMessage: (e) => session?.onMessage(e.data),
      onClose: () => session?.onClosed(),
      onError: () => session?.onClosed(),
    };
  });
  app.get(
    "/ws",
    async (c, next) => {
      const board = c.req.query("board") ?? DEFAULT_BOARD;
      const sinceText = c.req.query("since") ?? "0";
      if (!isBoardName(board)) {
        return c.json({ error: "board must be 1-64 chars of [A-Za-z0-9_.-]" }, 400);
      }
      const since = Number(sinceText);
      if (!/^\d+$/.test(sinceText) || !isIndex(since)) {
        return c.json({ error: "since must be a non-negative integer" }, 400);
      }
      c.set("board", board);
      c.set("since", since);
      await next();
    },
    async (c, next) => {
      try {
        return await upgrade(c, next);
      } catch (e) {
        // Deno refuses a malformed handshake (missing key, wrong version) by throwing.
        return c.json({ error: `bad WebSocket handshake: ${(e as Error).message}` }, 400);
      }
    },
    (c) => c.json({ error: "expected a WebSocket upgrade" }, 426),
  );
  app.notFound((c) => c.json({ error: "not found" }, 404));
  app.onError((e, c) => {
    deps.log.error("http_error", { path: c.req.path, error: String(e) });
    return c.json({ error: "internal error" }, 500);
  });
  return app;
}
