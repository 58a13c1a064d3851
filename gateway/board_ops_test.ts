/** Board operations through the gateway (fake cluster): acked, streamed in order, kept in client order. */
import assert from "node:assert/strict";
import { setup } from "../tests/testing/gateway_harness.ts";
import { makeStroke } from "./client.ts";
import { entryId } from "../protocol/mod.ts";

Deno.test("ops are acked and streamed to every client of the board, in index order, with strokes", async () => {
  const h = setup();
  try {
    const a = await h.connect("ops");
    const b = await h.connect("ops");
    const other = await h.connect("elsewhere");
    const s = makeStroke("s", { group: "g1" });
    const si = await a.draw(s);
    const ei = await a.erase("e1", ["g1"]);
    const ri = await a.restore("r1", ["g1"]);
    const ci = await b.clear("c1");
    assert.ok(si < ei && ei < ri && ri < ci);
    const ids = ["s", "e1", "r1", "c1"].map((p) => p === "s" ? s.id : p);
    for (const c of [a, b]) {
      await c.waitFor(
        "all four",
        () => ids.every((id) => c.indexOf(id) !== undefined) || undefined,
      );
      assert.deepEqual(c.entries().map(entryId), ids);
      assert.deepEqual(c.entries().map((e) => e.index), [si, ei, ri, ci]);
    }
    const erase = a.entries()[1];
    assert.ok("erase" in erase && erase.erase.targets[0] === "g1");
    // The committed op carries the socket's board.
    const logged = h.fake.log.find((e) => "erase" in e);
    assert.ok(logged && "erase" in logged && logged.erase.board === "ops");
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(other.entries().length, 0, "another board sees none of it");
  } finally {
    await h.close();
  }
});

Deno.test("an op waits for the strokes sent before it and the strokes after it wait for the op", async () => {
  const h = setup();
  try {
    const a = await h.connect("order");
    h.fake.pauseCommits();
    const before = [makeStroke("b"), makeStroke("b")];
    const after = makeStroke("a");
    before.forEach((s) => a.sendStroke(s));
    a.sendErase("undo", [before[1].id]);
    a.sendStroke(after);
    await new Promise((r) => setTimeout(r, 100));
    const proposed = () => h.fake.log.flatMap((e) => "noop" in e ? [] : [entryId(e as never)]);
    assert.deepEqual(proposed(), before.map((s) => s.id), "the erase waits for its strokes");
    h.fake.resumeCommits();
    const acks = await a.waitForAcks([...before.map((s) => s.id), "undo", after.id]);
    assert.deepEqual(proposed(), [...before.map((s) => s.id), "undo", after.id]);
    assert.ok(acks.get("undo")! > acks.get(before[1].id)!);
    assert.ok(acks.get(after.id)! > acks.get("undo")!);
  } finally {
    await h.close();
  }
});

Deno.test("an op resent with the same id (a retry after a reconnect) is acked with its first index", async () => {
  const h = setup();
  try {
    const a = await h.connect("retry");
    const first = await a.clear("clear-1");
    await a.close();
    const again = await h.connect("retry");
    const second = await again.clear("clear-1");
    assert.equal(second, first);
    assert.equal(h.fake.log.filter((e) => "clear" in e).length, 1, "committed once");
    const same = await again.erase("clear-1", ["x"]).catch((e) => e);
    assert.equal(same, first, "one id namespace per board: the id is taken");
  } finally {
    await h.close();
  }
});

Deno.test("a replay after since carries the ops, from the cache and from the replicas", async () => {
  const h = setup({ gateway: { stream: { cacheEntries: 4, batchLimit: 2, pollWaitMs: 2000 } } });
  try {
    const a = await h.connect("replay");
    const s = makeStroke("r");
    const si = await a.draw(s);
    await a.erase("re1", [s.id]);
    for (let i = 0; i < 10; i++) await a.draw(makeStroke("noise"));
    await a.restore("rr1", [s.id]);
    const late = await h.connect("replay", si - 1);
    const want = [s.id, "re1", "rr1"];
    await late.waitFor("ops", () => want.every((id) => late.indexOf(id)) || undefined);
    const kinds = late.entries().map((e) => Object.keys(e).find((k) => k !== "index"));
    assert.deepEqual(kinds.filter((k) => k !== "stroke"), ["erase", "restore"]);
    assert.ok(h.gateway.history.pagesRead > 0, "the start came from a replica");
  } finally {
    await h.close();
  }
});

Deno.test("malformed ops are refused with errors and change nothing", async () => {
  const h = setup();
  try {
    const a = await h.connect("bad");
    a.send({ type: "erase", id: "e", targets: [] });
    a.send({ type: "erase", id: "e", targets: Array(1001).fill("s") });
    a.send({ type: "restore", id: "has space", targets: ["s"] });
    a.send({ type: "erase", id: "e", targets: ["ok", 5] });
    a.send({ type: "clear" });
    const good = await a.clear("fine");
    const errors = a.errors();
    assert.equal(errors.length, 5, JSON.stringify(errors));
    assert.ok(errors.every((e) => e.code === "bad_message" && e.message.length > 0));
    assert.equal(errors[0].id, "e", "the id is echoed when valid");
    assert.equal(a.ws.readyState, WebSocket.OPEN);
    const ops = h.fake.log.filter((e) => "erase" in e || "restore" in e || "clear" in e);
    assert.deepEqual(ops.map((e) => e.index), [good]);
  } finally {
    await h.close();
  }
});
