/** Decoders of the replica API: the proposal fully, the answers by shape. */
import assert from "node:assert/strict";
import {
  decodeBoards,
  decodeEntries,
  decodeProposeRequest,
  decodeStatus,
  itemKey,
  MAX_PROPOSE_STROKES,
  proposeBody,
} from "./replica_api.ts";
import { MAX_OP_TARGETS } from "./board_ops.ts";

const stroke = { id: "s1", x0: 0, y0: 0, x1: 1, y1: 1, color: "#ABCDEF", width: 1 };

Deno.test("a proposal is validated stroke by stroke, with a bound on its size", () => {
  const good = decodeProposeRequest({ strokes: [stroke] });
  assert.ok(good.ok && "stroke" in good.value.items[0]);
  assert.equal(good.value.items[0].stroke.color, "#abcdef");
  const bad: unknown[] = [
    [],
    { strokes: [] },
    { strokes: [{ ...stroke, x0: 1e300 }] },
    { strokes: [{ ...stroke, x0: "1" }] },
    { strokes: Array(MAX_PROPOSE_STROKES + 1).fill(stroke) },
  ];
  for (const body of bad) {
    assert.ok(!decodeProposeRequest(body).ok, JSON.stringify(body).slice(0, 60));
  }
});

Deno.test("a proposal of items keeps their order and validates each op fully", () => {
  const items = [
    { stroke: { ...stroke, board: "b" } },
    { erase: { id: "e1", targets: ["s1"], board: "b" } },
    { restore: { id: "r1", targets: ["e1", "g1"] } },
    { clear: { id: "c1", board: "b" } },
  ];
  const good = decodeProposeRequest({ items });
  assert.ok(good.ok);
  assert.deepEqual(good.value.items.map((i) => itemKey(i).id), ["s1", "e1", "r1", "c1"]);
  assert.equal(itemKey(good.value.items[3]).board, "b");
  const bad: unknown[] = [
    { items: [] },
    { items: items, strokes: [stroke] },
    { items: [{ noop: true }] },
    { items: [{ config: { members: [] } }] },
    { items: [{ stroke, erase: items[1].erase }] },
    { items: [{ erase: { id: "e", targets: [] } }] },
    { items: [{ erase: { id: "e", targets: Array(MAX_OP_TARGETS + 1).fill("s") } }] },
    { items: [{ erase: { id: "e", targets: ["has space"] } }] },
    { items: [{ clear: { id: "c", board: "no/slash" } }] },
    { items: [{ restore: { id: 5, targets: ["s"] } }] },
    { items: [{ stroke: { ...stroke, width: 0 } }] },
  ];
  for (const body of bad) {
    assert.ok(!decodeProposeRequest(body).ok, JSON.stringify(body).slice(0, 80));
  }
});

Deno.test("proposeBody uses the seed's form when it can", () => {
  assert.deepEqual(proposeBody([{ stroke }]), { strokes: [stroke] });
  const items = [{ stroke }, { clear: { id: "c" } }];
  assert.deepEqual(proposeBody(items), { items });
});

Deno.test("a boards answer is shape-checked", () => {
  const b = { name: "x", entries: 3, lastIndex: 9 };
  assert.deepEqual(decodeBoards({ boards: [b] }), { ok: true, value: { boards: [b] } });
  assert.ok(!decodeBoards({ boards: [{ ...b, entries: -1 }] }).ok);
  assert.ok(!decodeBoards({}).ok);
});

Deno.test("an entries page must start where asked, without gaps; payloads pass as they are", () => {
  const odd = { index: 3, term: 1, erase: { id: "e", targets: ["s1"] } };
  const page = decodeEntries({ entries: [{ index: 2, term: 1, stroke }, odd], commitIndex: 3 }, 2);
  assert.ok(page.ok && page.value.entries.length === 2, "unknown kinds are the reader's to skip");
  assert.ok(!decodeEntries({ entries: [odd], commitIndex: 3 }, 2).ok);
  assert.ok(!decodeEntries({ entries: [], commitIndex: -1 }, 2).ok);
  assert.ok(!decodeEntries({ entries: {} }, 2).ok);
});

Deno.test("a status needs the seed's fields well-typed; extensions are kept when typed", () => {
  const s = { replicaId: "r", state: "follower", term: 1, commitIndex: 0, logLength: 0 };
  const ok = decodeStatus({ ...s, leaderId: 5, recovering: true, voter: "no" });
  assert.ok(ok.ok);
  assert.deepEqual(ok.value, { ...s, leaderId: null, leaderUrl: null, recovering: true });
  assert.ok(!decodeStatus({ ...s, state: "pre-candidate" }).ok);
  assert.ok(!decodeStatus({ ...s, commitIndex: 1.5 }).ok);
  const extra = decodeStatus({ ...s, lastContactMs: 42, rssBytes: 1 << 20 });
  assert.ok(extra.ok && extra.value.lastContactMs === 42 && extra.value.rssBytes === 1 << 20);
  const bad = decodeStatus({ ...s, lastContactMs: -1, rssBytes: "big" });
  assert.ok(bad.ok && !("lastContactMs" in bad.value) && !("rssBytes" in bad.value));
});
