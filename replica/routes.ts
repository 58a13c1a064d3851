/**
 * The replica's HTTP surface (CONTRACT.md): the seed's RPCs, status, the
 * committed-entry feed and proposals. Every input is validated here, so the
 * core only ever sees well-formed messages.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import {
  type BoardsResponse,
  decodeEntriesQuery,
  decodeProposeRequest,
  type EntriesQuery,
  itemKey,
  MAX_BOARDS_LISTED,
  type NotLeaderResponse,
  parseJson,
  type ProposeResponse,
  PROTOCOL_VERSION,
  type ReplicaState,
  type StatusResponse,
} from "../protocol/mod.ts";
import { FORWARDED_BY_HEADER, forwardProposal } from "./forward_proposal.ts";
import {
  decodeRequest,
  encodeResponse,
  type RequestMessage,
  type ResponseMessage,
  RPC_PATHS,
  type RpcPath,
} from "../protocol/rpc.ts";
import {
  ENTRIES_PATH,
  PEER_STREAM_PATH,
  PROPOSE_PATH,
  STREAM_PAGE_BYTES,
  type StreamPath,
} from "../protocol/peer_stream.ts";
import { type JsonAnswer, peerStreamRoute, type RpcAnswer } from "./peer_stream_route.ts";
import type { ReplicaConfig } from "./config.ts";
import { type Driver, ProposalLostError } from "./driver.ts";
import { NotLeaderError, RaftInvariantError, type Role } from "./raft/types.ts";
import type { PeerDirectory } from "./peers.ts";
import type { Say } from "./log_line.ts";
import { type FinalAnswerBody, SNAPSHOT_PATH } from "../protocol/snapshot.ts";
import { installSnapshotRoute } from "./snapshot/route.ts";
import type { SnapshotReceiver } from "./snapshot/receiver.ts";
import { READY_FILE_NAME } from "./open_state.ts";
import { StateDb } from "./state_db.ts";
import { ReplicaClient } from "./client.ts";
import { membersRoutes } from "./members_routes.ts";
import { isDiskFull } from "./storage/disk_full.ts";
import { readJson } from "./read_body.ts";
import { ReplicaMetrics } from "./metrics.ts";

/** Largest accepted request body (a bulk sync-log chunk stays well below). */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;
const MAX_ENTRIES_LIMIT = 10_000;
const DEFAULT_ENTRIES_LIMIT = 1000;
const MAX_WAIT_MS = 30_000;
const PROPOSE_TIMEOUT_MS = 10_000;

/** The seed names three states; a pre-candidate is campaigning, so it shows as candidate. */
export function seedState(role: Role): ReplicaState {
  return role === "leader" ? "leader" : role === "follower" ? "follower" : "candidate";
}

function queryIndex(c: Context, key: string, fallback: number, max: number): number | null {
  const raw = c.req.query(key);
  if (raw === undefined) return fallback;
  if (!/^\d{1,16}$/.test(raw)) return null;
  const n = Number(raw);
  return Number.isSafeInteger(n) ? Math.min(n, max) : null;
}

/** Builds the Hono app of one replica. */
export function replicaApp(
  cfg: ReplicaConfig,
  driver: Driver,
  peers: PeerDirectory,
  receiver: SnapshotReceiver,
  { say, fatal, metrics = new ReplicaMetrics(() => driver) }: {
    say: Say;
    fatal: (e: unknown) => void;
    metrics?: ReplicaMetrics;
  },
): Hono {
  const app = new Hono();
  app.use("*", metrics.refusals());
  /** What an exception in a handler does (its caller answers 500). */
  const onError = (e: unknown) => {
    // An impossible state must stop the replica, never pass for a failed request.
    if (e instanceof RaftInvariantError || isDiskFull(e)) fatal(e);
    say("http_error", { error: String(e) }, "err");
  };
  const urlOf = (id: string | null) => id === null ? null : peers.urlOf(id) ?? null;
  /** When a leader of the current term last reached this replica (for `/status`, the dashboard). */
  let leaderContactAt: number | null = null;

  app.use("*", async (c, next) => {
    // `/status` and `/metrics` stay open (CONTRACT.md): numbers about the cluster, no content.
    const open = c.req.method === "GET" && (c.req.path === "/status" || c.req.path === "/metrics");
    if (cfg.clusterToken && !open) {
      if (c.req.header("authorization") !== `Bearer ${cfg.clusterToken}`) {
        await c.req.raw.body?.cancel().catch(() => {});
        return c.json({ error: "missing or wrong cluster token" }, 401);
      }
    }
    await next();
  });

  // Bulk catch-up is rare and worth seeing (the seed's sync-log demo).
  const logSync = (req: RequestMessage, answer: ResponseMessage) => {
    if (req.type !== "appendEntries" || answer.type !== "appendEntriesResponse") return;
    say("sync_log_received", {
      fromIndex: req.prevLogIndex,
      entries: req.entries.length,
      success: answer.success,
      syncedUpTo: answer.matchIndex,
    });
  };

  // The middleware above let only token holders through when there is a token: their entries
  // all passed some replica's /propose, so a shape check is enough. Without a token, anyone on
  // loopback may call, and every stroke is validated fully.
  const trust = cfg.clusterToken ? "shape" : "full";
  /** One RPC, from a POST or the peer stream: its status and JSON answer. */
  const serveRpc = async (path: RpcPath, body: unknown): Promise<JsonAnswer> => {
    const req = decodeRequest(path, body, cfg.replicaId, trust);
    if (!req.ok) return { status: 400, json: { error: req.error } };
    // A sender we cannot name yet is likely a peer that was down when we
    // started: ask the unnamed URLs who they are before answering.
    if (!peers.isPeer(req.value.from)) await peers.learn();
    const answer = await driver.handleRpc(req.value);
    const fromLeader = req.value.type === "appendEntries" || req.value.type === "heartbeat";
    if (fromLeader && answer.term === req.value.term) leaderContactAt = Date.now();
    if (req.value.type === "appendEntries" && req.value.bulk) logSync(req.value, answer);
    return { status: 200, json: encodeResponse(path, answer) };
  };
  for (const path of RPC_PATHS) {
    app.post(path, async (c) => {
      const body = await readJson(c.req.raw, MAX_BODY_BYTES);
      if (!body.ok) return c.json({ error: body.error }, body.status);
      const { status, json } = await serveRpc(path, body.value);
      return c.json(json, status);
    });
  }
  // The peer stream carries the RPCs and, from a gateway, proposals and long polls of entries
  // (`serveProposal` and `serveEntries` are below).
  const serveStreamed = (
    path: StreamPath,
    body: unknown,
    signal: AbortSignal,
  ): Promise<RpcAnswer> => {
    if (path === PROPOSE_PATH) return serveProposal(body, { forwarded: false, signal });
    if (path !== ENTRIES_PATH) return serveRpc(path, body);
    const q = decodeEntriesQuery(body);
    if (!q.ok) return Promise.resolve({ status: 400, json: { error: q.error } });
    return serveEntries(q.value, STREAM_PAGE_BYTES, signal).then((text) => ({ status: 200, text }));
  };
  app.get(
    PEER_STREAM_PATH,
    peerStreamRoute({ serve: serveStreamed, maxBytes: MAX_BODY_BYTES, onError }),
  );

  // A snapshot from the leader, chunk by chunk; the whole of it is stepped into the core.
  app.post(
    SNAPSHOT_PATH,
    installSnapshotRoute({
      receiver,
      currentTerm: () => driver.node.status().term,
      install: async (h, staged): Promise<FinalAnswerBody> => {
        // Out of the receiver's way: the next snapshot may start staging at once.
        const ready = `${cfg.dataDir}/${READY_FILE_NAME}`;
        await Deno.rename(staged.path, ready);
        if (!peers.isPeer(h.leaderId)) await peers.learn();
        const installing = Date.now();
        const answer = await driver.installSnapshot({
          type: "installSnapshot",
          from: h.leaderId,
          to: cfg.replicaId,
          term: h.term,
          snapshotIndex: h.meta.index,
          snapshotTerm: h.meta.term,
          members: StateDb.membersIn(ready),
        }, ready);
        if (answer.type !== "installSnapshotResponse") throw new Error(`answered ${answer.type}`);
        metrics.onSnapshotReceived(h.meta.bytes, answer.success);
        say("snapshot_received", {
          index: h.meta.index,
          bytes: h.meta.bytes,
          success: answer.success,
          matchIndex: answer.matchIndex,
          receive_ms: staged.receiveMs,
          seal_ms: staged.sealMs,
          install_ms: Date.now() - installing,
        });
        const { term, success, matchIndex, logLength, incarnation } = answer;
        return { term, done: true, success, matchIndex, logLength, incarnation };
      },
    }),
  );

  app.get("/status", (c) => {
    const st = driver.node.status();
    return c.json(
      {
        replicaId: cfg.replicaId,
        state: seedState(st.role),
        term: st.term,
        commitIndex: st.commitIndex,
        logLength: st.lastIndex,
        leaderId: st.leaderId,
        leaderUrl: urlOf(st.leaderId),
        appliedIndex: driver.store.lastIndex(),
        appliedSinceStart: driver.store.appliedSinceOpen,
        recovering: st.recovering,
        voter: st.voter,
        snapshotIndex: st.snapshotIndex,
        protocolVersion: PROTOCOL_VERSION,
        lastContactMs: st.role === "leader" || leaderContactAt === null
          ? undefined
          : Date.now() - leaderContactAt,
        rssBytes: Deno.memoryUsage().rss,
      } satisfies StatusResponse,
    );
  });

  app.get("/metrics", () => metrics.registry.response());

  /**
   * An `/entries` answer (`EntriesResponse`'s JSON) of at most `maxBytes` but one entry, once
   * entry `from` is applied or the wait is over.
   */
  const serveEntries = async (
    q: EntriesQuery,
    maxBytes: number,
    signal: AbortSignal,
  ): Promise<string> => {
    const from = Math.max(q.from, 1);
    await driver.store.waitFor(from, Math.min(q.waitMs ?? 0, MAX_WAIT_MS), signal);
    // Written from the stored JSON (`StateDb.entriesJson`).
    const limit = Math.min(q.limit ?? DEFAULT_ENTRIES_LIMIT, MAX_ENTRIES_LIMIT);
    const entries = driver.store.entriesJson(from, limit, maxBytes);
    return `{"entries":${entries},"commitIndex":${driver.node.status().commitIndex}}`;
  };
  app.get("/entries", async (c) => {
    const from = queryIndex(c, "from", 1, Number.MAX_SAFE_INTEGER);
    const limit = queryIndex(c, "limit", DEFAULT_ENTRIES_LIMIT, MAX_ENTRIES_LIMIT);
    const waitMs = queryIndex(c, "waitMs", 0, MAX_WAIT_MS);
    if (from === null || limit === null || waitMs === null) {
      return c.json({ error: "from, limit and waitMs must be non-negative integers" }, 400);
    }
    const page = await serveEntries({ from, limit, waitMs }, Infinity, c.req.raw.signal);
    return c.body(page, 200, { "content-type": "application/json" });
  });

  // Boards with committed strokes or ops, from the counts the apply keeps (no history scan).
  app.get("/boards", (c) => {
    const limit = queryIndex(c, "limit", MAX_BOARDS_LISTED, MAX_BOARDS_LISTED);
    if (limit === null) return c.json({ error: "limit must be a non-negative integer" }, 400);
    return c.json({ boards: driver.store.boards(limit) } satisfies BoardsResponse);
  });

  /**
   * One proposal, from a POST or a peer stream (the gateway's): its status and
   * JSON answer. `forwarded`: it came from a follower relaying it, which must
   * not be relayed again; `signal`: the caller went away.
   */
  const serveProposal = async (
    body: unknown,
    { forwarded, signal }: { forwarded: boolean; signal?: AbortSignal },
  ): Promise<JsonAnswer> => {
    // Full validation even from the gateway: what is committed is replayed to every page forever.
    const proposal = decodeProposeRequest(body);
    if (!proposal.ok) return { status: 400, json: { error: proposal.error } };
    const { items } = proposal.value;
    metrics.proposalsReceived.inc({}, items.length);
    try {
      const proposedAt = performance.now();
      const indexes = await driver.proposeItems(items, PROPOSE_TIMEOUT_MS);
      metrics.proposalsCommitted.inc({}, items.length);
      metrics.commitLatency.observe((performance.now() - proposedAt) / 1000, {}, items.length);
      return {
        status: 200,
        json: {
          results: items.map((item, i) => ({ id: itemKey(item).id, index: indexes[i] })),
          commitIndex: driver.node.status().commitIndex,
        } satisfies ProposeResponse,
      };
    } catch (e) {
      if (e instanceof NotLeaderError) {
        const leaderUrl = urlOf(e.leaderId);
        if (e.leaderId && leaderUrl && e.leaderId !== cfg.replicaId && !forwarded) {
          const res = await forwardProposal(items, {
            leaderId: e.leaderId,
            leaderUrl,
            replicaId: cfg.replicaId,
            clusterToken: cfg.clusterToken,
            timeoutMs: PROPOSE_TIMEOUT_MS,
            signal,
          });
          const answer = parseJson(await res.text());
          return answer.ok
            ? { status: res.status as ContentfulStatusCode, json: answer.value }
            : { status: 502, json: { error: `leader ${e.leaderId} answered with no JSON` } };
        }
        const status = e.leaderId && e.leaderId !== cfg.replicaId ? 421 : 503;
        return {
          status,
          json: { error: e.message, leaderId: e.leaderId, leaderUrl } satisfies NotLeaderResponse,
        };
      }
      if (e instanceof ProposalLostError) return { status: 503, json: { error: e.message } };
      throw e;
    }
  };
  app.post("/propose", async (c) => {
    const body = await readJson(c.req.raw, MAX_BODY_BYTES);
    if (!body.ok) return c.json({ error: body.error }, body.status);
    const forwarded = c.req.header(FORWARDED_BY_HEADER) !== undefined;
    const { status, json } = await serveProposal(body.value, {
      forwarded,
      signal: c.req.raw.signal,
    });
    return c.json(json, status);
  });

  // `/status` is open: a new member can be asked who it is without the token.
  const client = new ReplicaClient(null, cfg.electionTimeoutMinMs * 2);
  membersRoutes(app, { cfg, driver, client, urlOf, say });

  app.notFound((c) => c.json({ error: `no route ${c.req.method} ${c.req.path}` }, 404));
  app.onError((e, c) => {
    onError(e);
    return c.json({ error: "internal error" }, 500);
  });
  return app;
}
