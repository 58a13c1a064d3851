import assert from "node:assert/strict";
import { eventsUrlFor, termRows } from "./state.ts";

Deno.test("dashboard: the events URL follows the gateway's", () => {
  assert.equal(eventsUrlFor("ws://10.0.0.1:8080/ws"), "http://10.0.0.1:8080/cluster/events");
  assert.equal(eventsUrlFor("wss://gw.example/ws?x=1"), "https://gw.example/cluster/events");
});

Deno.test("dashboard: one timeline row per led term, newest first, with the leaderless gap", () => {
  const rows = termRows([
    { term: 1, leaderId: "replica1", at: 1000 },
    { term: null, leaderId: null, at: 5000 },
    { term: null, leaderId: null, at: 5100 },
    { term: 2, leaderId: "replica3", at: 5700 },
    { term: 3, leaderId: "replica2", at: 9000 },
  ]);
  assert.deepEqual(rows, [
    { term: 3, leaderId: "replica2", at: 9000, gapMs: null },
    { term: 2, leaderId: "replica3", at: 5700, gapMs: 700 },
    { term: 1, leaderId: "replica1", at: 1000, gapMs: null },
  ]);
});
