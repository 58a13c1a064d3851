import assert from "node:assert/strict";
import { GatewayMetrics } from "./metrics.ts";
import { parseMetrics, valueOf } from "../tests/testing/prom_text.ts";

const view = { clients: () => 3, boards: () => 2, lastIndex: () => 40, leaderKnown: () => true };

Deno.test("gateway metrics: fan-out lag is measured against the page that took the index in", () => {
  const m = new GatewayMetrics(view);
  m.seen(10);
  m.seen(20);
  m.sent(15); // in (10, 20]
  m.sent(20);
  m.sent(25); // not taken in yet: not measured
  m.seen(20); // nothing new
  const f = parseMetrics(m.registry.text());
  assert.equal(valueOf(f, "gateway_fanout_lag_seconds_count"), 2);
  assert.equal(valueOf(f, "gateway_ws_clients"), 3);
  assert.equal(valueOf(f, "gateway_boards"), 2);
  assert.equal(valueOf(f, "gateway_commit_index"), 40);
  assert.equal(valueOf(f, "gateway_leader_known"), 1);
  assert.equal(valueOf(f, "gateway_messages_refused_total", { code: "bad_stroke" }), 0);
  assert.equal(valueOf(f, "gateway_ws_closed_total", { code: "1008" }), 0);
});

Deno.test("gateway metrics: submissions are counted and timed, failures too", async () => {
  const m = new GatewayMetrics(view);
  const ok = m.timeSubmit((n: number) => Promise.resolve(n));
  const bad = m.timeSubmit((_n: number) => Promise.reject(new Error("refused")));
  assert.equal(await ok(7), 7);
  await assert.rejects(bad(1), /refused/);
  const reads = m.countReads((_from: number) => Promise.resolve([1, 2, 3]));
  assert.deepEqual(await reads(1), [1, 2, 3]);
  const f = parseMetrics(m.registry.text());
  assert.equal(valueOf(f, "gateway_strokes_proposed_total"), 2);
  assert.equal(valueOf(f, "gateway_strokes_acked_total"), 1);
  assert.equal(valueOf(f, "gateway_strokes_failed_total"), 1);
  assert.equal(valueOf(f, "gateway_ack_latency_seconds_count"), 1);
  assert.equal(valueOf(f, "gateway_replay_reads_total"), 1);
  assert.equal(valueOf(f, "gateway_replay_entries_total"), 3);
});
