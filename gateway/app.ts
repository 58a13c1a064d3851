/**
 * HTTP routes of the gateway: `/ws` (WebSocket, `board=` or a view-only `view=` token),
 * `/status`, `/healthz`, `/boards`, `/boards/NAME/view-link` and `/cluster/events`.
 */
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
import type { BoardDirectory, BoardListing } from "./boards.ts";
import type { ViewTokens } from "./view_token.ts";
import type { GatewayMetrics } from "./metrics.ts";
import type { ClusterEvents } from "./cluster_events.ts";

/** What the routes read from. */
export interface AppDeps {
  hub: Hub;
  cluster: Cluster;
  stream: CommitStream;
  log: Logger;
  boards: BoardDirectory;
  viewTokens: ViewTokens;
  metrics?: GatewayMetrics;
  /** The dashboard's server-sent events (absent in tests that do not need them). */
  events?: ClusterEvents;
}

/** What the `/ws` checks hand to the upgrade. */
interface WsParams {
  board: string;
  since: number;
  name?: string;
  /** Set for a view-only session: the token, which its hello shows instead of the board. */
  view?: string;
}

type Env = { Variables: { ws: WsParams } };

/** The cluster view served by `/status` and pushed as `{type:"cluster"}`. */
export function clusterStatus(deps: AppDeps): ClusterStatus {
  return deps.cluster.status(deps.hub.clientCount, deps.stream.lastIndex);
}

/** `GET /boards`: the cluster's boards and this gateway's clients; null when no replica answered. */
export function boardList(deps: AppDeps): Promise<BoardListing[] | null> {
  return deps.boards.list(deps.hub.clientsByBoard());
}

const BOARD_RULE = "board must be 1-64 chars of [A-Za-z0-9_.-]";

/** Builds the Hono app. */
export function createApp(deps: AppDeps): Hono<Env> {
  const app = new Hono<Env>();
  // Read-only and public, so the UI on another port may poll it.
  app.use("/status", cors());
  app.use("/healthz", cors());
  app.use("/boards", cors());
  app.get("/healthz", (c) => c.json({ ok: true, leaderId: deps.cluster.leader?.id ?? null }));
  app.get("/status", (c) => c.json(clusterStatus(deps)));
  app.get("/cluster/events", (c) => deps.events?.respond(c.req.raw) ?? c.notFound());
  app.use("/boards/*", cors());
  app.get("/boards", async (c) => {
    const boards = await boardList(deps);
    if (boards === null) return c.json({ error: "no replica answered; try again" }, 503);
    return c.json({ boards });
  });
  // Anyone may ask: whoever knows a board's name can already draw on it.
  app.get("/boards/:name/view-link", async (c) => {
    const name = c.req.param("name");
    if (!isBoardName(name)) return c.json({ error: BOARD_RULE }, 400);
    return c.json({ view: await deps.viewTokens.seal(name) });
  });
  // Open like /status: counts and latencies, no board names or content.
  app.get(
    "/metrics",
    (c) => deps.metrics?.registry.response() ?? c.json({ error: "no metrics" }, 404),
  );
  const upgrade = upgradeWebSocket((c) => {
    let session: Session | undefined;
    return {
      onOpen: (_e, ws) => {
        const p = c.get("ws");
        session = deps.hub.open(ws.raw as WebSocket, p.board, p.since, {
          name: p.name,
          readOnly: p.view !== undefined,
          helloBoard: p.view,
        });
      },
      onMessage: (e) => session?.onMessage(e.data),
      onClose: () => session?.onClosed(),
      onError: () => session?.onClosed(),
    };
  });
  app.get(
    "/ws",
    async (c, next) => {
      const view = c.req.query("view");
      const sinceText = c.req.query("since") ?? "0";
      const since = Number(sinceText);
      if (!/^\d+$/.test(sinceText) || !isIndex(since)) {
        return c.json({ error: "since must be a non-negative integer" }, 400);
      }
      const name = c.req.query("name");
      if (view === undefined) {
        const board = c.req.query("board") ?? DEFAULT_BOARD;
        if (!isBoardName(board)) return c.json({ error: BOARD_RULE }, 400);
        c.set("ws", { board, since, name });
        return await next();
      }
      if (c.req.query("board") !== undefined) {
        return c.json({ error: "give board= or view=, not both" }, 400);
      }
      const board = await deps.viewTokens.open(view);
      if (board === null) {
        return c.json({ error: "bad view token: not a view link of this cluster" }, 400);
      }
      c.set("ws", { board, since, name, view });
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
