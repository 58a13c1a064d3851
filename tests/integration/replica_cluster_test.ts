/**
 * Three real replica processes on 127.0.0.1: elections, replication,
 * failover, disk loss, full-cluster crash, and bad input. Figures (election
 * and catch-up times) are printed, never asserted beyond generous timeouts.
 */
import assert from "node:assert/strict";
import { eventually, LocalCluster, testStroke } from "../testing/local_cluster.ts";
import { type LogEntry, MAX_ID_LENGTH } from "../../protocol/mod.ts";
import { ENTRIES_PATH, STREAM_PAGE_BYTES } from "../../protocol/peer_stream.ts";
import { ReplicaClient } from "../../replica/client.ts";
import { PeerStreams } from "../../replica/peer_stream.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

async function withCluster(
  fn: (c: LocalCluster) => Promise<void>,
  extra: { token?: string; env?: Record<string, string> } = {},
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "wb-int-" });
  const cluster = await new LocalCluster({ dir, ...extra }).start();
  try {
    await fn(cluster);
  } finally {
    await cluster.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

function strokeIds(entries: LogEntry[]): string[] {
  return entries.flatMap((e) => ("stroke" in e ? [e.stroke.id] : []));
}

async function allHave(c: LocalCluster, ids: string[], replicas = c.replicas.map((r) => r.id)) {
  await eventually(
    async () => {
      for (const id of replicas) {
        const got = strokeIds(await c.entries(id).catch(() => [])); // may still be starting
        if (!ids.every((x) => got.includes(x))) return false;
      }
      return true;
    },
    10_000,
    "strokes on every replica",
  );
}

Deno.test({ name: "a single leader is elected within a few seconds", ...opts }, async () => {
  await withCluster(async (c) => {
    const t0 = performance.now();
    const leader = await c.waitForLeader(5000);
    console.log(
      `  election from cold start: ${(performance.now() - t0).toFixed(0)} ms (${leader.id})`,
    );
    const sts = await Promise.all(c.replicas.map((r) => c.status(r.id)));
    assert.equal(sts.filter((s) => s?.state === "leader").length, 1);
    assert.ok(sts.every((s) => s?.leaderId === leader.id));
  });
});

Deno.test(
  { name: "strokes commit on all three replicas, in the same order, ids once", ...opts },
  async () => {
    await withCluster(async (c) => {
      const ids = Array.from({ length: 200 }, (_, i) => `s${i}`);
      for (let i = 0; i < ids.length; i += 50) {
        await c.propose(ids.slice(i, i + 50).map((id, k) => testStroke(id, i + k)));
      }
      await c.propose([testStroke("s0")]); // a retry of a committed id
      await allHave(c, ids);
      const logs = await Promise.all(c.replicas.map((r) => c.entries(r.id)));
      const expected = strokeIds(logs[0]);
      assert.deepEqual(expected.filter((x) => x === "s0").length, 1);
      for (const l of logs) {
        assert.deepEqual(strokeIds(l).slice(0, ids.length), expected.slice(0, ids.length));
      }
    });
  },
);

Deno.test(
  { name: "SIGKILL of the leader elects a new one and loses nothing committed", ...opts },
  async () => {
    await withCluster(async (c) => {
      const ids = Array.from({ length: 100 }, (_, i) => `k${i}`);
      await c.propose(ids.map((id, i) => testStroke(id, i)));
      const old = await c.waitForLeader();
      const t0 = performance.now();
      await c.kill(old.id);
      const next = await c.waitForLeader(5000, [old.id]);
      const idx = await c.propose([testStroke("after-failover")]);
      console.log(
        `  failover: ${(performance.now() - t0).toFixed(0)} ms to the first new commit (index ${
          idx[0]
        })`,
      );
      assert.notEqual(next.id, old.id);
      const live = c.replicas.filter((r) => r.id !== old.id).map((r) => r.id);
      await allHave(c, [...ids, "after-failover"], live);
      await c.restart(old.id);
      await allHave(c, [...ids, "after-failover"]);
    });
  },
);

Deno.test({
  name: "a follower restarted with a wiped data dir catches up through /sync-log",
  ...opts,
}, async () => {
  await withCluster(async (c) => {
    const leader = await c.waitForLeader();
    const follower = c.replicas.find((r) => r.id !== leader.id)!;
    const ids: string[] = [];
    for (let b = 0; b < 10; b++) {
      const batch = Array.from({ length: 1000 }, (_, i) => `w${b}-${i}`);
      ids.push(...batch);
      await c.propose(batch.map((id, i) => testStroke(id, i)));
    }
    await c.kill(follower.id);
    await c.restart(follower.id, { wipe: true });
    const t0 = performance.now();
    const target = (await c.status(leader.id))!.commitIndex;
    await eventually(
      async () => ((await c.status(follower.id))?.commitIndex ?? 0) >= target,
      20_000,
      "catch-up",
    );
    console.log(
      `  catch-up of a wiped follower, ${target} entries: ${
        (performance.now() - t0).toFixed(0)
      } ms`,
    );
    // /entries serves applied entries: compare only once both applied the target.
    await c.waitForApplied(target, 20_000);
    await eventually(
      async () => (await c.status(follower.id))?.recovering === false,
      20_000,
      "recovered",
    );
    assert.deepEqual(
      strokeIds(await c.entries(follower.id)),
      strokeIds(await c.entries(leader.id)),
    );
    const log = await Deno.readTextFile(`${follower.dataDir}/../${follower.id}.log`);
    assert.match(log, /event=sync_log_received fromIndex=0 entries=\d+ success=true/);
  }, { env: { SNAPSHOT_THRESHOLD: "100000" } }); // the whole history in the log: /sync-log, not a snapshot
});

Deno.test({
  name: "SIGKILL of all three at once, then restart, keeps every acknowledged stroke",
  ...opts,
}, async () => {
  await withCluster(async (c) => {
    await c.waitForLeader();
    const acked: string[] = [];
    const writer = (async () => {
      for (let i = 0; i < 1000; i++) {
        const batch = Array.from({ length: 20 }, (_, k) => `x${i}-${k}`);
        try {
          await c.propose(batch.map((id, k) => testStroke(id, k)), 2000);
          acked.push(...batch);
        } catch {
          return;
        }
      }
    })();
    await new Promise((r) => setTimeout(r, 800));
    await Promise.all(c.replicas.map((r) => c.kill(r.id)));
    await writer;
    assert.ok(acked.length > 0, "some strokes were acknowledged before the crash");
    for (const r of c.replicas) await c.restart(r.id);
    await c.waitForLeader(10_000);
    await c.propose([testStroke("after-restart")]);
    await allHave(c, [...acked, "after-restart"]);
    console.log(`  ${acked.length} acknowledged strokes survived SIGKILL of the whole cluster`);
  });
});

Deno.test({ name: "bad input gets a 4xx with {error} and changes nothing", ...opts }, async () => {
  const token = "s3cret";
  await withCluster(async (c) => {
    const leader = await c.waitForLeader();
    await c.propose([testStroke("before")]);
    await c.waitSettled();
    const snapshot = async () =>
      (await Promise.all(c.replicas.map((r) => c.status(r.id)))).map((s) => ({
        term: s!.term,
        leaderId: s!.leaderId,
        logLength: s!.logLength,
      }));
    const before = await snapshot();
    const url = c.replica(leader.id === "replica1" ? "replica2" : "replica1").url;
    // A well-formed AppendEntries body with some fields overridden.
    const appendBody = (fields: Record<string, unknown>) =>
      JSON.stringify({
        term: 1,
        leaderId: "x",
        prevLogIndex: 0,
        prevLogTerm: 0,
        entries: [],
        leaderCommit: 0,
        ...fields,
      });
    const post = (path: string, body: BodyInit, headers: Record<string, string> = c.headers()) =>
      fetch(url + path, { method: "POST", body, headers });
    const cases: [string, BodyInit, number, Record<string, string>?][] = [
      [
        "/append-entries",
        appendBody({ term: 999999, leaderId: "evil" }),
        401,
        { "content-type": "application/json" },
      ],
      [
        "/request-vote",
        JSON.stringify({ term: 999999, candidateId: "evil", lastLogIndex: 99, lastLogTerm: 99 }),
        401,
        { authorization: "Bearer wrong" },
      ],
      ["/append-entries", "{not json", 400],
      [
        "/append-entries",
        appendBody({ term: -1 }),
        400,
      ],
      [
        "/append-entries",
        appendBody({ term: 2 ** 60 }),
        400,
      ],
      [
        "/append-entries",
        appendBody({ term: 1.5 }),
        400,
      ],
      [
        "/request-vote",
        JSON.stringify({ term: "9", candidateId: "x", lastLogIndex: 0, lastLogTerm: 0 }),
        400,
      ],
      ["/heartbeat", JSON.stringify({ leaderId: "x" }), 400],
      ["/sync-log", JSON.stringify({ fromIndex: 0, entries: [] }), 400],
      [
        "/append-entries",
        appendBody({ term: 99, entries: [{ index: 5, term: 1, stroke: {} }] }),
        400,
      ],
      ["/propose", JSON.stringify({ strokes: [{ id: "bad", x0: "1" }] }), 400],
      ["/propose", JSON.stringify({ strokes: [{ ...testStroke("nan"), x0: 1e300 }] }), 400],
      ["/propose", JSON.stringify([]), 400],
    ];
    for (const [path, body, status, headers] of cases) {
      const t0 = performance.now();
      const res = await post(path, body, headers);
      const ms = performance.now() - t0;
      const json = await res.json();
      assert.equal(res.status, status, `${path} ${String(body).slice(0, 60)}`);
      assert.equal(typeof json.error, "string");
      assert.ok(ms < 2000, `${path} answered in ${ms} ms`);
    }
    // The peer stream: the token is checked before the upgrade, and it is a WebSocket or nothing.
    const noToken = await fetch(url + "/raft/stream", { headers: { upgrade: "websocket" } });
    assert.equal(noToken.status, 401);
    await noToken.body?.cancel();
    const notUpgrade = await fetch(url + "/raft/stream", { headers: c.headers() });
    assert.equal(notUpgrade.status, 400);
    await notUpgrade.body?.cancel();
    // 64 MiB streamed without a length: refused while reading, memory barely moves.
    const target = c.replicas.find((r) => r.url === url)!;
    const rss = async () => {
      const s = await Deno.readTextFile(`/proc/${target.proc.pid}/status`);
      return Number(/VmRSS:\s+(\d+)/.exec(s)![1]) / 1024;
    };
    const rssBefore = await rss();
    const chunk = new Uint8Array(1024 * 1024).fill(32);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(ctrl) {
        if (sent++ >= 64) return ctrl.close();
        ctrl.enqueue(chunk);
      },
    });
    const big = await fetch(url + "/append-entries", {
      method: "POST",
      body: stream,
      headers: c.headers(),
    })
      .catch(() => null);
    if (big) {
      assert.equal(big.status, 413);
      await big.body?.cancel();
    }
    const declared = await post("/sync-log", new Uint8Array(9 * 1024 * 1024));
    assert.equal(declared.status, 413);
    await declared.body?.cancel();
    const grew = (await rss()) - rssBefore;
    console.log(`  RSS growth after a streamed 64 MiB POST: ${grew.toFixed(1)} MiB`);
    assert.ok(grew < 32, `RSS grew ${grew} MiB`);
    // Nothing moved: same term, same leader, same logs; the cluster still works.
    assert.deepEqual(await snapshot(), before);
    await c.propose([testStroke("after")]);
    await allHave(c, ["before", "after"]);
    // The leader replicates over its peer streams, which carried the token.
    const leaderLog = await c.logText(leader.id);
    for (const r of c.replicas.filter((r) => r.id !== leader.id)) {
      assert.ok(leaderLog.includes(`event=peer_stream_opened url=${r.url}`), r.id);
    }
  }, { token });
});

Deno.test({
  name: "the peer stream serves /entries as the GET does: same page, long poll, bounded size",
  ...opts,
}, async () => {
  const token = "stream-entries-token";
  await withCluster(async (c) => {
    const leader = await c.waitForLeader(5000);
    const streams = new PeerStreams(token, 1000);
    const streamed = new ReplicaClient(token, 2000, streams);
    try {
      streams.warm([leader.url]);
      const ask = (body: string) => streams.request(leader.url, ENTRIES_PATH, body, 2000);
      await eventually(() => ask('{"from":1}') !== null, 5000, "stream open");
      // Strokes of ~300 bytes each: 5000 of them are past one streamed page.
      const pad = "p".repeat(MAX_ID_LENGTH - 8);
      for (let b = 0; b < 5; b++) {
        const batch = Array.from(
          { length: 1000 },
          (_, i) => testStroke(`${pad}${b * 1000 + i}`, i),
        );
        assert.ok((await c.client.propose(leader.url, batch)).ok);
      }
      const viaGet = await c.client.entries(leader.url, { from: 1, limit: 10_000 });
      const viaStream = await streamed.entries(leader.url, { from: 1, limit: 10_000 });
      assert.ok(viaGet.ok && viaStream.ok);
      const [all, page] = [viaGet.value.entries, viaStream.value.entries];
      assert.ok(all.length >= 5000, `${all.length} entries by GET`);
      assert.ok(page.length < all.length, `a streamed page is bounded (${page.length})`);
      assert.ok(JSON.stringify(page).length >= STREAM_PAGE_BYTES);
      assert.deepEqual(page, all.slice(0, page.length), "the same entries, in order");

      const next = viaGet.value.commitIndex + 1;
      const poll = streamed.entries(leader.url, { from: next, waitMs: 5000 });
      await new Promise((r) => setTimeout(r, 100));
      assert.ok((await c.client.propose(leader.url, [testStroke("after-poll")])).ok);
      const woke = await poll;
      assert.ok(woke.ok, "the long poll is answered");
      assert.deepEqual(strokeIds(woke.value.entries), ["after-poll"]);

      for (const bad of ['{"from":-1}', "[]", '{"limit":3}', '{"from":1,"waitMs":"x"}', "nope"]) {
        const r = await ask(bad);
        assert.ok(r !== null && r !== "timeout" && r !== "closed", bad);
        assert.equal(r.status, 400, bad);
      }
    } finally {
      streams.close();
    }
  }, { token });
});
