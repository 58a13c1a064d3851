/**
 * The peer streams over real sockets: the sending end (PeerStreams) against
 * the receiving route behind Deno.serve, with a stand-in for the RPC
 * handler and for the app's token check.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { PEER_STREAM_PATH } from "../protocol/peer_stream.ts";
import type { StreamPath } from "../protocol/peer_stream.ts";
import { eventually } from "../tests/testing/supervisor.ts";
import { PeerStreams, type StreamResult } from "./peer_stream.ts";
import type { StreamAnswer } from "../protocol/peer_stream.ts";
import { peerStreamRoute, type RpcAnswer } from "./peer_stream_route.ts";

const TOKEN = "t0ken";

interface Peer {
  url: string;
  upgrades: number;
  served: { path: StreamPath; body: unknown }[];
  close(): Promise<void>;
}

function peer(withRoute = true): Peer {
  const p = { upgrades: 0, served: [] } as unknown as Peer;
  const app = new Hono();
  app.use("*", async (c, next) => {
    if (c.req.header("authorization") !== `Bearer ${TOKEN}`) return c.json({ error: "token" }, 401);
    await next();
  });
  const serveRpc = async (path: StreamPath, body: unknown): Promise<RpcAnswer> => {
    p.served.push({ path, body });
    const b = body as { wait?: number; n?: number };
    if (b.wait) await new Promise((r) => setTimeout(r, b.wait));
    if (b.n === undefined) return { status: 400, json: { error: "no n" } };
    return { status: 200, json: { echo: b.n } };
  };
  if (withRoute) {
    app.use(PEER_STREAM_PATH, async (_c, next) => {
      p.upgrades++;
      await next();
    });
    app.get(
      PEER_STREAM_PATH,
      peerStreamRoute({ serve: serveRpc, maxBytes: 1024, onError: () => {} }),
    );
  }
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
  p.url = `http://127.0.0.1:${server.addr.port}`;
  p.close = () => server.shutdown();
  return p;
}

/** An answer, not a loss. */
function answer(r: StreamResult | null | undefined): StreamAnswer {
  assert.ok(r && typeof r === "object", `no answer: ${r}`);
  return r;
}

/** Asks until the stream is open and answers; returns the first answer. */
function openAndAsk(s: PeerStreams, url: string, body: string) {
  return eventually(() => s.request(url, "/heartbeat", body, 2000), 5000, "stream open");
}

Deno.test("peer stream: null until open, then answers paired by seq even out of order", async () => {
  const p = peer();
  const s = new PeerStreams(TOKEN, 1000);
  try {
    assert.equal(s.request(p.url, "/heartbeat", '{"n":0}', 1000), null, "not open yet: post it");
    assert.equal(answer(await openAndAsk(s, p.url, '{"n":1}')).body, '{"echo":1}');
    const slow = s.request(p.url, "/append-entries", '{"n":2,"wait":200}', 2000)!;
    const fast = s.request(p.url, "/heartbeat", '{"n":3}', 2000)!;
    const bad = s.request(p.url, "/heartbeat", "{}", 2000)!;
    const notJson = s.request(p.url, "/heartbeat", "{not json", 2000)!;
    const first = await Promise.race([slow.then(() => "slow"), fast.then(() => "fast")]);
    assert.equal(first, "fast");
    const [a, b] = [answer(await slow), answer(await fast)];
    assert.deepEqual([a.status, a.body, b.status, b.body], [200, '{"echo":2}', 200, '{"echo":3}']);
    assert.equal(b.seq, a.seq + 1);
    assert.equal(answer(await bad).status, 400);
    assert.equal(answer(await notJson).status, 400);
    assert.equal(p.upgrades, 1, "one stream for all of it");
  } finally {
    s.close();
    await p.close();
  }
});

Deno.test("peer stream: a request unanswered in time is lost and the stream reopens", async () => {
  const p = peer();
  const s = new PeerStreams(TOKEN, 1000);
  try {
    await openAndAsk(s, p.url, '{"n":1}');
    assert.equal(await s.request(p.url, "/heartbeat", '{"n":2,"wait":500}', 50), "timeout");
    assert.equal(s.request(p.url, "/heartbeat", '{"n":3}', 1000), null, "closed: post it");
    assert.equal(answer(await openAndAsk(s, p.url, '{"n":4}')).body, '{"echo":4}');
    assert.equal(p.upgrades, 2);
  } finally {
    s.close();
    await p.close();
  }
});

Deno.test("peer stream: a peer without it, or a wrong token, leaves posting, with backoff", async () => {
  for (const [p, token] of [[peer(false), TOKEN], [peer(), "wrong"]] as const) {
    const s = new PeerStreams(token, 1000);
    try {
      const started = Date.now();
      while (Date.now() - started < 600) {
        assert.equal(s.request(p.url, "/heartbeat", '{"n":1}', 1000), null);
        await new Promise((r) => setTimeout(r, 5));
      }
      // 100, 200, 400 ms apart: a handful of tries in 600 ms, not one per send.
      assert.ok(p.upgrades <= 4, `${p.upgrades} upgrade attempts`);
      assert.equal(p.served.length, 0);
    } finally {
      s.close();
      await p.close();
    }
  }
});

Deno.test("peer stream route: bad messages close the socket; a plain GET is a 400", async () => {
  const p = peer();
  try {
    const plain = await fetch(p.url + PEER_STREAM_PATH, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(plain.status, 400);
    await plain.body?.cancel();
    const closeCodeAfter = async (message: string | Uint8Array) => {
      const ws = new (WebSocket as unknown as new (u: string, o: unknown) => WebSocket)(
        p.url.replace("http", "ws") + PEER_STREAM_PATH,
        { headers: { authorization: `Bearer ${TOKEN}` } },
      );
      await new Promise((r) => ws.onopen = r);
      const closed = new Promise<number>((r) => ws.onclose = (e) => r(e.code));
      ws.send(message);
      return await closed;
    };
    assert.equal(await closeCodeAfter("garbage"), 1007);
    assert.equal(await closeCodeAfter("1 /status\n{}"), 1007);
    assert.equal(await closeCodeAfter(new Uint8Array([1, 2, 3])), 1007);
    assert.equal(await closeCodeAfter(`1 /heartbeat\n${"x".repeat(2000)}`), 1009);
    assert.equal(p.served.length, 0, "nothing reached the handler");
  } finally {
    await p.close();
  }
});

Deno.test("peer stream: warm opens a stream before any request, once per URL", async () => {
  const [p, down] = [peer(), peer()];
  await down.close();
  const s = new PeerStreams(TOKEN, 1000);
  try {
    s.warm([p.url, down.url]);
    s.warm([p.url]);
    await eventually(() => p.upgrades === 1 || undefined, 5000, "upgraded");
    await eventually(() => s.request(p.url, "/heartbeat", '{"n":1}', 1000), 5000, "open");
    assert.equal(p.upgrades, 1, "warming an open stream opens no other");
    assert.deepEqual(p.served.map((x) => x.body), [{ n: 1 }], "the first request went on it");
  } finally {
    s.close();
    await p.close();
  }
});
