import assert from "node:assert/strict";
import { FORWARDED_BY_HEADER, forwardProposal } from "./forward_proposal.ts";
import { freePorts } from "../tests/testing/local_cluster.ts";

const stroke = { id: "s1", x0: 0, y0: 0, x1: 1, y1: 1, color: "#000000", width: 2 };
const options = {
  leaderId: "replica2",
  replicaId: "replica1",
  clusterToken: "secret",
  timeoutMs: 2000,
};

Deno.test("a relayed proposal carries the token and the relay mark; the answer comes back", async () => {
  const seen: { headers: Headers; body: unknown }[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    seen.push({ headers: req.headers, body: await req.json() });
    return Response.json({ error: "not the leader", leaderId: "replica3" }, { status: 421 });
  });
  try {
    const res = await forwardProposal([{ stroke }], {
      ...options,
      leaderUrl: `http://127.0.0.1:${server.addr.port}`,
    });
    assert.equal(res.status, 421);
    assert.deepEqual(await res.json(), { error: "not the leader", leaderId: "replica3" });
    assert.equal(seen.length, 1);
    assert.equal(seen[0].headers.get("authorization"), "Bearer secret");
    assert.equal(seen[0].headers.get(FORWARDED_BY_HEADER), "replica1");
    assert.deepEqual(seen[0].body, { strokes: [stroke] });
  } finally {
    await server.shutdown();
  }
});

Deno.test("an unreachable or silent leader is a 503 naming it, within the time bound", async () => {
  const [closedPort] = freePorts(1);
  const refused = await forwardProposal([{ stroke }], {
    ...options,
    leaderUrl: `http://127.0.0.1:${closedPort}`,
  });
  assert.equal(refused.status, 503);
  assert.equal((await refused.json()).leaderId, "replica2");

  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 }); // accepts, never answers
  try {
    const t0 = performance.now();
    const silent = await forwardProposal([{ stroke }], {
      ...options,
      timeoutMs: 200,
      leaderUrl: `http://127.0.0.1:${listener.addr.port}`,
    });
    assert.equal(silent.status, 503);
    assert.match((await silent.json()).error, /timed out/);
    assert.ok(performance.now() - t0 < 5000, "the relay is bounded in time");
  } finally {
    listener.close();
  }
});
