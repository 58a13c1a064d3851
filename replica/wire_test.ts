/** Decoding of incoming RPC bodies: what is accepted and what is refused with a reason. */
import assert from "node:assert/strict";
import { decodeRequest } from "./wire.ts";

const append = {
  term: 2,
  leaderId: "replica1",
  prevLogIndex: 0,
  prevLogTerm: 0,
  entries: [{ index: 1, term: 2, noop: true }],
  leaderCommit: 0,
};

Deno.test("append-entries needs every field of the seed, as safe non-negative integers", () => {
  assert.ok(decodeRequest("/append-entries", append, "replica2").ok);
  for (const key of ["term", "prevLogIndex", "prevLogTerm", "leaderCommit"]) {
    const missing = { ...append, [key]: undefined };
    assert.ok(!decodeRequest("/append-entries", missing, "replica2").ok, `without ${key}`);
    assert.ok(!decodeRequest("/append-entries", { ...append, [key]: -1 }, "replica2").ok, key);
  }
  const gap = { ...append, entries: [{ index: 2, term: 2, noop: true }] };
  assert.ok(
    !decodeRequest("/append-entries", gap, "replica2").ok,
    "entries must follow prevLogIndex",
  );
});

Deno.test("sync-log: the seed's {fromIndex, entries} plus term and leaderId; fromTerm unless from 0", () => {
  const base = { fromIndex: 0, entries: append.entries, term: 2, leaderId: "replica1" };
  const ok = decodeRequest("/sync-log", base, "replica2");
  assert.ok(ok.ok && ok.value.type === "appendEntries" && ok.value.bulk);
  assert.ok(!decodeRequest("/sync-log", { fromIndex: 0, entries: [] }, "replica2").ok, "no term");
  const later = { ...base, fromIndex: 5, entries: [{ index: 6, term: 2, noop: true }] };
  assert.ok(!decodeRequest("/sync-log", later, "replica2").ok, "fromTerm missing");
  assert.ok(decodeRequest("/sync-log", { ...later, fromTerm: 1 }, "replica2").ok);
  assert.ok(!decodeRequest("/sync-log", { ...base, leaderCommit: "9" }, "replica2").ok);
  assert.ok(!decodeRequest("/sync-log", { ...later, fromTerm: 1.5 }, "replica2").ok);
});
