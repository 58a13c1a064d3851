import assert from "node:assert/strict";
import { parseServerMessage } from "./messages.ts";

const stroke = { id: "a:1", x0: 0, y0: 0, x1: 1, y1: 1, color: "#E63946", width: 3 };

Deno.test("server messages", async (t) => {
  await t.step("valid messages pass, strokes are normalized", () => {
    const hello = parseServerMessage(
      '{"type":"hello","clientId":"c","board":"default","commitIndex":4}',
    );
    assert.equal(hello.ok && hello.msg.type, "hello");
    const strokes = parseServerMessage(
      JSON.stringify({ type: "strokes", entries: [{ index: 2, stroke }] }),
    );
    assert.ok(strokes.ok && strokes.msg.type === "strokes");
    assert.equal(strokes.msg.entries[0].stroke.color, "#e63946");
    const ack = parseServerMessage('{"type":"ack","id":"a:1","index":2}');
    assert.deepEqual(ack, { ok: true, msg: { type: "ack", id: "a:1", index: 2 } });
    const cluster = parseServerMessage(
      '{"type":"cluster","status":{"leaderId":null,"term":null,"commitIndex":0,"replicas":[],"clients":1,"leaderUrl":null}}',
    );
    assert.equal(cluster.ok, true);
  });

  await t.step("malformed messages are rejected with a reason", () => {
    const bad = [
      "not json",
      "[]",
      '{"type":"nope"}',
      '{"type":"hello","commitIndex":-1}',
      '{"type":"ack","id":"a","index":1.5}',
      '{"type":"cluster","status":{"leaderId":3,"term":1}}',
      JSON.stringify({ type: "strokes", entries: [{ index: 2, stroke: { ...stroke, width: 0 } }] }),
      JSON.stringify({ type: "strokes", entries: [{ index: 3, stroke }, { index: 2, stroke }] }),
      JSON.stringify({ type: "strokes", entries: {} }),
    ];
    for (const text of bad) {
      const r = parseServerMessage(text);
      assert.equal(r.ok, false, text);
      assert.ok(!r.ok && r.error.length > 0);
    }
  });
});
