import assert from "node:assert/strict";
import type { ClusterStatus } from "../../protocol/mod.ts";
import { type StatusInput, statusLine } from "./status_text.ts";

const cluster = (leaderId: string | null, term: number | null): ClusterStatus => ({
  leaderId,
  leaderUrl: null,
  term,
  commitIndex: 0,
  replicas: [],
  clients: 1,
});
const base: StatusInput = {
  connection: "open",
  cluster: null,
  pending: 0,
  committed: 0,
  error: null,
};
const text = (s: StatusInput) => statusLine(s).map((p) => p.text).join(" | ");

Deno.test("status line", () => {
  assert.equal(text(base), "connected | 0 committed");
  assert.equal(
    text({ ...base, cluster: cluster("replica2", 7), pending: 3, committed: 120 }),
    "connected | leader replica2 · term 7 | 3 pending - waiting for the cluster | 120 committed",
  );
  assert.equal(
    text({ ...base, connection: "reconnecting", cluster: cluster(null, 8), pending: 1 }),
    "reconnecting… | no leader (election) · term 8 | 1 pending - will resend on reconnect | 0 committed",
  );
  assert.equal(
    text({ ...base, connection: "connecting", error: "bad_stroke: x" }),
    "connecting… | 0 committed | bad_stroke: x",
  );
});
