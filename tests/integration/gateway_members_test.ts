/**
 * The gateway follows membership changes of real replicas (CONTRACT.md, "Membership") while a
 * client draws through it: `deno task members` adds replica4 and replica5 (JOIN=1) and removes
 * all three replicas the gateway was started with, which are then killed. The gateway, never
 * restarted, keeps acking through the members it discovered, and a replay from 0 streams
 * exactly the committed strokes, each once, in order.
 */
import assert from "node:assert/strict";
import { createLogger } from "../../common/log.ts";
import { GatewayClient, makeStroke } from "../../gateway/client.ts";
import { startGateway } from "../../gateway/gateway.ts";
import { runMembers } from "../../scripts/members.ts";
import { eventually, LocalCluster } from "../testing/local_cluster.ts";

const TOKEN = "members-test-token";

async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test({
  name: "the gateway uses members added later and drops removed ones, without a restart",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "gateway-members-" });
    const cluster = await new LocalCluster({ dir, token: TOKEN }).start();
    const seeds = cluster.urls();
    const gw = startGateway({
      replicaUrls: seeds,
      clusterToken: TOKEN,
      port: 0,
      hostname: "127.0.0.1",
      log: createLogger("gateway", "info", () => {}),
      cluster: { refreshIntervalMs: 200, membersIntervalMs: 200 },
    });
    const ws = `ws://127.0.0.1:${gw.port}/ws`;
    const clients: GatewayClient[] = [];
    let urls = seeds;
    const members = async (...args: string[]) => {
      const lines: string[] = [];
      await runMembers(args, { urls, token: TOKEN, print: (l) => lines.push(l) });
      return lines;
    };
    let drawing = true;
    const ids: string[] = [];
    let ackedAfterLoss = 0;
    let lost = false;
    try {
      await cluster.waitForLeader(20_000);
      const a = await GatewayClient.connect(ws, { board: "members" });
      clients.push(a);
      const writer = (async () => {
        while (drawing) {
          const s = makeStroke("m");
          a.sendStroke(s);
          await a.waitForAcks([s.id], 60_000);
          ids.push(s.id);
          if (lost) ackedAfterLoss++;
        }
      })().catch((e) => {
        if (drawing) throw e; // closing the client at the end ends a wait: not a failure
      });
      await waitFor(() => ids.length >= 20, 30_000, "first strokes");

      for (const id of ["replica4", "replica5"]) {
        const joiner = cluster.join();
        assert.equal(joiner.id, id);
        const up = await eventually(() => cluster.status(id), 20_000, `${id} up`);
        assert.equal(up.voter, false, `${id} waits as a non-voter`);
        const out = await members("add", joiner.url);
        assert.match(out[0], /^added http:\/\/127\.0\.0\.1:\d+ as a voter/);
        assert.ok(out.some((l) => l.startsWith(id) && /\bvoter\b/.test(l)), out.join("\n"));
      }
      const joiners = ["replica4", "replica5"].map((id) => cluster.replica(id).url);
      await waitFor(
        () => joiners.every((u) => gw.cluster.reachableUrls().includes(u)),
        10_000,
        "the gateway sees both joiners",
      );

      for (const id of ["replica1", "replica2", "replica3"]) {
        const out = await members("remove", id);
        assert.match(out[0], new RegExp(`^removed ${id} `));
      }
      await waitFor(() => gw.cluster.urls.length === 2, 10_000, "the seeds set aside");
      assert.deepEqual(gw.cluster.urls, joiners);
      for (const id of ["replica1", "replica2", "replica3"]) await cluster.kill(id);
      lost = true;
      await waitFor(() => ackedAfterLoss >= 20, 30_000, "acks with every seed gone");
      urls = joiners; // REPLICA_URLS of the CLI: the seeds are gone
      const list = await members();
      assert.ok(list.some((l) => /^replica[45]\s.*voter\s+leader \*$/.test(l)), list.join("\n"));

      drawing = false;
      await writer;
      const late = await GatewayClient.connect(ws, { board: "members", since: 0 });
      clients.push(late);
      await late.waitForStrokes(ids, 30_000);
      await new Promise((r) => setTimeout(r, 200)); // a repeat would arrive right behind
      const acks = a.acks();
      const replayed = late.strokes().map((e) => `${e.index}:${e.stroke.id}`);
      assert.deepEqual(replayed, ids.map((id) => `${acks.get(id)}:${id}`), "each once, in order");
      assert.deepEqual(a.strokes().map((e) => `${e.index}:${e.stroke.id}`), replayed);
    } finally {
      drawing = false;
      await Promise.all(clients.map((c) => c.close()));
      await gw.close();
      await cluster.stop();
      if (!Deno.env.get("KEEP")) await Deno.remove(dir, { recursive: true }).catch(() => {});
      else console.log(`kept ${dir}`);
    }
    assert.deepEqual(clients.flatMap((c) => c.violations), [], "protocol violations");
  },
});
