/**
 * Board operations, presence and view-only sessions over real processes: three replicas and
 * two gateways with a cluster token. Ops are acked and streamed like strokes, survive a leader
 * SIGKILL exactly once on every replica, replay after `since`; presence and view-only sessions
 * never reach the log.
 */
import assert from "node:assert/strict";
import { testStroke } from "../testing/local_cluster.ts";
import { startClusterWithGateways } from "../testing/cluster_with_gateways.ts";
import { GatewayClient } from "../../gateway/client.ts";
import { type BoardEntry, entryId, type LogEntry } from "../../protocol/mod.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const TOKEN = "board-ops-test-token";

/** The board's strokes and ops in a replica log, as `index:id`. */
function boardLog(entries: LogEntry[], board: string): string[] {
  return entries.flatMap((e) => {
    if ("noop" in e || "config" in e) return [];
    const b = "stroke" in e
      ? e.stroke.board
      : "erase" in e
      ? e.erase.board
      : "restore" in e
      ? e.restore.board
      : e.clear.board;
    return b === board ? [`${e.index}:${entryId(e as unknown as BoardEntry)}`] : [];
  });
}

/** Entries that are neither no-ops nor configurations: what clients put in the log. */
const edits = (entries: LogEntry[]) => entries.filter((e) => !("noop" in e) && !("config" in e));

Deno.test(
  { name: "board ops, presence and view links over a real cluster", ...opts },
  async (t) => {
    const stack = await startClusterWithGateways({ prefix: "wb-ops-", token: TOKEN, gateways: 2 });
    const { cluster } = stack;
    const [{ port: portA, ws: wsA }, { port: portB, ws: wsB }] = stack.gateways;
    const clients: GatewayClient[] = [];
    const connect = async (url: string, o: Parameters<typeof GatewayClient.connect>[1]) => {
      const c = await GatewayClient.connect(url, o);
      clients.push(c);
      await c.hello();
      return c;
    };
    const leaderEntries = async () => (await cluster.entries((await cluster.waitForLeader()).id));
    try {
      await stack.ready();
      const a = await connect(wsA, { board: "ops", name: "Ada" });
      const b = await connect(wsB, { board: "ops" });
      const acked = new Map<string, number>();

      await t.step(
        "ops are acked and streamed to clients of two gateways, in index order",
        async () => {
          const s = { ...testStroke("s-1"), group: "g-1" };
          acked.set(s.id, await a.draw(s));
          acked.set("erase-1", await a.erase("erase-1", ["g-1"]));
          acked.set("restore-1", await b.restore("restore-1", ["g-1"]));
          acked.set("clear-1", await a.clear("clear-1"));
          const ids = [...acked.keys()];
          for (const c of [a, b]) {
            await c.waitFor(
              "the ops",
              () => ids.every((id) => c.indexOf(id) !== undefined) || undefined,
            );
            assert.deepEqual(
              c.entries().map((e) => `${e.index}:${entryId(e)}`),
              [...acked].map(([id, i]) => `${i}:${id}`),
            );
          }
        },
      );

      await t.step("an op resent with the same id after a reconnect applies once", async () => {
        await a.close();
        const again = await connect(wsB, { board: "ops", since: acked.get("clear-1") });
        assert.equal(await again.erase("erase-1", ["g-1"]), acked.get("erase-1"));
        assert.equal(await again.clear("clear-1"), acked.get("clear-1"));
        const log = boardLog(await leaderEntries(), "ops");
        assert.equal(log.filter((l) => l.endsWith(":erase-1")).length, 1);
        assert.equal(log.filter((l) => l.endsWith(":clear-1")).length, 1);
      });

      await t.step("a replay with since carries the ops", async () => {
        const since = acked.get("s-1")!;
        const late = await connect(wsA, { board: "ops", since });
        const want = ["erase-1", "restore-1", "clear-1"];
        await late.waitFor("replayed ops", () => want.every((id) => late.indexOf(id)) || undefined);
        assert.equal(late.indexOf("s-1"), undefined, "nothing at or before since");
        assert.deepEqual(late.entries().map(entryId), want);
      });

      await t.step(
        "ops survive a leader SIGKILL: every acked op once on every replica",
        async () => {
          const writer = await connect(wsA, { board: "kill" });
          const sent: Promise<[string, number]>[] = [];
          let stop = false;
          const drawing = (async () => {
            for (let i = 0; !stop; i++) {
              const id = `k-${i}`;
              const done = i % 2 === 0
                ? writer.draw({ ...testStroke(id, i), group: `kg-${i}` })
                : writer.erase(id, [`kg-${i - 1}`]);
              sent.push(done.then((index) => [id, index]));
              await done;
            }
          })();
          await new Promise((r) => setTimeout(r, 300));
          const leader = await cluster.waitForLeader();
          await cluster.kill(leader.id);
          await cluster.waitForLeader(10_000, [leader.id]);
          await new Promise((r) => setTimeout(r, 300));
          stop = true;
          await drawing;
          const results = await Promise.all(sent);
          assert.ok(results.length >= 4, `only ${results.length} items`);
          console.log(`  ${results.length} strokes and erases acked across the leader kill`);
          await cluster.restart(leader.id);
          const commit = (await cluster.status((await cluster.waitForLeader()).id))!.commitIndex;
          await cluster.waitForApplied(commit, 20_000);
          const expected = results.map(([id, index]) => `${index}:${id}`).sort();
          for (const r of cluster.replicas) {
            const log = boardLog(await cluster.entries(r.id), "kill").sort();
            assert.deepEqual(log, expected, `${r.id}: each acked stroke and op once, at its ack`);
          }
          // Each undo committed after the stroke it undoes.
          const at = new Map(results);
          for (let i = 1; at.has(`k-${i}`); i += 2) {
            assert.ok(
              at.get(`k-${i}`)! > at.get(`k-${i - 1}`)!,
            );
          }
        },
      );

      await t.step(
        "presence reaches the other client on the gateway, never the log; left on close",
        async () => {
          const p = await connect(wsB, { board: "ops", name: "  Pat\u0007 " });
          const q = await connect(wsB, { board: "ops" });
          const before = edits(await leaderEntries()).length;
          for (let i = 0; i < 5; i++) p.sendCursor(100 + i, 200);
          const seen = await q.waitFor(
            "5 cursors",
            () => q.presences().length >= 5 ? q.presences() : undefined,
          );
          assert.equal(seen[4].name, "Pat");
          assert.equal(seen[4].x, 104);
          assert.equal(seen[4].clientId, (await p.hello()).clientId);
          assert.equal(edits(await leaderEntries()).length, before, "no cursor in the log");
          const pid = (await p.hello()).clientId;
          await p.close();
          assert.equal(await q.waitFor("left", () => q.lefts().find((id) => id === pid)), pid);
        },
      );

      await t.step("a cursor flood closes that socket only", async () => {
        const flooder = await connect(wsA, { board: "ops" });
        const calm = await connect(wsA, { board: "ops" });
        for (let i = 0; i < 3000; i++) flooder.sendCursor(i % 500, 1);
        const closed = await flooder.closed;
        assert.ok(flooder.closedByServer, `closed by the gateway (${closed.code})`);
        assert.equal(calm.ws.readyState, WebSocket.OPEN);
        await calm.draw(testStroke("after-flood"));
      });

      await t.step("a view link from one gateway opens read-only on the other", async () => {
        const link = await fetch(`http://127.0.0.1:${portA}/boards/ops/view-link`);
        const { view } = await link.json();
        const viewer = await connect(wsB, { view, name: "Viewer" });
        const watcher = await connect(wsB, { board: "ops" });
        const hello = await viewer.hello();
        assert.equal(hello.readOnly, true);
        assert.equal(hello.board, view);
        await viewer.waitForStrokes(["s-1"]);
        const before = edits(await leaderEntries()).length;
        viewer.sendStroke(testStroke("from-viewer"));
        viewer.sendErase("viewer-erase", ["g-1"]);
        viewer.sendClear("viewer-clear");
        await viewer.waitFor("3 refusals", () => viewer.errors().length >= 3 || undefined);
        assert.deepEqual(viewer.errors().map((e) => [e.id, e.code]), [
          ["from-viewer", "read_only"],
          ["viewer-erase", "read_only"],
          ["viewer-clear", "read_only"],
        ]);
        viewer.sendCursor(7, 8);
        const p = await watcher.waitFor(
          "viewer cursor",
          () => watcher.presences().find((m) => m.name === "Viewer"),
        );
        assert.equal(p.x, 7);
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(edits(await leaderEntries()).length, before, "nothing committed");
        const bad = await fetch(`http://127.0.0.1:${portB}/ws?view=${view.slice(0, -4)}AAAA`);
        assert.equal(bad.status, 400);
        assert.match((await bad.json()).error, /view token/);
      });

      await t.step(
        "GET /boards counts the replicas' entries and this gateway's clients",
        async () => {
          const log = await leaderEntries();
          const count = (board: string) => boardLog(log, board).length;
          const res = await fetch(`http://127.0.0.1:${portB}/boards`);
          const { boards } = await res.json();
          const ops = boards.find((x: { name: string }) => x.name === "ops");
          const onB = clients.filter((c) =>
            c.ws.url.includes(`:${portB}/`) && c.ws.readyState === WebSocket.OPEN
          );
          assert.deepEqual(ops, { name: "ops", entries: count("ops"), clients: onB.length });
          assert.equal(boards[0].name, "ops", "the board in use comes first");
          const kill = boards.find((x: { name: string }) => x.name === "kill");
          assert.deepEqual(kill, { name: "kill", entries: count("kill"), clients: 0 });
        },
      );

      await t.step("bad proposals to a replica are 400 and change nothing", async () => {
        const leader = await cluster.waitForLeader();
        await cluster.waitSettled(); // no configuration change of a late start still to come
        const before = (await cluster.status(leader.id))!.logLength;
        for (
          const body of [
            { items: [{ erase: { id: "x", targets: [] } }] },
            { items: [{ erase: { id: "x", targets: Array(1001).fill("t") } }] },
            { items: [{ clear: { id: "x" }, stroke: testStroke("y") }] },
            { items: [{ noop: true }] },
            { items: [{ restore: { id: "x", targets: ["ok"], board: "bad board" } }] },
          ]
        ) {
          const res = await fetch(`${leader.url}/propose`, {
            method: "POST",
            headers: { ...cluster.headers(), "content-type": "application/json" },
            body: JSON.stringify(body),
          });
          assert.equal(res.status, 400, JSON.stringify(body).slice(0, 60));
          assert.equal(typeof (await res.json()).error, "string");
        }
        const bad = await fetch(`${leader.url}/boards?limit=x`, { headers: cluster.headers() });
        assert.equal(bad.status, 400);
        await bad.body?.cancel();
        assert.equal((await cluster.status(leader.id))!.logLength, before);
      });

      for (const [i, c] of clients.entries()) assert.deepEqual(c.violations, [], `client ${i}`);
    } finally {
      for (const c of clients) await c.close().catch(() => {});
      await stack.stop();
    }
  },
);
