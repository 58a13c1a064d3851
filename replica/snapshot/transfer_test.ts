/**
 * Sender and route end to end over real sockets (Deno.serve on port 0): a
 * whole transfer, a connection cut mid-chunk, a chunk damaged in transit, a
 * stale leader, oversize and malformed chunks.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Hono } from "hono";
import {
  type ChunkHeader,
  encodeChunkHeaders,
  type FinalAnswerBody,
  MAX_CHUNK_BYTES,
  SNAPSHOT_HEADERS,
  SNAPSHOT_PATH,
  type SnapshotMeta,
} from "../../protocol/snapshot.ts";
import { crc32 } from "../storage/crc32.ts";
import { INCOMING_FILE_NAME, SnapshotReceiver } from "./receiver.ts";
import { installSnapshotRoute } from "./route.ts";
import { sendSnapshot, type SendSnapshotOptions } from "./sender.ts";
import { breakProxy } from "./testdata/break_proxy.ts";

const MiB = 1024 * 1024;

interface Follower {
  url: string;
  dir: string;
  /** Body bytes handed to the receiver, and the offsets of probes seen after some progress. */
  offered: { bytes: number; midProbes: number; statuses: number[] };
  installed: string;
  /** Flip one byte of the n-th non-empty chunk before the route sees it. */
  corruptChunk?: number;
  close(): Promise<void>;
}

async function follower(term = 5): Promise<Follower> {
  const dir = await Deno.makeTempDir({ prefix: "wb-snapxfer-" });
  const receiver = await SnapshotReceiver.open(dir);
  const f = {
    dir,
    installed: `${dir}/installed.sqlite`,
    offered: { bytes: 0, midProbes: 0, statuses: [] as number[] },
  } as Follower;
  const counting = {
    nextOffsetFor: (h: ChunkHeader) => receiver.nextOffsetFor(h),
    offer(h: ChunkHeader, body: Uint8Array) {
      f.offered.bytes += body.length;
      if (body.length === 0 && receiver.nextOffsetFor(h) > 0) f.offered.midProbes++;
      return receiver.offer(h, body);
    },
  };
  const route = installSnapshotRoute({
    receiver: counting,
    currentTerm: () => term,
    install: async (_h, staged): Promise<FinalAnswerBody> => {
      await Deno.rename(staged.path, f.installed);
      const { index } = staged.meta;
      return {
        term,
        done: true,
        success: true,
        matchIndex: index,
        logLength: index,
        incarnation: 7,
      };
    },
  });
  const app = new Hono();
  app.post(SNAPSHOT_PATH, route);
  let nonEmpty = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const declared = Number(req.headers.get("content-length") ?? 0);
    if (declared > 0 && declared <= MAX_CHUNK_BYTES && ++nonEmpty === f.corruptChunk) {
      const bytes = new Uint8Array(await req.arrayBuffer());
      bytes[bytes.length >> 1] ^= 0x01;
      req = new Request(req.url, { method: req.method, headers: req.headers, body: bytes });
    }
    const res = await app.fetch(req);
    f.offered.statuses.push(res.status);
    return res;
  });
  f.url = `http://127.0.0.1:${server.addr.port}`;
  f.close = async () => {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  };
  return f;
}

/** A file of pseudo-random bytes (incompressible, no repeating chunk) and its meta. */
async function snapshotFile(
  dir: string,
  bytes: number,
): Promise<{ path: string; meta: SnapshotMeta }> {
  const data = new Uint8Array(bytes);
  let x = 0x9e3779b9;
  for (let i = 0; i < bytes; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    data[i] = x;
    data[i + 1] = x >>> 8;
    data[i + 2] = x >>> 16;
    data[i + 3] = x >>> 24;
  }
  const path = `${dir}/snapshot.out`;
  await Deno.writeFile(path, data);
  const sha256 = createHash("sha256").update(data).digest("hex");
  return { path, meta: { index: 4242, term: 4, bytes, sha256 } };
}

async function withLeaderDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "wb-snapxfer-leader-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function sameBytes(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([Deno.readFile(a), Deno.readFile(b)]);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

const options = (f: Follower, snap: { path: string; meta: SnapshotMeta }): SendSnapshotOptions => ({
  url: f.url,
  token: null,
  ...snap,
  term: 5,
  leaderId: "replica1",
  chunkBytes: MiB,
  timeoutMs: 10_000,
});

Deno.test("transfer: 20 MiB in 1 MiB chunks arrives byte-identical", async () => {
  await withLeaderDir(async (dir) => {
    const f = await follower();
    try {
      const snap = await snapshotFile(dir, 20 * MiB + 12345);
      const started = performance.now();
      const r = await sendSnapshot(options(f, snap));
      const s = (performance.now() - started) / 1000;
      console.log(
        `sent ${(snap.meta.bytes / MiB).toFixed(1)} MiB in ${(s * 1000).toFixed(0)} ms: ` +
          `${(snap.meta.bytes / MiB / s).toFixed(0)} MiB/s on localhost, 1 MiB chunks`,
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
    // Inside the sixth or seventh answer: the chunk is staged, its answer lost.
    const proxy = breakProxy(Number(new URL(f.url).port), {
      direction: "response",
      after: 1000,
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

const header = (body: Uint8Array, over: Partial<ChunkHeader> = {}): Record<string, string> =>
  encodeChunkHeaders({
    term: 5,
    leaderId: "replica1",
    meta: { index: 1, term: 1, bytes: 32 * MiB, sha256: "a".repeat(64) },
    offset: 0,
    crc32: crc32(body),
    ...over,
  });

Deno.test("transfer: a chunk over the limit is refused with 413, declared or streamed", async () => {
  const f = await follower();
  try {
    const big = new Uint8Array(MAX_CHUNK_BYTES + 1);
    const declared = await fetch(f.url + SNAPSHOT_PATH, {
      method: "POST",
      headers: header(big),
      body: big,
    });
    assert.equal(declared.status, 413);
    await declared.body?.cancel();
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 9; i++) c.enqueue(new Uint8Array(MiB));
        c.close();
      },
    });
    const streamed = await fetch(f.url + SNAPSHOT_PATH, {
      method: "POST",
      headers: header(big),
      body: stream,
    });
    assert.equal(streamed.status, 413);
    await streamed.body?.cancel();
    await assert.rejects(Deno.stat(`${f.dir}/${INCOMING_FILE_NAME}`), Deno.errors.NotFound);
  } finally {
    await f.close();
  }
});

Deno.test("transfer: malformed headers are refused with 400 and nothing is staged", async () => {
  const f = await follower();
  try {
    const body = new Uint8Array(100).fill(7);
    const cases: [string, string | null][] = [
      [SNAPSHOT_HEADERS.offset, "0x10"],
      [SNAPSHOT_HEADERS.bytes, String(2 ** 48)],
      [SNAPSHOT_HEADERS.crc32, String(2 ** 32)],
      [SNAPSHOT_HEADERS.sha256, "A".repeat(64)],
      [SNAPSHOT_HEADERS.leaderId, "no spaces"],
      [SNAPSHOT_HEADERS.term, null],
    ];
    for (const [name, value] of cases) {
      const headers = header(body);
      if (value === null) delete headers[name];
      else headers[name] = value;
      const res = await fetch(f.url + SNAPSHOT_PATH, { method: "POST", headers, body });
      const answer = await res.json();
      assert.equal(res.status, 400, `${name}: ${value}`);
      assert.ok(answer.error.includes(name), answer.error);
    }
    const res = await fetch(f.url + SNAPSHOT_PATH, {
      method: "POST",
      headers: header(body, { crc32: 1 }),
      body,
    });
    assert.equal(res.status, 400);
    assert.match((await res.json()).error, /crc32/);
    await assert.rejects(Deno.stat(`${f.dir}/${INCOMING_FILE_NAME}`), Deno.errors.NotFound);
  } finally {
    await f.close();
  }
});
