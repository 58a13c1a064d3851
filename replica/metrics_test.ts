import assert from "node:assert/strict";
import { Hono } from "hono";
import { ReplicaMetrics } from "./metrics.ts";
import type { Driver, Storage } from "./driver.ts";
import { parseMetrics, sumOf, valueOf } from "../tests/testing/prom_text.ts";

/** Only what the gauges read. */
const fakeDriver = {
  node: {
    status: () => ({
      term: 4,
      role: "candidate",
      voter: true,
      commitIndex: 9,
      lastIndex: 11,
      snapshotIndex: 5,
      members: [{}, {}, {}],
      progress: {},
    }),
  },
  store: { lastIndex: () => 8 },
} as unknown as Driver;

Deno.test("replica metrics: gauges read the driver at scrape time, events are counted", () => {
  const m = new ReplicaMetrics(() => fakeDriver);
  m.onEvent({ event: "pre_vote_started" });
  m.onEvent({ event: "election_started", timeoutTicks: 5, transfer: false });
  m.onEvent({ event: "election_won", votes: 2 });
  m.onEvent({ event: "message_refused", reason: "stale_term" });
  m.onEvent({ event: "entry_committed", index: 3 });
  m.onShipperEvent("snapshot_shipped", { to: "r2", bytes: 5000, result: "done" });
  m.onSnapshotReceived(7000, true);
  const f = parseMetrics(m.registry.text());
  assert.equal(valueOf(f, "raft_term"), 4);
  assert.equal(valueOf(f, "raft_role", { role: "candidate" }), 1);
  assert.equal(valueOf(f, "raft_role", { role: "leader" }), 0);
  assert.equal(valueOf(f, "raft_commit_index"), 9);
  assert.equal(valueOf(f, "raft_applied_index"), 8);
  assert.equal(valueOf(f, "raft_log_length"), 11);
  assert.equal(valueOf(f, "raft_snapshot_index"), 5);
  assert.equal(valueOf(f, "raft_elections_started_total", { kind: "pre_vote" }), 1);
  assert.equal(valueOf(f, "raft_elections_started_total", { kind: "vote" }), 1);
  assert.equal(valueOf(f, "raft_elections_won_total"), 1);
  assert.equal(valueOf(f, "raft_messages_refused_total", { reason: "stale_term" }), 1);
  assert.equal(valueOf(f, "raft_snapshots_sent_total", { result: "done" }), 1);
  assert.equal(valueOf(f, "raft_snapshot_sent_bytes_bucket", { le: "4096" }), 0);
  assert.equal(valueOf(f, "raft_snapshot_sent_bytes_bucket", { le: "16384" }), 1);
  assert.equal(valueOf(f, "raft_snapshots_installed_total", { taken: "true" }), 1);
});

Deno.test("replica metrics: only syncs that must reach the disk are timed", async () => {
  const m = new ReplicaMetrics(() => fakeDriver);
  const calls: string[] = [];
  const inner: Storage = {
    save: (_hs, entries) => void calls.push(`save ${entries.length}`),
    sync: (must) => must ? new Promise((r) => setTimeout(r, 5)) : undefined,
    rewrite: () => void calls.push("rewrite"),
  };
  const s = m.timed(inner);
  s.save(null, [{ index: 1, term: 1, stroke: { id: "a" } }] as never);
  await s.sync(true);
  await s.sync(false);
  s.rewrite({ index: 1, term: 1 }, []);
  const f = parseMetrics(m.registry.text());
  assert.deepEqual(calls, ["save 1", "rewrite"]);
  assert.equal(valueOf(f, "raft_fsync_latency_seconds_count"), 1);
  assert.ok(valueOf(f, "raft_fsync_latency_seconds_sum")! >= 0.004);
  assert.equal(valueOf(f, "raft_entries_persisted_total"), 1);
});

Deno.test("replica metrics: 4xx answers by route and status, unknown paths folded", async () => {
  const m = new ReplicaMetrics(() => fakeDriver);
  const app = new Hono();
  app.use("*", m.refusals());
  app.get("/entries", (c) => c.json({ error: "bad" }, 400));
  app.delete("/members/:id", (c) => c.json({ error: "no" }, 404));
  app.get("/status", (c) => c.json({}));
  for (const path of ["/entries", "/entries", "/status", "/x/../../etc", "/a-random-name"]) {
    await (await app.request(path)).body?.cancel();
  }
  await (await app.request("/members/replica9", { method: "DELETE" })).body?.cancel();
  const f = parseMetrics(m.registry.text());
  assert.equal(valueOf(f, "replica_http_refused_total", { route: "/entries", status: "400" }), 2);
  assert.equal(valueOf(f, "replica_http_refused_total", { route: "other", status: "404" }), 2);
  assert.equal(
    valueOf(f, "replica_http_refused_total", { route: "/members/{id}", status: "404" }),
    1,
  );
  assert.equal(sumOf(f, "replica_http_refused_total"), 5);
});
