/**
 * A stand-in gateway for UI tests: speaks the WebSocket protocol of
 * CONTRACT.md on 127.0.0.1 with an in-memory log, so the page can be tested
 * without replicas. It can hold strokes back (a cluster without leader) and
 * drop every socket (a gateway restart).
 */
import type { ClusterStatus, CommittedStroke, ServerMessage, Stroke } from "../../protocol/mod.ts";
import { isIndex, parseJson } from "../../protocol/validate.ts";
import { decodeClientMessage, refusalCode, strokeIdOf } from "../../protocol/ws.ts";

/** A running fake gateway. */
export interface FakeGateway {
  /** ws://127.0.0.1:PORT/ws */
  url: string;
  /** The committed log, index = position + 1. */
  log: CommittedStroke[];
  /** Every stroke message received, resends included. */
  received: Stroke[];
  /** The query string of every connection, in order. */
  connections: URLSearchParams[];
  /** While true, strokes wait unacked (as during an election). */
  holdStrokes: boolean;
  /** Commits the strokes held back, in arrival order. */
  release(): void;
  /** Closes every client socket (clients should reconnect). */
  dropAll(): void;
  /** Forgets the log, as a cluster whose disks were all wiped would. */
  wipe(): void;
  close(): Promise<void>;
}

const CLUSTER: ClusterStatus = {
  leaderId: "replica1",
  leaderUrl: "http://127.0.0.1:9001",
  term: 3,
  commitIndex: 0,
  replicas: [],
  clients: 0,
};

/** Starts the fake on a free port of 127.0.0.1. */
export function startFakeGateway(): FakeGateway {
  const sockets = new Set<WebSocket>();
  const held: { stroke: Stroke; from: WebSocket }[] = [];
  const send = (ws: WebSocket, msg: ServerMessage) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  };

  const commit = (stroke: Stroke, from: WebSocket) => {
    const existing = gw.log.find((e) => e.stroke.id === stroke.id);
    if (existing) return send(from, { type: "ack", id: stroke.id, index: existing.index });
    const entry = { index: gw.log.length + 1, stroke };
    gw.log.push(entry);
    send(from, { type: "ack", id: stroke.id, index: entry.index });
    for (const ws of sockets) send(ws, { type: "strokes", entries: [entry] });
  };

  /** hello, the replay after `since`, then the cluster status: the order of CONTRACT.md. */
  const greet = (ws: WebSocket, since: number) => {
    sockets.add(ws);
    send(ws, { type: "hello", clientId: "fake", board: "default", commitIndex: gw.log.length });
    const replay = gw.log.filter((e) => e.index > since);
    if (replay.length > 0) send(ws, { type: "strokes", entries: replay });
    const status = { ...CLUSTER, commitIndex: gw.log.length, clients: sockets.size };
    send(ws, { type: "cluster", status });
  };

  const onMessage = (ws: WebSocket, data: unknown) => {
    const parsed = parseJson(String(data));
    const raw = parsed.ok ? parsed.value : undefined;
    const msg = decodeClientMessage(raw);
    if (!msg.ok) {
      const code = refusalCode(raw);
      return send(ws, { type: "error", id: strokeIdOf(raw), code, message: msg.error });
    }
    if (msg.value.type !== "stroke") return;
    const { stroke } = msg.value;
    gw.received.push(stroke);
    if (gw.holdStrokes) held.push({ stroke, from: ws });
    else commit(stroke, ws);
  };

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const url = new URL(req.url);
    if (url.pathname !== "/ws") return new Response("not found", { status: 404 });
    const { socket, response } = Deno.upgradeWebSocket(req);
    gw.connections.push(url.searchParams);
    const sinceText = url.searchParams.get("since") ?? "0";
    const since = isIndex(Number(sinceText)) ? Number(sinceText) : 0;
    socket.onopen = () => greet(socket, since);
    socket.onmessage = (ev) => onMessage(socket, ev.data);
    socket.onclose = () => sockets.delete(socket);
    return response;
  });

  const gw: FakeGateway = {
    url: `ws://127.0.0.1:${server.addr.port}/ws`,
    log: [],
    received: [],
    connections: [],
    holdStrokes: false,
    release() {
      for (const h of held.splice(0)) commit(h.stroke, h.from);
    },
    dropAll() {
      for (const ws of sockets) ws.close(1012, "restart");
      sockets.clear();
    },
    wipe() {
      gw.log.length = 0;
    },
    async close() {
      gw.dropAll();
      await server.shutdown();
    },
  };
  return gw;
}
