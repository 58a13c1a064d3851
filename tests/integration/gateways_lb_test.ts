/**
 * Two gateway processes behind a real HAProxy in front of three replica processes: clients
 * draw through HAProxy, one gateway is SIGKILLed mid-drawing, its clients reconnect through
 * HAProxy to the other with `since`, and nothing is lost or duplicated anywhere (the scenario
 * of `deno task gateways:demo`, tests/testing/gateways_scenario.ts). Ignored, and reported as
 * ignored, where HAProxy is not installed.
 */
import assert from "node:assert/strict";
import { haproxyPath } from "../testing/haproxy.ts";
import { runGatewaysScenario } from "../testing/gateways_scenario.ts";

Deno.test({
  name: "two gateways behind haproxy: one killed mid-drawing, its clients resume on the other, " +
    "nothing lost or repeated" + (haproxyPath() ? "" : " (ignored: haproxy is not installed)"),
  ignore: haproxyPath() === null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const report = await runGatewaysScenario({
      gateways: 2,
      clients: 4,
      strokesPerClient: 80,
      inFlight: 3,
      log: (line) => console.log(line),
    });
    assert.deepEqual(report.problems, []);
    assert.equal(report.acked, 320);
    assert.equal(report.committedOnBoard, 320);
    assert.ok(report.clientsOnKilled > 0 && report.reconnects >= report.clientsOnKilled);
  },
});
