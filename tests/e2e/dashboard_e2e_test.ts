/**
 * The dashboard in real Chromium against the real stack with controls on: three replica
 * processes, a gateway, the UI server with CONTROL_URL, and the supervisor's control endpoint
 * (scripts/control.ts, as `deno task start --controls` serves it). The page must show a leader
 * and its term; the operator unlocks the controls with the token and presses kill on the leader;
 * the page must then show another leader in a higher term, and the timeline must list it. The
 * killed process really is gone (the test asks the supervisor's objects, not the page). Then
 * "Add member" starts a fourth replica, which must show up as a voter.
 * Screenshot: /tmp/dashboard.png.
 */
import assert from "node:assert/strict";
import { controlHandler } from "../../scripts/control.ts";
import { GatewayClient, makeStroke } from "../../gateway/client.ts";
import { freePorts, LocalCluster, startGateway, waitForHttp } from "../testing/local_cluster.ts";
import { buildUi, launchChromium, startUiServer } from "../testing/ui_processes.ts";

const TIMEOUT_MS = 60_000;

Deno.test({
  name:
    "dashboard: shows leader and term; kill the leader from the page; a new leader and term appear",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "dashboard_e2e_" });
    const token = "test-control-token";
    const cluster = new LocalCluster({ dir });
    const [gwPort, controlPort] = freePorts(2);
    await Promise.all([cluster.start(), buildUi()]);
    const gateway = startGateway(gwPort, cluster.urls());
    const control = Deno.serve(
      { hostname: "127.0.0.1", port: controlPort, onListen: () => {} },
      controlHandler({ cluster, others: [gateway], token, members: true, log: () => {} }),
    );
    const ui = await startUiServer({
      GATEWAY_URL: `ws://127.0.0.1:${gwPort}/ws`,
      CONTROL_URL: `http://127.0.0.1:${controlPort}`,
    });
    const browser = await launchChromium();
    let drawing = true;
    let drawer: Promise<number> = Promise.resolve(0);
    try {
      await waitForHttp(`http://127.0.0.1:${gwPort}/status`, TIMEOUT_MS);
      await cluster.waitForLeader(TIMEOUT_MS);
      const page = await (await browser.newContext({ viewport: { width: 1200, height: 900 } }))
        .newPage();
      await page.goto(`${ui.url}/dashboard`);
      const text = (id: string) => page.locator(`[data-testid="${id}"]`).innerText();

      // A leader and a term, as the gateway's stream says.
      await page.waitForFunction(
        () => {
          const leader = document.querySelector('[data-testid="leader"]')?.textContent ?? "none";
          const term = Number(document.querySelector('[data-testid="term"]')?.textContent);
          return leader.startsWith("replica") && term > 0;
        },
        undefined,
        { timeout: TIMEOUT_MS },
      );
      // One client drawing on board "dash" the whole time: the charts and the board list move.
      const client = await GatewayClient.connect(`ws://127.0.0.1:${gwPort}/ws`, {
        board: "dash",
        record: false,
      });
      drawer = (async () => {
        let n = 0;
        while (drawing) {
          await client.draw(makeStroke("dash")).catch(() => {}); // retried by the gateway
          n++;
          await new Promise((r) => setTimeout(r, 20));
        }
        await client.close();
        return n;
      })();
      await page.waitForFunction(
        () => {
          const rate = Number(document.querySelector('[data-testid="rate"]')?.textContent);
          const p50 = document.querySelector('[data-testid="ack-p50"]')?.textContent ?? "–";
          const board = document.querySelector('[data-testid="board-dash"]')?.textContent ?? "";
          return rate > 0 && p50 !== "–" && /dash\s*\d+\s*1$/.test(board.trim());
        },
        undefined,
        { timeout: TIMEOUT_MS },
      );
      console.log(
        `charts live: ${await text("rate")} entries/s, ack p50 ${await text("ack-p50")} ms`,
      );
      const oldLeader = await text("leader");
      const oldTerm = Number(await text("term"));
      console.log(`dashboard shows ${oldLeader} leading term ${oldTerm}`);
      await page.locator(`[data-testid="replica-${oldLeader}"] [data-testid="role"]`)
        .filter({ hasText: "leader" }).waitFor({ timeout: TIMEOUT_MS });

      // Controls stay locked until the token is given; a wrong one is refused.
      const kill = page.locator(`[data-testid="kill-${oldLeader}"]`);
      assert.ok(await kill.isDisabled(), "no token, no kill");
      await page.fill("#control-token", "wrong");
      await page.click('[data-testid="unlock"]');
      await page.locator('[data-testid="control-message"]', { hasText: "wrong control token" })
        .waitFor({ timeout: TIMEOUT_MS });
      assert.ok(cluster.replica(oldLeader).proc.running, "a wrong token did nothing");
      await page.fill("#control-token", token);
      await page.click('[data-testid="unlock"]');

      await kill.click({ timeout: TIMEOUT_MS });
      await page.locator('[data-testid="control-message"]', { hasText: `kill ${oldLeader}: done` })
        .waitFor({ timeout: TIMEOUT_MS });
      assert.equal(cluster.replica(oldLeader).proc.running, false, "the leader process is gone");

      const seen = await page.waitForFunction(
        ({ oldLeader, oldTerm }) => {
          const leader = document.querySelector('[data-testid="leader"]')?.textContent ?? "";
          const term = Number(document.querySelector('[data-testid="term"]')?.textContent);
          const listed = document.querySelector(`[data-testid="term-${term}"]`);
          return leader.startsWith("replica") && leader !== oldLeader && term > oldTerm &&
            listed !== null && { leader, term };
        },
        { oldLeader, oldTerm },
        { timeout: TIMEOUT_MS },
      );
      const next = await seen.jsonValue() as { leader: string; term: number };
      console.log(`after kill: ${next.leader} leads term ${next.term}`);
      assert.match(
        await page.locator(`[data-testid="replica-${oldLeader}"] [data-testid="role"]`).innerText(),
        /down/,
      );
      // The page agrees with the cluster itself.
      const actual = await cluster.waitForLeader(TIMEOUT_MS, [oldLeader]);
      assert.equal(actual.id, next.leader);

      // Add a member from the page: a fourth replica joins, catches up and becomes a voter.
      await page.click('[data-testid="add-member"]');
      await page.locator('[data-testid="control-message"]', { hasText: "add member: done" })
        .waitFor({ timeout: 150_000 });
      const added = page.locator('[data-testid="replica-replica4"]');
      await added.locator('[data-testid="member"]', { hasText: "voter" }).waitFor({
        timeout: TIMEOUT_MS,
      });
      await added.locator('[data-testid="role"]', { hasText: "follower" }).waitFor({
        timeout: TIMEOUT_MS,
      });
      console.log("replica4 added from the dashboard, shown as a voter");
      await page.screenshot({ path: "/tmp/dashboard.png" });
      drawing = false;
      console.log(`${await drawer} strokes sent through the gateway meanwhile`);
    } finally {
      drawing = false;
      await drawer.catch(() => {});
      await browser.close().catch(() => {});
      await ui.stop();
      await control.shutdown();
      await gateway.kill();
      await cluster.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
