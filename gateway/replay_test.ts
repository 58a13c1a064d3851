/**
 * Replays longer than the gateway's recent cache: read back from the replicas, handed over to
 * the live stream without a gap or a repeat, while strokes stream in and replicas fail; and
 * the gateway's memory stays bounded whatever the history and however slow a client is.
 */
import assert from "node:assert/strict";
import type { Stroke } from "../protocol/mod.ts";
import { type Harness, type HarnessOptions, setup } from "../tests/testing/gateway_harness.ts";
import { Prng } from "../tests/testing/prng.ts";
import { RawWsClient } from "../tests/testing/raw_ws.ts";
import { type GatewayClient, makeStroke } from "./client.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A cache of 100 strokes, small pages and small messages, so replays cross many pages, the
 * hand-over, and full batches from the cache.
 */
const SMALL: HarnessOptions = {
  gateway: {
    stream: { batchLimit: 20, cacheEntries: 100 },
    history: { pageLimit: 150 },
    limits: { maxEntriesPerMessage: 7 },
  },
};
const CACHE_BOUND = 100;
const TRIALS = 20;

async function waitUntil(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`${what}: not in time`);
    await sleep(5);
  }
}

const caughtUp = (h: Harness) =>
  waitUntil("gateway caught up", () => h.gateway.stream.lastIndex >= h.fake.commitIndex);

/** `n` strokes, each on `board` or (with probability `noise`) on another board. */
function strokes(rng: Prng, n: number, board: string, noise = 0.5): Stroke[] {
  return Array.from(
    { length: n },
    () => makeStroke(board, { board: rng.chance(noise) ? "noise" : board }),
  );
}

/** `index:id` of the board's committed strokes after `since`, from the fake cluster's log. */
function expected(h: Harness, board: string, since: number): string[] {
  return h.fake.committedStrokes().filter((e) => e.stroke.board === board && e.index > since)
    .map((e) => `${e.index}:${e.stroke.id}`);
}

/** Appends a marker stroke, waits for it, then checks the client's whole stream. */
async function assertStream(h: Harness, c: GatewayClient, board: string, since: number) {
  const marker = makeStroke("marker", { board });
  h.fake.appendCommitted([marker]);
  await c.waitForStrokes([marker.id], 30_000);
  const got = c.strokes().map((e) => `${e.index}:${e.stroke.id}`);
  const want = expected(h, board, since).filter((s) =>
    Number(s.split(":")[0]) <= c.indexOf(marker.id)!
  );
  assert.deepEqual(got, want, `board ${board} since ${since}`);
  assert.deepEqual(c.violations, []);
}

Deno.test("a replay longer than the cache is complete, in order, once; the cache stays bounded", async () => {
  const h = setup(SMALL);
  const rng = new Prng(1);
  try {
    h.fake.appendCommitted(strokes(rng, 1000, "big"));
    await caughtUp(h);
    const sizeAt1k = h.gateway.stream.cache.size;
    for (let i = 0; i < 9; i++) h.fake.appendCommitted(strokes(rng, 1000, "big"));
    await caughtUp(h);
    // The test hook for "memory does not grow with the history": strokes retained.
    assert.equal(sizeAt1k, CACHE_BOUND);
    assert.equal(h.gateway.stream.cache.size, CACHE_BOUND, "10x the history, same memory");

    const pagesBefore = h.gateway.history.pagesRead;
    const mid = Math.floor(h.fake.commitIndex / 2);
    const [all, half] = [await h.connect("big"), await h.connect("big", mid)];
    assert.equal((await all.hello()).commitIndex, h.fake.commitIndex);
    await assertStream(h, all, "big", 0);
    await assertStream(h, half, "big", mid);
    assert.ok(all.strokes().length > 4000, `${all.strokes().length} strokes replayed`);
    const pages = h.gateway.history.pagesRead - pagesBefore;
    assert.ok(pages >= 10_000 / 150, `the replay came from the replicas (${pages} pages)`);
  } finally {
    await h.close();
  }
});

Deno.test("clients joining while strokes stream in get no gap and no repeat at the hand-over", async () => {
  const h = setup(SMALL);
  const seed = Number(Deno.env.get("SEED") ?? Date.now() % 100_000);
  console.log(`SEED=${seed}`);
  let pages = 0;
  try {
    for (let trial = 0; trial < TRIALS; trial++) {
      const rng = new Prng(seed * 100 + trial);
      const board = `t${trial}`;
      h.fake.appendCommitted(strokes(rng, rng.int(0, 300), board));
      await caughtUp(h);
      const pagesBefore = h.gateway.history.pagesRead;
      let writing = true;
      const writer = (async () => {
        for (let burst = 0; burst < 30; burst++) {
          h.fake.appendCommitted(strokes(rng, rng.int(1, 60), board));
          await sleep(rng.int(0, 4));
        }
        writing = false;
      })();
      const fault = trial % 3; // none, a follower crashes, the leader crashes
      const joined: { client: GatewayClient; since: number }[] = [];
      while (writing) {
        await sleep(rng.int(0, 15));
        if (joined.length === 2 && fault > 0) crash(h, fault === 2 ? h.fake.leader ?? 0 : 1);
        const committed = expected(h, board, 0).map((s) => Number(s.split(":")[0]));
        const since = rng.chance(0.4) ? 0 : committed.length > 0 ? rng.pick(committed) : 0;
        joined.push({ client: await h.connect(board, since), since });
      }
      await writer;
      h.fake.ids.forEach((_, i) => h.fake.restart(i));
      if (h.fake.leader === null) h.fake.setLeader(0);
      for (const { client, since } of joined) await assertStream(h, client, board, since);
      pages += h.gateway.history.pagesRead - pagesBefore;
      await Promise.all(joined.map(({ client }) => client.close()));
    }
    console.log(`${TRIALS} trials, ${pages} history pages read`);
    assert.ok(pages > 0, "some joins were replayed from the replicas");
  } finally {
    await h.close();
  }
});

/** Crashes replica `i` (a leader crash starts an election the test ends later). */
function crash(h: Harness, i: number): void {
  if (!h.fake.isAlive(i)) return;
  h.fake.kill(i);
}

Deno.test("a stalled reader is not buffered: it falls behind the cache, then catches up from a replica", async () => {
  const h = setup({
    gateway: {
      ...SMALL.gateway,
      limits: {
        ...SMALL.gateway?.limits,
        sendHighWaterBytes: 64 * 1024,
        slowClientTimeoutMs: 120_000,
      },
    },
  });
  const raw = await RawWsClient.connect(h.gateway.port, "/ws?board=slow");
  try {
    assert.match((await raw.nextText()) ?? "", /"type":"hello"/);
    await waitUntil("session open", () => h.gateway.hub.sessionsOn("slow").length === 1);
    const [session] = h.gateway.hub.sessionsOn("slow");
    const cache = h.gateway.stream.cache;
    // Kernel buffers take megabytes before the gateway sees a backlog: fill until it stalls.
    for (let round = 0; round < 100 && session.feed.cursor >= cache.floor("slow"); round++) {
      h.fake.appendCommitted(
        Array.from(
          { length: 2000 },
          () => makeStroke(`slow-${"x".repeat(100)}`, { board: "slow" }),
        ),
      );
      await caughtUp(h);
    }
    assert.ok(session.feed.cursor < cache.floor("slow"), "the reader fell behind the cache");
    assert.ok(cache.size <= CACHE_BOUND, `${cache.size} strokes retained`);
    assert.ok(!session.isClosed, "a slow reader within its timeout stays connected");

    const pagesBefore = h.gateway.history.pagesRead;
    const want = expected(h, "slow", 0).map((s) => Number(s.split(":")[0]));
    const got: number[] = [];
    while (got.length < want.length) {
      const text = await raw.nextText();
      assert.ok(text !== null, `closed after ${got.length} of ${want.length} strokes`);
      const msg = JSON.parse(text);
      if (msg.type === "strokes") got.push(...msg.entries.map((e: { index: number }) => e.index));
    }
    assert.deepEqual(got, want, "every stroke once, in order");
    assert.ok(h.gateway.history.pagesRead > pagesBefore, "the backlog came from the replicas");
  } finally {
    raw.close();
    await h.close();
  }
});

Deno.test("hello waits until the gateway reaches since; a since past the history is told so", async () => {
  const h = setup({ gateway: { helloGraceMs: 300 } });
  try {
    h.fake.appendCommitted([makeStroke("w"), makeStroke("w")]);
    await caughtUp(h);
    const since = h.fake.commitIndex + 2;
    const ahead = await h.connect("default", since);
    const later = Array.from({ length: 3 }, () => makeStroke("later"));
    h.fake.appendCommitted(later);
    const hello = await ahead.hello();
    assert.ok(
      hello.commitIndex >= since,
      `hello.commitIndex ${hello.commitIndex} < since ${since}`,
    );
    assert.deepEqual((await ahead.waitForStrokes([later[2].id])).map((e) => e.stroke.id), [
      later[2].id,
    ]);

    const past = await h.connect("default", h.fake.commitIndex + 1000);
    assert.equal((await past.hello()).commitIndex, h.fake.commitIndex, "history ends here");
  } finally {
    await h.close();
  }
});

Deno.test("GET /boards joins the replicas' counts with this gateway's clients", async () => {
  const h = setup(SMALL);
  try {
    const rng = new Prng(7);
    h.fake.appendCommitted(strokes(rng, 500, "one", 0.3));
    const two = await h.connect("two");
    await caughtUp(h);
    await waitUntil("client registered", () => h.gateway.hub.clientCount === 1);
    const res = await fetch(`http://127.0.0.1:${h.gateway.port}/boards`);
    const count = (b: string) =>
      h.fake.committedStrokes().filter((e) => e.stroke.board === b).length;
    const { boards } = await res.json();
    assert.deepEqual(boards[0], { name: "two", entries: 0, clients: 1 }, "boards in use first");
    const last = h.fake.committedStrokes().at(-1)!.stroke.board;
    assert.equal(boards[1].name, last, "then the most recently drawn on");
    assert.deepEqual(
      boards.slice(1).sort((a: { name: string }, b: { name: string }) =>
        a.name.localeCompare(b.name)
      ),
      [
        { name: "noise", entries: count("noise"), clients: 0 },
        { name: "one", entries: count("one"), clients: 0 },
      ],
    );
    await two.close();
  } finally {
    await h.close();
  }
});
