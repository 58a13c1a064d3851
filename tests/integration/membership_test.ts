/**
 * Membership changes with real processes while a client draws (issue 11):
 * add replica4 and replica5 (JOIN=1, caught up by snapshot: the test task
 * compacts every 64 entries), kill two of the original three (the five-member
 * cluster keeps acking), remove them, add them back with wiped disks. Every
 * acked stroke is committed once, and every member serves the same log.
 */
import assert from "node:assert/strict";
import { LocalCluster, testStroke } from "../testing/local_cluster.ts";
import type { LogEntry } from "../../protocol/mod.ts";

interface MembersBody {
  members: { id: string; url: string; voter: boolean }[];
  configIndex: number;
}

/** The membership API on the leader (LocalCluster.changeMembers). */
function change(
  cluster: LocalCluster,
  method: "POST" | "DELETE",
  path: string,
  body?: unknown,
): Promise<MembersBody> {
  return cluster.changeMembers(method, path, body);
}

function voters(body: MembersBody): string[] {
  return body.members.filter((m) => m.voter).map((m) => m.id).sort();
}

Deno.test({
  name: "membership: add two, lose two, remove them, re-add them wiped, while drawing",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "membership-" });
    const cluster = await new LocalCluster({ dir }).start();
    const acked = new Map<string, number>();
    let drawing = true;
    let ackedAfterLoss = 0;
    let lost = false;
    const writer = (async () => {
      for (let n = 0; drawing; n++) {
        const s = testStroke(`m${n}`, n);
        const [index] = await cluster.propose([s], 60_000);
        acked.set(s.id, index);
        if (lost) ackedAfterLoss++;
      }
    })();
    try {
      await cluster.waitForLeader(20_000);
      // Past the compaction threshold: new members are caught up by a snapshot.
      await waitFor(() => acked.size >= 100, 30_000, "a first hundred strokes");
      for (const id of ["replica4", "replica5"]) {
        const joiner = cluster.join();
        assert.equal(joiner.id, id);
        const st = await waitForStatus(cluster, id);
        assert.equal(st.voter, false, `${id} waits as a non-voter`);
        const body = await change(cluster, "POST", "/members", { url: joiner.url });
        assert.ok(voters(body).includes(id), `${id} is a voter once POST /members answers`);
      }
      const five = await change(cluster, "POST", "/members", {
        url: cluster.replica("replica4").url,
      })
        .then(() => null, (e) => String(e));
      assert.match(five ?? "", /409/, "adding a member twice is a 409");

      // Two of the original three die: three of five still ack.
      await cluster.kill("replica1");
      await cluster.kill("replica2");
      lost = true;
      const before = ackedAfterLoss;
      await waitFor(() => ackedAfterLoss >= before + 20, 30_000, "acks after losing two");

      for (const id of ["replica1", "replica2"]) {
        const body = await change(cluster, "DELETE", `/members/${id}`);
        assert.ok(!body.members.some((m) => m.id === id), `${id} removed`);
      }
      // Their disks are gone: they come back as new members.
      for (const id of ["replica1", "replica2"]) {
        await Deno.remove(cluster.replica(id).dataDir, { recursive: true }).catch(() => {});
        const joiner = cluster.join(id);
        await waitForStatus(cluster, id);
        const body = await change(cluster, "POST", "/members", { url: joiner.url });
        assert.ok(voters(body).includes(id), `${id} is a voter again`);
      }
      const final = await change(cluster, "POST", "/members", { url: "http://127.0.0.1:1" })
        .then(() => "added", (e) => String(e));
      assert.match(final, /502/, "an unreachable new member is a 502");
      const unknown = await change(cluster, "DELETE", "/members/nobody").catch((e) => String(e));
      assert.match(String(unknown), /404/, "removing a stranger is a 404");
      const leader = await cluster.waitForLeader(20_000);
      const follower = cluster.replicas.find((r) => r.id !== leader.id && r.proc.running)!;
      const hinted = await fetch(`${follower.url}/members`, {
        method: "POST",
        headers: cluster.headers(),
        body: JSON.stringify({ url: "http://127.0.0.1:2" }),
      });
      assert.equal(hinted.status, 421, "a follower points at the leader");
      assert.equal((await hinted.json()).leaderId, leader.id);

      // The leader removes itself: it hands over first, the next leader commits the removal.
      const without = await change(cluster, "DELETE", `/members/${leader.id}`);
      assert.ok(!without.members.some((m) => m.id === leader.id), "the old leader is out");
      assert.equal(voters(without).length, 4);
      await cluster.kill(leader.id);

      drawing = false;
      await writer;
      const last = Math.max(...acked.values());
      await cluster.waitForApplied(last, 30_000);
      const logs = new Map<string, LogEntry[]>();
      for (const r of cluster.replicas) {
        if (r.proc.running) logs.set(r.id, await cluster.entries(r.id));
      }
      const reference = logs.get((await cluster.waitForLeader(20_000)).id)!;
      for (const [id, log] of logs) {
        const n = Math.min(log.length, reference.length);
        assert.ok(n >= last, `${id} serves every acked index`);
        assert.deepEqual(log.slice(0, last), reference.slice(0, last), `${id} has the same log`);
      }
      const strokes = reference.flatMap((e) => "stroke" in e ? [[e.stroke.id, e.index]] : []);
      const byId = new Map<string, number[]>();
      for (const [id, index] of strokes) {
        byId.set(id as string, [...byId.get(id as string) ?? [], index as number]);
      }
      for (const [id, index] of acked) {
        assert.deepEqual(byId.get(id), [index], `${id} committed once, at its acked index`);
      }
      const members = await change(cluster, "POST", "/members", {}).catch((e) => String(e));
      assert.match(String(members), /400/, "a body without url is a 400");
      const configs = reference.filter((e) => "config" in e).length;
      assert.ok(
        configs >= 11,
        `${configs} configuration entries (4 adds, 4 promotions, 3 removals)`,
      );
    } finally {
      drawing = false;
      await writer.catch(() => {});
      await cluster.stop();
      if (!Deno.env.get("KEEP")) await Deno.remove(dir, { recursive: true }).catch(() => {});
      else console.log(`kept ${dir}`);
    }
  },
});

async function waitForStatus(cluster: LocalCluster, id: string) {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const st = await cluster.status(id);
    if (st) return st;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${id} did not start`);
}

async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
