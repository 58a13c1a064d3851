import assert from "node:assert/strict";
import { decodeClientMessage, decodeServerMessage, refusalCode, strokeIdOf } from "./ws.ts";

const stroke = { id: "a:1", x0: 0, y0: 0, x1: 1, y1: 1, color: "#E63946", width: 3 };

Deno.test("server messages", async (t) => {
  await t.step("valid messages pass, strokes are normalized", () => {
    const hello = decodeServerMessage(
      '{"type":"hello","clientId":"c","board":"default","commitIndex":4}',
    );
    assert.equal(hello.ok && hello.value.type, "hello");
    const strokes = decodeServerMessage(
      JSON.stringify({ type: "strokes", entries: [{ index: 2, stroke }] }),
    );
    assert.ok(strokes.ok && strokes.value.type === "strokes");
    const first = strokes.value.entries[0];
    assert.ok("stroke" in first);
    assert.equal(first.stroke.color, "#e63946");
    const ack = decodeServerMessage('{"type":"ack","id":"a:1","index":2}');
    assert.deepEqual(ack, { ok: true, value: { type: "ack", id: "a:1", index: 2 } });
    const cluster = decodeServerMessage(
      '{"type":"cluster","status":{"leaderId":null,"term":null,"commitIndex":0,"replicas":[],"clients":1,"leaderUrl":null}}',
    );
    assert.equal(cluster.ok, true);
  });

  await t.step("malformed messages are rejected with a reason", () => {
    const bad = [
      "not json",
      "[]",
      '{"type":"nope"}',
      '{"type":"hello","clientId":"c","board":"b","commitIndex":-1}',
      '{"type":"hello","commitIndex":1}',
      '{"type":"hello","clientId":"c","board":"b","commitIndex":1,"color":"red"}',
      '{"type":"hello","clientId":"c","board":"b","commitIndex":1,"readOnly":"yes"}',
      '{"type":"ack","id":"a","index":1.5}',
      '{"type":"cluster","status":{"leaderId":3,"term":1}}',
      JSON.stringify({ type: "strokes", entries: [{ index: 2, stroke: { ...stroke, width: 0 } }] }),
      JSON.stringify({ type: "strokes", entries: [{ index: 3, stroke }, { index: 2, stroke }] }),
      JSON.stringify({ type: "strokes", entries: {} }),
    ];
    for (const text of bad) {
      const r = decodeServerMessage(text);
      assert.equal(r.ok, false, text);
      assert.ok(!r.ok && r.error.length > 0);
    }
  });
});

Deno.test("client messages", async (t) => {
  await t.step("a stroke is validated fully; its own board is dropped, not judged", () => {
    const r = decodeClientMessage({ type: "stroke", stroke: { ...stroke, board: "bad board!" } });
    assert.ok(r.ok && r.value.type === "stroke");
    assert.deepEqual(r.value.stroke, { ...stroke, color: "#e63946" });
    assert.deepEqual(decodeClientMessage({ type: "ping" }), { ok: true, value: { type: "ping" } });
  });

  await t.step("refusals carry a reason, a code and, when valid, the stroke id", () => {
    const cases: [unknown, string][] = [
      [undefined, "bad_message"],
      [[1], "bad_message"],
      [{ stroke }, "bad_message"],
      [{ type: "launch" }, "bad_message"],
      [{ type: "stroke", stroke: { ...stroke, x0: 1e12 } }, "bad_stroke"],
      [{ type: "stroke", stroke: { ...stroke, id: "has space" } }, "bad_stroke"],
      [{ type: "stroke", stroke: { ...stroke, x1: "1" } }, "bad_stroke"],
    ];
    for (const [msg, code] of cases) {
      const r = decodeClientMessage(msg);
      assert.ok(!r.ok && r.error.length > 0, JSON.stringify(msg));
      assert.equal(refusalCode(msg), code, JSON.stringify(msg));
    }
    assert.equal(strokeIdOf({ type: "stroke", stroke: { ...stroke, x0: 1e12 } }), "a:1");
    assert.equal(strokeIdOf({ type: "stroke", stroke: { id: "has space" } }), undefined);
  });

  await t.step("ops decode in their wire form (id and targets top-level), extras dropped", () => {
    const erase = decodeClientMessage({ type: "erase", id: "e1", targets: ["g1"], board: "x" });
    assert.deepEqual(erase, { ok: true, value: { type: "erase", id: "e1", targets: ["g1"] } });
    const clear = decodeClientMessage({ type: "clear", id: "c1", targets: ["ignored"] });
    assert.deepEqual(clear, { ok: true, value: { type: "clear", id: "c1" } });
    assert.ok(!decodeClientMessage({ type: "restore", op: { id: "r", targets: ["s"] } }).ok);
    assert.equal(strokeIdOf({ type: "restore", id: "r1", targets: [] }), "r1");
    assert.deepEqual(decodeClientMessage({ type: "cursor", x: 1, y: -2 }), {
      ok: true,
      value: { type: "cursor", x: 1, y: -2 },
    });
    assert.ok(!decodeClientMessage({ type: "cursor", x: 1, y: Infinity }).ok);
  });
});

Deno.test("authorship: the page reads the gateway's, the gateway drops a browser's", () => {
  const stamped = { ...stroke, by: "Ada", at: 1_700_000_000_000 };
  const down = decodeServerMessage(
    JSON.stringify({
      type: "strokes",
      entries: [{ index: 2, stroke: stamped }, {
        index: 3,
        erase: { id: "e", targets: ["a:1"], by: "Ada", at: 5 },
      }],
    }),
  );
  assert.ok(down.ok && down.value.type === "strokes");
  const [s, e] = down.value.entries;
  assert.ok("stroke" in s && "erase" in e);
  assert.equal(s.stroke.by, "Ada");
  assert.equal(s.stroke.at, 1_700_000_000_000);
  assert.deepEqual([e.erase.by, e.erase.at], ["Ada", 5]);

  const up = decodeClientMessage({ type: "stroke", stroke: stamped });
  assert.ok(up.ok && up.value.type === "stroke");
  assert.equal(up.value.stroke.by, undefined);
  assert.equal(up.value.stroke.at, undefined);
  const op = decodeClientMessage({ type: "clear", id: "c", by: "Eve", at: 1 });
  assert.deepEqual(op, { ok: true, value: { type: "clear", id: "c" } });

  for (const bad of [{ by: 7 }, { by: "x".repeat(41) }, { at: -1 }, { at: 1.5 }]) {
    const r = decodeServerMessage(
      JSON.stringify({ type: "strokes", entries: [{ index: 2, stroke: { ...stroke, ...bad } }] }),
    );
    assert.equal(r.ok, false, JSON.stringify(bad));
  }
});
