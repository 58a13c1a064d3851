/** Decoding of incoming RPC bodies: what is accepted and what is refused with a reason. */
import assert from "node:assert/strict";
import type { Message } from "../replica/raft/types.ts";
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  isRequest,
  type JsonRequestMessage,
  REQUEST_TYPES,
  RPC_PATHS,
  TABLE_TYPES,
} from "./rpc.ts";

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

Deno.test("the path list and the request types come from the one table", () => {
  assert.deepEqual([...RPC_PATHS].sort(), [
    "/append-entries",
    "/heartbeat",
    "/probe",
    "/request-vote",
    "/sync-log",
    "/timeout-now",
  ]);
  assert.deepEqual(
    [...REQUEST_TYPES].sort(),
    ["appendEntries", "heartbeat", "installSnapshot", "probe", "requestVote", "timeoutNow"],
  );
  // The snapshot is streamed in chunks (protocol/snapshot.ts), every other request is in the table.
  assert.deepEqual(
    [...TABLE_TYPES].sort(),
    [...REQUEST_TYPES].filter((t) => t !== "installSnapshot").sort(),
  );
  assert.ok(isRequest({ type: "probe", from: "a", to: "b", term: 1, nonce: 3 }));
  assert.ok(
    !isRequest({ type: "probeResponse", from: "a", to: "b", term: 1, empty: true, nonce: 3 }),
  );
});

Deno.test("every request survives encode then decode, on the path the table picks", () => {
  const entries = [{
    index: 4,
    term: 2,
    stroke: { id: "s", x0: 0, y0: 0, x1: 1, y1: 1, color: "#000000", width: 1 },
  }];
  const base = { from: "replica1", to: "replica2", term: 2 };
  const requests: JsonRequestMessage[] = [
    {
      ...base,
      type: "requestVote",
      lastLogIndex: 3,
      lastLogTerm: 1,
      preVote: true,
      transfer: false,
    },
    {
      ...base,
      type: "appendEntries",
      prevLogIndex: 3,
      prevLogTerm: 1,
      entries,
      leaderCommit: 3,
      bulk: false,
    },
    {
      ...base,
      type: "appendEntries",
      prevLogIndex: 3,
      prevLogTerm: 1,
      entries,
      leaderCommit: 3,
      bulk: true,
    },
    { ...base, type: "heartbeat", leaderCommit: 2 },
    { ...base, type: "timeoutNow" },
    { ...base, type: "probe", nonce: 77 },
  ];
  for (const m of requests) {
    const { path, body } = encodeRequest(m);
    const back = decodeRequest(path, JSON.parse(JSON.stringify(body)), "replica2");
    assert.ok(back.ok, path);
    assert.deepEqual(back.value, m, path);
  }
  assert.equal(encodeRequest(requests[2]).path, "/sync-log");
});

Deno.test("answers survive encode then decode; malformed answers are dropped", () => {
  const req: JsonRequestMessage = {
    type: "appendEntries",
    from: "replica1",
    to: "replica2",
    term: 2,
    prevLogIndex: 3,
    prevLogTerm: 1,
    entries: [],
    leaderCommit: 3,
    bulk: true,
    epoch: 4,
  };
  const answer: Message = {
    type: "appendEntriesResponse",
    from: "replica2",
    to: "replica1",
    term: 2,
    success: true,
    matchIndex: 3,
    logLength: 3,
    rejectIndex: 0,
    hintIndex: 0,
    hintTerm: 0,
    bulk: true,
    incarnation: 9,
    epoch: 4,
  };
  const body = encodeResponse("/sync-log", answer);
  assert.equal((body as { syncedUpTo: number }).syncedUpTo, 3, "the seed's field name");
  // The leader's epoch never travels: the decoded answer takes it from the call it answers.
  assert.equal((body as { epoch?: number }).epoch, undefined);
  assert.deepEqual(decodeResponse(req, JSON.parse(JSON.stringify(body))), answer);
  assert.equal(decodeResponse(req, { success: true }), null);
  assert.equal(decodeResponse(req, "nope"), null);
});

Deno.test("entries: fully validated at the edge, by shape from a token holder", () => {
  const odd = { index: 1, term: 2, stroke: { id: "s", x0: "far", color: "red" } };
  const body = { ...append, entries: [odd] };
  const full = decodeRequest("/append-entries", body, "replica2");
  assert.ok(!full.ok && /stroke\.x0/.test(full.error));
  assert.ok(decodeRequest("/append-entries", body, "replica2", "shape").ok);
  // The envelope is checked either way: the contract answers an ill-typed term with 400.
  for (const trust of ["full", "shape"] as const) {
    assert.ok(!decodeRequest("/append-entries", { ...body, term: 2 ** 48 }, "replica2", trust).ok);
    const noId = { ...append, entries: [{ index: 1, term: 2, stroke: {} }] };
    assert.ok(!decodeRequest("/append-entries", noId, "replica2", trust).ok);
    const gap = { ...append, entries: [{ index: 2, term: 2, noop: true }] };
    assert.ok(!decodeRequest("/append-entries", gap, "replica2", trust).ok);
  }
  assert.ok(!decodeRequest("/nope", body, "replica2").ok);
});
