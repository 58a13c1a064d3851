/** `deno task members` against fake replicas: finding the leader, the table, each refusal's line. */
import assert from "node:assert/strict";
import { Hono } from "hono";
import type { Member, StatusResponse } from "../protocol/mod.ts";
import { MembersError, parseArgs, runMembers } from "./members.ts";

const TOKEN = "t0ken";

/**
 * Two fake replicas: `stale` still claims to lead (term 4) but answers changes with 421 naming
 * `leader` (term 5).
 */
function fakeCluster() {
  const members: Member[] = [
    { id: "replica1", url: "http://replica1.invalid:9001", voter: true },
    { id: "replica2", url: "http://replica2.invalid:9001", voter: true },
  ];
  let configIndex = 7;
  let noLeader = false;
  const calls: string[] = [];
  const servers: Deno.HttpServer<Deno.NetAddr>[] = [];
  const status = (id: string, state: StatusResponse["state"], term: number): StatusResponse => ({
    replicaId: id,
    state: noLeader ? "candidate" : state,
    term,
    commitIndex: 9,
    logLength: 9,
    leaderId: noLeader ? null : "replica2",
  });
  const guarded = (app: Hono) =>
    app.use("/members/*", async (c, next) => {
      if (c.req.header("authorization") !== `Bearer ${TOKEN}`) {
        return c.json({ error: "unauthorized" }, 401);
      }
      await next();
    }).use("/members", async (c, next) => {
      if (c.req.header("authorization") !== `Bearer ${TOKEN}`) {
        return c.json({ error: "unauthorized" }, 401);
      }
      await next();
    });

  const stale = guarded(new Hono());
  stale.get("/status", (c) => c.json(status("replica1", "leader", 4)));
  stale.get("/members", (c) => c.json({ members, configIndex: configIndex - 1 }));
  const notLeader = () =>
    Response.json(
      noLeader
        ? { error: "no leader" }
        : { error: "not leader", leaderId: "replica2", leaderUrl: members[1].url },
      { status: noLeader ? 503 : 421 },
    );
  stale.post("/members", async (c) => (await c.req.text(), calls.push("stale POST"), notLeader()));
  stale.delete("/members/:id", () => (calls.push("stale DELETE"), notLeader()));

  const leader = guarded(new Hono());
  leader.get("/status", (c) => c.json(status("replica2", "leader", 5)));
  leader.get("/members", (c) => c.json({ members, configIndex }));
  leader.post("/members", async (c) => {
    const { url, id } = await c.req.json();
    calls.push(`POST ${url} ${id ?? ""}`.trim());
    if (noLeader) return c.json({ error: "no leader" }, 503);
    if (url === "http://busy:9001") return c.json({ error: "a change is in progress" }, 409);
    if (url === "http://down:9001") return c.json({ error: "fetch failed" }, 502);
    if (url === "http://slow:9001") return c.json({ error: "still a learner" }, 504);
    members.push({ id: id ?? "replica3", url, voter: true });
    configIndex += 2;
    return c.json({ members, configIndex });
  });
  leader.delete("/members/:id", (c) => {
    const id = c.req.param("id");
    calls.push(`DELETE ${id}`);
    const i = members.findIndex((m) => m.id === id);
    if (i < 0) return c.json({ error: `no member ${id}` }, 404);
    members.splice(i, 1);
    configIndex++;
    return c.json({ members, configIndex });
  });

  for (const app of [stale, leader]) {
    servers.push(Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch));
  }
  const urls = servers.map((s) => `http://127.0.0.1:${s.addr.port}`);
  members[0].url = urls[0];
  members[1].url = urls[1];
  return {
    urls,
    calls,
    members,
    set noLeader(v: boolean) {
      noLeader = v;
    },
    close: () => Promise.all(servers.map((s) => s.shutdown())),
  };
}

async function run(args: string[], urls: string[], token: string | null = TOKEN) {
  const lines: string[] = [];
  await runMembers(args, { urls, token, print: (l) => lines.push(l) });
  return lines;
}

Deno.test("members: list, add through a 421 hint, remove, and a clear line for each refusal", async (t) => {
  const fake = fakeCluster();
  try {
    await t.step("the list marks the leader and says voter or learner", async () => {
      fake.members.push({ id: "replica9", url: "http://replica9.invalid:9001", voter: false });
      const lines = await run([], fake.urls);
      fake.members.pop();
      assert.match(lines[0], /^ID\s+URL\s+ROLE\s+STATE$/);
      assert.match(lines[1], /^replica1\s+http:\/\/127\.0\.0\.1:\d+\s+voter\s+leader$/);
      assert.match(lines[2], /^replica2\s+http:\/\/127\.0\.0\.1:\d+\s+voter\s+leader \*$/);
      assert.match(lines[3], /^replica9\s+\S+\s+learner\s+unreachable$/);
      assert.match(lines[4], /^configIndex 7 /, "the leader's view, not the stale one's");
    });

    await t.step("add follows the stale leader's 421 to the one it names", async () => {
      fake.calls.length = 0;
      const lines = await run(["add", "http://new:9001/", "--id", "replica3"], [fake.urls[0]]);
      assert.deepEqual(fake.calls, ["stale POST", "POST http://new:9001 replica3"]);
      assert.match(lines[0], /^added http:\/\/new:9001 as a voter in [\d.]+ s \(configIndex 9\)$/);
      assert.ok(lines.some((l) => /^replica3\s+http:\/\/new:9001\s+voter/.test(l)));
    });

    await t.step("remove goes to the leader", async () => {
      fake.calls.length = 0;
      const lines = await run(["remove", "replica3"], fake.urls);
      assert.deepEqual(fake.calls, ["DELETE replica3"]);
      assert.match(lines[0], /^removed replica3 in [\d.]+ s \(configIndex 10\)$/);
      assert.ok(!lines.some((l) => l.startsWith("replica3")));
    });

    const refusals: [string[], RegExp][] = [
      [
        ["add", "http://busy:9001"],
        /refused \(409: a change in progress, or already a member\): a change is in progress/,
      ],
      [["add", "http://down:9001"], /cannot reach the new replica.*JOIN=1/],
      [["add", "http://slow:9001"], /did not become a voter in time/],
      [["remove", "replica8"], /no such member: no member replica8/],
    ];
    for (const [args, line] of refusals) {
      await t.step(`${args.join(" ")}: ${line.source}`, async () => {
        await assert.rejects(run(args, fake.urls), (e: Error) => {
          assert.ok(e instanceof MembersError);
          assert.match(e.message, line);
          return true;
        });
      });
    }

    await t.step("a wrong token says so", async () => {
      await assert.rejects(run(["add", "http://new2:9001"], fake.urls, "wrong"), /unauthorized/);
      await assert.rejects(run([], fake.urls, null), /unauthorized/);
    });

    await t.step("no leader anywhere: gives up at the deadline with the last reason", async () => {
      fake.noLeader = true;
      fake.calls.length = 0;
      await assert.rejects(
        run(["add", "http://new3:9001", "--timeout", "1500"], fake.urls),
        /gave up finding the leader: .*no leader/,
      );
      fake.noLeader = false;
      assert.ok(fake.calls.length >= 1 && fake.calls.every((c) => c === "stale POST"));
    });

    await t.step("nothing listening: unreachable, not a stack trace", async () => {
      const dead = [await closedPort()];
      await assert.rejects(run([], dead), /cannot list members: .*unreachable/);
      await assert.rejects(
        run(["remove", "replica1", "--timeout", "800"], dead),
        /gave up finding the leader: no replica claims to lead/,
      );
    });
  } finally {
    await fake.close();
  }
});

Deno.test("members: bad command lines are refused with the usage", () => {
  assert.deepEqual(parseArgs([]).command, { kind: "list" });
  assert.deepEqual(parseArgs(["add", "http://r4:9001", "--timeout", "5"]), {
    command: { kind: "add", url: "http://r4:9001", id: undefined },
    timeoutMs: 5,
  });
  for (
    const bad of [
      ["add"],
      ["add", "r4:9001x"],
      ["add", "ftp://r4"],
      ["remove"],
      ["remove", "bad id"],
      ["frob"],
      ["add", "http://r4:9001", "extra"],
      ["--timeout", "-1"],
      ["add", "http://r4:9001", "--id"],
    ]
  ) {
    assert.throws(() => parseArgs(bad), /usage|--timeout|--id/, bad.join(" "));
  }
});

/** A loopback URL nothing listens on (a port just given back). */
async function closedPort(): Promise<string> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const url = `http://127.0.0.1:${(l.addr as Deno.NetAddr).port}`;
  l.close();
  await Promise.resolve();
  return url;
}
