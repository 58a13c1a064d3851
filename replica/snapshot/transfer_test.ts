/**
 * Sender and route end to end over real sockets: a whole transfer, a
 * connection cut mid-chunk, a lost answer, a chunk damaged in transit, a
 * stale leader.
 */
import assert from "node:assert/strict";
import { INCOMING_FILE_NAME } from "./receiver.ts";
import { sendSnapshot } from "./sender.ts";
import { breakProxy } from "./testdata/break_proxy.ts";
import {
  follower,
  MiB,
  options,
  sameBytes,
  snapshotFile,
  withLeaderDir,
} from "./testdata/follower.ts";

Deno.test("transfer: 20 MiB in 1 MiB frames arrives byte-identical", async () => {
  await withLeaderDir(async (dir) => {
    const f = await follower();
    try {
      const snap = await snapshotFile(dir, 20 * MiB + 12345);
      const started = performance.now();
      const r = await sendSnapshot(options(f, snap));
      const s = (performance.now() - started) / 1000;
      console.log(
        `sent ${(snap.meta.bytes / MiB).toFixed(1)} MiB in ${(s * 1000).toFixed(0)} ms: ` +
          `${
            (snap.meta.bytes / MiB / s).toFixed(0)
          } MiB/s on localhost, 1 MiB frames in 4 MiB requests`,
      );
      assert.deepEqual(r, {
        kind: "final",
        answer: {
          kind: "final",
          term: 5,
          done: true,
          success: true,
          matchIndex: 4242,
          logLength: 4242,
          incarnation: 7,
        },
      });
      assert.ok(await sameBytes(snap.path, f.installed));
      assert.equal(f.offered.bytes, snap.meta.bytes, "each byte sent once");
    } finally {
      await f.close();
    }
  });
});

Deno.test("transfer: a connection cut mid-request costs only that chunk", async () => {
  await withLeaderDir(async (dir) => {
    const f = await follower();
    const cut = { direction: "request", after: 7.5 * MiB, refuse: 2 } as const;
    const proxy = breakProxy(Number(new URL(f.url).port), cut);
    try {
      const snap = await snapshotFile(dir, 12 * MiB);
      const r = await sendSnapshot({ ...options(f, snap), url: `http://127.0.0.1:${proxy.port}` });
      assert.equal(r.kind, "final");
      assert.ok(proxy.broke(), "the proxy cut the connection");
      assert.ok(f.offered.statuses.includes(400), "the route saw the body cut short");
      assert.ok(await sameBytes(snap.path, f.installed));
      assert.equal(f.offered.midProbes, 1, "one probe learnt where to resume");
      // The cut chunk never reached the receiver, and nothing before it was sent again.
      assert.equal(f.offered.bytes, snap.meta.bytes);
    } finally {
      await proxy.close();
      await f.close();
    }
  });
});

Deno.test("transfer: a lost answer is recovered by a probe, from the staged offset", async () => {
  await withLeaderDir(async (dir) => {
    const f = await follower();
    // Inside the third answer (of the second 4 MiB request): its frames are staged, its answer lost.
    const proxy = breakProxy(Number(new URL(f.url).port), {
      direction: "response",
      after: 350,
      refuse: 2,
    });
    try {
      const snap = await snapshotFile(dir, 12 * MiB);
      const r = await sendSnapshot({ ...options(f, snap), url: `http://127.0.0.1:${proxy.port}` });
      assert.equal(r.kind, "final");
      assert.ok(proxy.broke(), "the proxy cut the connection");
      assert.ok(await sameBytes(snap.path, f.installed));
      assert.equal(f.offered.midProbes, 1, "one probe learnt where to resume");
      assert.equal(f.offered.bytes, snap.meta.bytes, "no byte sent twice, none from 0 again");
    } finally {
      await proxy.close();
      await f.close();
    }
  });
});

Deno.test("transfer: a chunk damaged in transit is refused with 400 and sent again", async () => {
  await withLeaderDir(async (dir) => {
    const f = await follower();
    f.corruptChunk = 3;
    try {
      const snap = await snapshotFile(dir, 5 * MiB);
      const r = await sendSnapshot(options(f, snap));
      assert.equal(r.kind, "final");
      assert.equal(f.offered.statuses.filter((s) => s === 400).length, 1);
      assert.ok(await sameBytes(snap.path, f.installed));
      assert.equal(f.offered.bytes, snap.meta.bytes + MiB, "only the damaged chunk twice");
    } finally {
      await f.close();
    }
  });
});

Deno.test("transfer: a stale leader is refused with 409 and told the newer term", async () => {
  await withLeaderDir(async (dir) => {
    const f = await follower(9);
    try {
      const snap = await snapshotFile(dir, 2 * MiB);
      assert.deepEqual(await sendSnapshot(options(f, snap)), { kind: "stale", term: 9 });
      assert.deepEqual(f.offered.statuses, [409]);
      await assert.rejects(Deno.stat(`${f.dir}/${INCOMING_FILE_NAME}`), Deno.errors.NotFound);
    } finally {
      await f.close();
    }
  });
});
