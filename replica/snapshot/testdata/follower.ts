/**
 * A follower for the transfer tests: the real route and receiver behind
 * Deno.serve on port 0 (a real socket), counting what reaches the receiver,
 * with a hook that damages one chunk on its way in; and the leader's side:
 * a snapshot file of pseudo-random bytes and the sender's options for it.
 */
import { createHash } from "node:crypto";
import { Hono } from "hono";
import {
  type ChunkHeader,
  type FinalAnswerBody,
  SNAPSHOT_PATH,
  type SnapshotMeta,
} from "../../../protocol/snapshot.ts";
import { SnapshotReceiver } from "../receiver.ts";
import { installSnapshotRoute } from "../route.ts";
import type { SendSnapshotOptions } from "../sender.ts";

export const MiB = 1024 * 1024;

export interface Follower {
  url: string;
  dir: string;
  /** Body bytes handed to the receiver, and the offsets of probes seen after some progress. */
  offered: { bytes: number; midProbes: number; statuses: number[] };
  installed: string;
  /** Flip one byte of the n-th non-empty chunk (or frame) before the receiver sees it. */
  corruptChunk?: number;
  close(): Promise<void>;
}

export async function follower(term = 5): Promise<Follower> {
  const dir = await Deno.makeTempDir({ prefix: "wb-snapxfer-" });
  const receiver = await SnapshotReceiver.open(dir);
  const f = {
    dir,
    installed: `${dir}/installed.sqlite`,
    offered: { bytes: 0, midProbes: 0, statuses: [] as number[] },
  } as Follower;
  let nonEmpty = 0;
  const counting = {
    nextOffsetFor: (h: ChunkHeader) => receiver.nextOffsetFor(h),
    offer(h: ChunkHeader, body: Uint8Array) {
      f.offered.bytes += body.length;
      if (body.length > 0 && ++nonEmpty === f.corruptChunk) {
        body = body.slice();
        body[body.length >> 1] ^= 0x01;
      }
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
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
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
export async function snapshotFile(
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

export async function withLeaderDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "wb-snapxfer-leader-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

export async function sameBytes(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([Deno.readFile(a), Deno.readFile(b)]);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

export const options = (
  f: Follower,
  snap: { path: string; meta: SnapshotMeta },
): SendSnapshotOptions => ({
  url: f.url,
  token: null,
  ...snap,
  term: 5,
  leaderId: "replica1",
  frameBytes: MiB,
  requestBytes: 4 * MiB,
  timeoutMs: 10_000,
});
