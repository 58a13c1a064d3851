/** The replica client against a scripted server: decoding, hints, tokens, long polls. */
import assert from "node:assert/strict";
import { decodeNotLeader, type StatusResponse } from "../protocol/mod.ts";
import { findLeader, ReplicaClient } from "./client.ts";

const stroke = { id: "s1", x0: 0, y0: 0, x1: 1, y1: 1, color: "#000000", width: 1 };
const status: StatusResponse = {
  replicaId: "r1",
  state: "leader",
  term: 3,
  commitIndex: 2,
  logLength: 2,
  leaderId: "r1",
};

/** Serves `answer(request)` on 127.0.0.1 for one test. */
async function withServer(
  answer: (req: Request, url: URL) => Response | Promise<Response>,
  fn: (base: string) => Promise<void>,
): Promise<void> {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => answer(req, new URL(req.url)),
  );
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

Deno.test("status: decoded when well-typed, null for anything else, never a throw", async () => {
  const bodies: unknown[] = [status, { ...status, term: -1 }, "<html>", { ...status, state: "x" }];
  let i = 0;
  await withServer(() => new Response(JSON.stringify(bodies[i++])), async (base) => {
    const client = new ReplicaClient();
    assert.equal((await client.status(base))?.term, 3);
    assert.equal(await client.status(base), null);
    assert.equal(await client.status(base), null);
    assert.equal(await client.status(base), null);
  });
  assert.equal(await new ReplicaClient().status("http://127.0.0.1:1", { timeoutMs: 200 }), null);
});

Deno.test("entries: query with waitMs, token sent, a page with a gap is refused", async () => {
  const seen: { query: string; auth: string | null }[] = [];
  await withServer((req, url) => {
    seen.push({ query: url.search, auth: req.headers.get("authorization") });
    const from = Number(url.searchParams.get("from"));
    const index = url.searchParams.get("limit") === "1" ? from + 1 : from;
    return Response.json({ entries: [{ index, term: 1, stroke }], commitIndex: 9 });
  }, async (base) => {
    const client = new ReplicaClient("tok");
    const page = await client.entries(base, { from: 4, limit: 10, waitMs: 50 });
    assert.ok(page.ok && page.value.entries[0].index === 4);
    const gap = await client.entries(base, { from: 4, limit: 1 });
    assert.ok(!gap.ok && gap.status === 200 && /index 4/.test(gap.error));
    assert.deepEqual(seen[0], { query: "?from=4&limit=10&waitMs=50", auth: "Bearer tok" });
  });
});

Deno.test("propose: indexes in order; 421 keeps the hint; a mismatched answer is not trusted", async () => {
  const answers = [
    Response.json({ results: [{ id: "s1", index: 7 }], commitIndex: 7 }),
    Response.json({ error: "not leader", leaderId: "r2", leaderUrl: "http://x" }, { status: 421 }),
    Response.json({ results: [{ id: "other", index: 7 }], commitIndex: 7 }),
    Response.json({ error: "strokes[0]: bad" }, { status: 400 }),
  ];
  await withServer(async (req) => {
    assert.deepEqual((await req.json()).strokes, [stroke]);
    return answers.shift()!;
  }, async (base) => {
    const client = new ReplicaClient();
    assert.deepEqual(await client.propose(base, [stroke]), { ok: true, value: [7] });
    const hint = await client.propose(base, [stroke]);
    assert.ok(!hint.ok && hint.status === 421);
    assert.deepEqual(decodeNotLeader(hint.body), {
      error: "not leader",
      leaderId: "r2",
      leaderUrl: "http://x",
    });
    const odd = await client.propose(base, [stroke]);
    assert.ok(!odd.ok && odd.status === 200);
    const bad = await client.propose(base, [stroke]);
    assert.ok(!bad.ok && bad.status === 400 && bad.error === "strokes[0]: bad");
  });
});

Deno.test("findLeader prefers the highest term when two claim to lead", () => {
  const old: StatusResponse = { ...status, replicaId: "r1", term: 3 };
  const fresh: StatusResponse = { ...status, replicaId: "r2", term: 4 };
  assert.equal(findLeader([old, null, fresh])?.replicaId, "r2");
  assert.equal(findLeader([null, { ...old, state: "follower" }]), null);
});

Deno.test("propose over a peer stream: same answers as a POST, losses throw as fetch does", async () => {
  const { PeerStreams } = await import("./peer_stream.ts");
  const { peerStreamRoute } = await import("./peer_stream_route.ts");
  const { PEER_STREAM_PATH } = await import("../protocol/peer_stream.ts");
  let posts = 0;
  let streamed = 0;
  let hang = false;
  const answer = (body: { strokes?: { id: string }[] }) => ({
    results: (body.strokes ?? []).map((s, i) => ({ id: s.id, index: 10 + i })),
    commitIndex: 10,
  });
  const route = peerStreamRoute({
    serve: async (_path, body) => {
      streamed++;
      if (hang) await new Promise((r) => setTimeout(r, 1000));
      return (body as { strokes: { id: string }[] }).strokes[0].id === "bad"
        ? { status: 400, json: { error: "bad stroke" } }
        : { status: 200, json: answer(body as { strokes: { id: string }[] }) };
    },
    maxBytes: 1 << 20,
    onError: () => {},
  });
  const { Hono } = await import("hono");
  const app = new Hono();
  app.get(PEER_STREAM_PATH, route);
  app.post("/propose", async (c) => {
    posts++;
    return c.json(answer(await c.req.json()));
  });
  await withServer((req) => app.fetch(req), async (base) => {
    const streams = new PeerStreams(null, 1000);
    const client = new ReplicaClient(null, 1000, streams);
    try {
      // The first goes as a POST while the stream opens; then over the stream.
      assert.deepEqual(await client.propose(base, [stroke]), { ok: true, value: [10] });
      assert.equal(posts, 1);
      for (let i = 0; i < 100 && streamed === 0; i++) {
        assert.deepEqual(await client.propose(base, [stroke]), { ok: true, value: [10] });
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.ok(streamed > 0, "proposals went over the stream");
      const refused = await client.propose(base, [{ ...stroke, id: "bad" }]);
      assert.deepEqual([refused.ok, !refused.ok && refused.status], [false, 400]);
      hang = true;
      await assert.rejects(
        client.propose(base, [stroke], { timeoutMs: 50 }),
        (e) => e instanceof DOMException && e.name === "TimeoutError",
      );
      const aborted = new AbortController();
      const pending = client.propose(base, [stroke], { signal: aborted.signal });
      aborted.abort();
      await assert.rejects(pending);
    } finally {
      streams.close();
    }
  });
});
