/** The commit stream's reading of failures: which mark a replica down, which only move on. */
import assert from "node:assert/strict";
import type { Cluster } from "./cluster.ts";
import type { ReplicaClient } from "../replica/client.ts";
import { CommitStream } from "./commit_stream.ts";
import { createLogger } from "../common/log.ts";

/** A stream over two replicas whose first `/entries` call fails with `error`, then answers. */
async function afterFailure(error: Error): Promise<{ reported: string[]; asked: string[] }> {
  const reported: string[] = [];
  const asked: string[] = [];
  const cluster = {
    leader: { url: "http://a", id: "a", term: 1 },
    urls: ["http://a", "http://b"],
    reachableUrls: () => ["http://a", "http://b"],
    reportFailure: (url: string) => reported.push(url),
    refresh: () => Promise.resolve(),
  } as unknown as Cluster;
  const client = {
    entries: (url: string) => {
      asked.push(url);
      if (asked.length === 1) return Promise.reject(error);
      // A long poll that found nothing new.
      const page = { ok: true, value: { entries: [], commitIndex: 0 } };
      return new Promise((r) => setTimeout(() => r(page), 5));
    },
  } as unknown as ReplicaClient;
  const stream = new CommitStream({
    cluster,
    client,
    log: createLogger("gateway", "error", () => {}),
    onCommitted: () => {},
    pollWaitMs: 10,
  });
  stream.start();
  for (let i = 0; i < 200 && asked.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
  stream.stop();
  return { reported, asked };
}

Deno.test("commit stream: a broken connection marks the replica down; the poll moves on", async () => {
  const r = await afterFailure(new TypeError("connection reset"));
  assert.deepEqual(r.reported, ["http://a"]);
  assert.deepEqual(r.asked.slice(0, 2), ["http://a", "http://b"]);
});

Deno.test("commit stream: a poll without an answer in time moves on, marking nothing down", async () => {
  // On a peer stream, a proposal that timed out ends the polls beside it with a timeout too.
  const r = await afterFailure(new DOMException("no answer", "TimeoutError"));
  assert.deepEqual(r.reported, [], "the replica may just be slow");
  assert.deepEqual(r.asked.slice(0, 2), ["http://a", "http://b"], "another source is tried");
});
