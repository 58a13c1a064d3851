/**
 * `deno task gateways:demo`: three replicas, three gateways and HAProxy in front (Debian's
 * `haproxy`); clients draw through HAProxy, one gateway is SIGKILLed mid-drawing, its clients
 * reconnect through HAProxy to another gateway with `since` and resend what was not acked.
 * Prints what it saw and whether every acked stroke is on every replica exactly once and in
 * every client's stream with no gap and no repeat; a copy goes to logs/gateways-demo.log.
 *
 *   deno task gateways:demo [--gateways 3] [--clients 8] [--strokes 150]
 */
import { runGatewaysScenario } from "../tests/testing/gateways_scenario.ts";
import { haproxyPath } from "../tests/testing/haproxy.ts";

const arg = (name: string, fallback: number) => {
  const i = Deno.args.indexOf(name);
  const v = i < 0 ? fallback : Number(Deno.args[i + 1]);
  if (!Number.isInteger(v) || v < 1) {
    console.error(`gateways:demo: ${name} must be a positive whole number`);
    Deno.exit(1);
  }
  return v;
};

if (!haproxyPath()) {
  console.error("gateways:demo: haproxy is not installed (apt-get install haproxy)");
  Deno.exit(1);
}
const lines: string[] = [];
const t0 = Date.now();
const log = (line: string) => {
  const stamped = `[${((Date.now() - t0) / 1000).toFixed(2).padStart(6)} s] ${line}`;
  lines.push(stamped);
  console.log(stamped);
};
log(`gateways demo, ${new Date().toISOString()}, haproxy at ${haproxyPath()}`);
const report = await runGatewaysScenario({
  gateways: arg("--gateways", 3),
  clients: arg("--clients", 8),
  strokesPerClient: arg("--strokes", 150),
  inFlight: 4,
  log,
});
log(
  `summary: ${report.acked} acked, ${report.committedOnBoard} on the board, ${report.killed} killed ` +
    `with ${report.clientsOnKilled} clients, ${report.reconnects} reconnections, ` +
    `longest gap ${Math.max(0, ...report.reconnectGapsMs)} ms, ${report.elapsedMs} ms in all`,
);
if (report.problems.length === 0) log("OK: nothing lost, nothing duplicated, no gap in any stream");
else for (const p of report.problems) log(`PROBLEM: ${p}`);
await Deno.mkdir("logs", { recursive: true });
await Deno.writeTextFile("logs/gateways-demo.log", lines.join("\n") + "\n");
Deno.exit(report.problems.length === 0 ? 0 : 1);
