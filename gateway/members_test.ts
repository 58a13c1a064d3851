/** The gateway learns members from `GET /members`: replicas added later are used, removed ones not. */
import assert from "node:assert/strict";
import { createLogger } from "../common/log.ts";
import { ReplicaClient } from "../replica/client.ts";
import { FakeCluster, type FakeClusterOptions } from "../tests/testing/fake_cluster.ts";
import { Cluster } from "./cluster.ts";
import { GatewayClient, makeStroke } from "./client.ts";
import { type Gateway, type GatewayOptions, startGateway } from "./gateway.ts";
import { decodeMembers } from "./members.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`not in time: ${what}`);
    await sleep(10);
  }
}

const quiet = () => createLogger("gateway", "debug", () => {});

/** A fake cluster and a gateway that is told only the first `seeds` replicas. */
function start(cluster: FakeClusterOptions, seeds: number, gateway: Partial<GatewayOptions> = {}) {
  const fake = FakeCluster.start(cluster);
  const gw = startGateway({
    replicaUrls: fake.urls.slice(0, seeds),
    port: 0,
    hostname: "127.0.0.1",
    log: quiet(),
    cluster: { refreshIntervalMs: 50, membersIntervalMs: 50 },
    // A small cache, so a replay from 0 reads its history from a replica.
    stream: { pollWaitMs: 500, batchLimit: 4, cacheEntries: 8 },
    history: { pageLimit: 7 },
    ...gateway,
  });
  const clients: GatewayClient[] = [];
  return {
    fake,
    gw,
    async connect(board: string, since?: number): Promise<GatewayClient> {
      const c = await GatewayClient.connect(`ws://127.0.0.1:${gw.port}/ws`, { board, since });
      clients.push(c);
      return c;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      const violations = clients.flatMap((c) => c.violations);
      await gw.close();
      await fake.close();
      assert.deepEqual(violations, [], "protocol violations");
    },
  };
}

async function draw(client: GatewayClient, count: number, prefix: string): Promise<string[]> {
  const ids = Array.from({ length: count }, () => {
    const s = makeStroke(prefix);
    client.sendStroke(s);
    return s.id;
  });
  await client.waitForAcks(ids, 15_000);
  return ids;
}

/** The client streamed exactly the board's committed strokes, each once, in index order. */
async function assertReplayed(fake: FakeCluster, client: GatewayClient, ids: string[]) {
  await client.waitForStrokes(ids, 15_000);
  await sleep(50); // anything repeated would arrive right behind
  const expected = fake.committedStrokes().map((e) => `${e.index}:${e.stroke.id}`);
  assert.deepEqual(client.strokes().map((e) => `${e.index}:${e.stroke.id}`), expected);
}

/** The gateway's stream has taken in the whole log, so a replay from 0 is older than its cache. */
function caughtUp(fake: FakeCluster, gw: Gateway): Promise<void> {
  return waitUntil(() => gw.stream.lastIndex === fake.commitIndex, "stream caught up");
}

function knownMembers(gw: Gateway): string[] {
  return gw.cluster.members?.members.map((m) => m.id) ?? [];
}

Deno.test("a replica added to the configuration is used once every seed is gone", async () => {
  const t = start({ size: 4, members: [0, 1, 2], commitDelayMs: 1, token: "s3cret" }, 3, {
    clusterToken: "s3cret",
  });
  try {
    const a = await t.connect("m");
    const before = await draw(a, 20, "before");
    await waitUntil(() => knownMembers(t.gw).length === 3, "first configuration");
    assert.ok(!t.gw.cluster.urls.includes(t.fake.urls[3]), "not a member yet, not used");

    t.fake.setMembers([0, 1, 2, 3]);
    await waitUntil(() => t.gw.cluster.reachableUrls().includes(t.fake.urls[3]), "replica4 seen");
    // Every replica the gateway was started with dies; only the one added later is left.
    for (const i of [0, 1, 2]) t.fake.kill(i);
    t.fake.setLeader(3);
    const after = await draw(a, 20, "after");

    await caughtUp(t.fake, t.gw);
    const pages = t.gw.history.pagesRead;
    const late = await t.connect("m", 0);
    await assertReplayed(t.fake, late, [...before, ...after]);
    await assertReplayed(t.fake, a, [...before, ...after]);
    assert.ok(t.gw.history.pagesRead > pages, "the replay was read from replica4");
    assert.ok(t.fake.log.some((e) => "config" in e), "the log holds configuration entries");
  } finally {
    await t.close();
  }
});

Deno.test("a removed replica is no longer read from, and a removed seed can come back", async () => {
  const t = start({ size: 3, commitDelayMs: 1 }, 3);
  try {
    await waitUntil(() => t.gw.cluster.reachableUrls().length === 3, "all up");
    await waitUntil(() => knownMembers(t.gw).length === 3, "first configuration");
    t.fake.setMembers([0, 1]);
    await waitUntil(() => t.gw.cluster.urls.length === 2, "replica3 set aside");
    assert.deepEqual(t.gw.cluster.urls, t.fake.urls.slice(0, 2));
    assert.deepEqual(
      t.gw.cluster.status(0, 0).replicas.map((r) => r.replicaId),
      ["replica1", "replica2"],
    );

    const a = await t.connect("r");
    const ids = await draw(a, 40, "r");
    await caughtUp(t.fake, t.gw);
    const servedBy3 = t.fake.stats.entriesCalls[2];
    const replays = await Promise.all([0, 1, 2].map(() => t.connect("r", 0)));
    for (const c of replays) await assertReplayed(t.fake, c, ids);
    assert.ok(t.gw.history.pagesRead > 0);
    assert.equal(t.fake.stats.entriesCalls[2], servedBy3, "no read went to the removed replica");

    t.fake.setMembers([0, 1, 2]);
    await waitUntil(() => t.gw.cluster.urls.length === 3, "replica3 back");
    assert.deepEqual(t.gw.cluster.urls, t.fake.urls);
  } finally {
    await t.close();
  }
});

Deno.test("seeds that name members by another address are not doubled; joiners come and go", async () => {
  const fake = FakeCluster.start({ size: 4, members: [0, 1, 2] });
  const seeds = fake.urls.slice(0, 3).map((u) => u.replace("127.0.0.1", "localhost"));
  const cluster = new Cluster({ urls: seeds, client: new ReplicaClient(), log: quiet() });
  try {
    await cluster.refresh();
    await cluster.discover();
    await cluster.refresh();
    assert.deepEqual(cluster.urls, seeds);
    assert.equal(cluster.leader?.url, seeds[0]);

    fake.setMembers([0, 1, 2, 3]);
    await cluster.discover();
    await cluster.refresh();
    assert.deepEqual(cluster.urls, [...seeds, fake.urls[3]]);
    assert.deepEqual(cluster.reachableUrls(), [...seeds, fake.urls[3]]);

    fake.setLeader(3); // the joiner leads; the seeds' view of it must not be doubled either
    await cluster.refresh();
    assert.equal(cluster.leader?.url, fake.urls[3]);

    fake.setLeader(1);
    fake.setMembers([1, 2]);
    await cluster.refresh();
    await cluster.discover();
    await cluster.refresh();
    assert.deepEqual(cluster.urls, seeds.slice(1), "replica4 dropped, replica1 set aside");
    assert.equal(cluster.leader?.url, seeds[1]);
    assert.deepEqual(cluster.members?.configIndex, fake.configIndex);
  } finally {
    cluster.stop();
    await fake.close();
  }
});

Deno.test("decodeMembers refuses what is not a configuration", () => {
  const m = { id: "replica1", url: "http://127.0.0.1:9001", voter: true };
  assert.ok(decodeMembers({ members: [m], configIndex: 0 }).ok);
  assert.ok(!decodeMembers({ members: [m] }).ok);
  assert.ok(!decodeMembers({ members: [], configIndex: 1 }).ok);
  assert.ok(!decodeMembers({ members: [{ ...m, voter: "yes" }], configIndex: 1 }).ok);
  assert.ok(!decodeMembers([m]).ok);
});
