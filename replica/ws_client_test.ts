/** The minimal WebSocket client against Deno's server end, over real sockets. */
import assert from "node:assert/strict";
import { WsClient } from "./ws_client.ts";

function echoServer() {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    if (req.headers.get("authorization") !== "Bearer k") return new Response("no", { status: 401 });
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onmessage = (e) => {
      if (e.data === "close me") return socket.close(1000, "bye");
      if (e.data === "big") return socket.send("x".repeat(2000));
      socket.send(`echo ${e.data}`);
    };
    return response;
  });
}

function client(url: string, max = 1000_000) {
  const got: string[] = [];
  let closedWith: string | null = null;
  const ws = WsClient.connect(url, { authorization: "Bearer k" }, 2000, {
    onMessage: (t) => got.push(t),
    onClose: (r) => closedWith = r,
  }, max);
  return { ws, got, closed: () => closedWith };
}

const until = async (ok: () => boolean) => {
  while (!ok()) await new Promise((r) => setTimeout(r, 5));
};

Deno.test("ws client: messages of every length encoding round-trip, in order", async () => {
  const server = echoServer();
  const c = client(`ws://127.0.0.1:${server.addr.port}/s`);
  try {
    const ws = await c.ws;
    const sizes = [0, 1, 125, 126, 127, 65535, 65536, 200_000];
    const texts = sizes.map((n, i) => `${i}:` + "é".repeat(n >> 1) + "a".repeat(n & 1));
    for (const t of texts) ws.send(t);
    await until(() => c.got.length === texts.length);
    assert.deepEqual(c.got, texts.map((t) => `echo ${t}`));
  } finally {
    (await c.ws).close();
    await server.shutdown();
  }
});

Deno.test("ws client: a close from the server, a refused upgrade, an oversize message", async () => {
  const server = echoServer();
  const url = `ws://127.0.0.1:${server.addr.port}/s`;
  try {
    const a = client(url);
    (await a.ws).send("close me");
    await until(() => a.closed() !== null);
    assert.equal(a.closed(), "close frame");

    const refused = WsClient.connect(url, {}, 2000, { onMessage() {}, onClose() {} }, 1000);
    await assert.rejects(refused, /upgrade refused: HTTP 401/);

    const b = client(url, 1000);
    (await b.ws).send("big");
    await until(() => b.closed() !== null);
    assert.match(b.closed()!, /over 1000 bytes/);
    assert.deepEqual(b.got, []);
  } finally {
    await server.shutdown();
  }
});

Deno.test("ws client: a server that never answers the upgrade fails the connect in time", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  (async () => {
    for await (const conn of listener) held.push(conn);
  })();
  try {
    const silent = WsClient.connect(
      `ws://127.0.0.1:${listener.addr.port}/s`,
      {},
      100,
      { onMessage() {}, onClose() {} },
      1000,
    );
    await assert.rejects(silent);
  } finally {
    listener.close();
    for (const c of held) c.close();
  }
});
