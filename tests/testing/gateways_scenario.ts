/**
 * Several gateways behind HAProxy, one killed while clients draw: the scenario shared by
 * `deno task gateways:demo` (scripts/gateways_demo.ts) and its integration test. Three replica
 * processes, N gateway processes, HAProxy in front; clients connect through HAProxy and draw;
 * the gateway holding the most clients is SIGKILLed mid-drawing; its clients reconnect through
 * HAProxy (to another gateway) with `since` and resend what was not acked. Then every acked
 * stroke must be on every replica's `/entries` exactly once, at its acked index, and every
 * client's stream, across its connections, must be exactly the board's committed strokes.
 */
import type { CommittedStroke, Stroke } from "../../protocol/mod.ts";
import { makeStroke } from "../../gateway/client.ts";
import { freePorts, LocalCluster, startGateway, waitForHttp } from "./local_cluster.ts";
import { startHaproxy } from "./haproxy.ts";
import { ResumingClient } from "./resuming_client.ts";
import { eventually, type Proc } from "./supervisor.ts";

/** What to run. */
export interface ScenarioOptions {
  gateways: number;
  clients: number;
  strokesPerClient: number;
  /** Strokes each client keeps in flight. */
  inFlight: number;
  log: (line: string) => void;
}

/** What was seen; `problems` empty means every check held. */
export interface ScenarioReport {
  acked: number;
  committedOnBoard: number;
  reconnects: number;
  reconnectGapsMs: number[];
  killed: string;
  clientsOnKilled: number;
  elapsedMs: number;
  problems: string[];
}

const BOARD = "lb-demo";
const TIMEOUT_MS = 120_000;

/** Runs the scenario; everything it started is stopped before it returns. */
export async function runGatewaysScenario(o: ScenarioOptions): Promise<ScenarioReport> {
  const dir = await Deno.makeTempDir({ prefix: "gateways_" });
  const cluster = new LocalCluster({ dir });
  const ports = freePorts(o.gateways + 2);
  const [lbPort, statsPort] = ports.slice(o.gateways);
  const gateways: { name: string; port: number; proc: Proc }[] = [];
  let haproxy: Awaited<ReturnType<typeof startHaproxy>> | null = null;
  const clients: ResumingClient[] = [];
  const problems: string[] = [];
  const t0 = Date.now();
  try {
    await cluster.start();
    const leader = await cluster.waitForLeader(TIMEOUT_MS);
    o.log(`cluster: ${cluster.urls().join(", ")}; leader ${leader.id}`);
    for (let i = 0; i < o.gateways; i++) {
      const port = ports[i];
      gateways.push({ name: `gw${i + 1}`, port, proc: startGateway(port, cluster.urls()) });
    }
    await Promise.all(
      gateways.map((g) => waitForHttp(`http://127.0.0.1:${g.port}/healthz`, TIMEOUT_MS)),
    );
    o.log(`gateways: ${gateways.map((g) => `${g.name} on :${g.port}`).join(", ")}`);
    haproxy = await startHaproxy({
      dir,
      port: lbPort,
      statsPort,
      backends: gateways.map(({ name, port }) => ({ name, port })),
      onLine: (l) => o.log(`haproxy: ${l}`),
    });
    const lb = haproxy;
    await eventually(
      async () => {
        const states = await lb.serverStates();
        return gateways.every((g) => states.get(g.name) === "UP");
      },
      TIMEOUT_MS,
      "every gateway UP in haproxy",
    );
    o.log(`haproxy on :${lbPort} (stats http://127.0.0.1:${statsPort}/stats): all gateways UP`);

    const url = `ws://127.0.0.1:${lbPort}/ws`;
    for (let i = 0; i < o.clients; i++) clients.push(await ResumingClient.open(url, BOARD));
    const perGateway = await clientsPerGateway(gateways);
    o.log(`clients through haproxy: ${[...perGateway].map(([n, c]) => `${n}=${c}`).join(" ")}`);

    const total = o.clients * o.strokesPerClient;
    const sent: Stroke[][] = clients.map(() => []);
    let acked = 0;
    const drawing = clients.map((c, ci) =>
      Promise.all(Array.from({ length: o.inFlight }, async (_, w) => {
        for (let k = w; k < o.strokesPerClient; k += o.inFlight) {
          const s = makeStroke(`c${ci}`, { x0: k % 800, y0: ci * 40 + 20 });
          sent[ci].push(s);
          await c.draw(s, TIMEOUT_MS);
          acked++;
          await new Promise((r) => setTimeout(r, 5)); // a hand drawing, not a flood
        }
      }))
    );

    // Mid-drawing: the gateway with the most clients dies.
    await eventually(() => acked >= total / 3, TIMEOUT_MS, "a third of the strokes acked");
    const counts = await clientsPerGateway(gateways);
    const victim = gateways.reduce((
      a,
      b,
    ) => ((counts.get(b.name) ?? 0) > (counts.get(a.name) ?? 0) ? b : a));
    const clientsOnKilled = counts.get(victim.name) ?? 0;
    o.log(`${acked}/${total} acked: SIGKILL ${victim.name} (${clientsOnKilled} clients on it)`);
    await victim.proc.kill();
    const killedAt = Date.now();
    await eventually(
      async () => (await lb.serverStates()).get(victim.name)?.startsWith("DOWN"),
      TIMEOUT_MS,
      "haproxy marks it DOWN",
    )
      .then(() => o.log(`haproxy marked ${victim.name} DOWN after ${Date.now() - killedAt} ms`))
      .catch((e) => problems.push(String(e)));

    await Promise.all(drawing);
    o.log(`all ${acked} strokes acked after ${Date.now() - t0} ms`);
    const reconnects = clients.flatMap((c) => c.reconnects);
    const gaps = reconnects.map((r) => r.helloAt - r.closedAt).sort((a, b) => a - b);
    o.log(
      `reconnections through haproxy: ${reconnects.length}; no-hello gaps (ms): ${gaps.join(", ")}`,
    );
    const after = await clientsPerGateway(gateways);
    o.log(
      `clients now: ${[...after].map(([n, c]) => `${n}=${c}`).join(" ")}; strokes resent with ` +
        `their first id: ${clients.reduce((n, c) => n + c.resent, 0)}`,
    );
    if (reconnects.length < clientsOnKilled) {
      problems.push(
        `${clientsOnKilled} clients were on ${victim.name} but only ${reconnects.length} reconnected`,
      );
    }
    if (clientsOnKilled === 0) problems.push("the killed gateway had no client: nothing was shown");

    const committed = await checkReplicas(cluster, clients, sent.flat(), problems, o.log);
    await checkStreams(clients, committed, problems, o.log);
    return {
      acked,
      committedOnBoard: committed.length,
      reconnects: reconnects.length,
      reconnectGapsMs: gaps,
      killed: victim.name,
      clientsOnKilled,
      elapsedMs: Date.now() - t0,
      problems,
    };
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await haproxy?.stop();
    await Promise.all(gateways.map((g) => g.proc.kill()));
    await cluster.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** `/status` clients of each live gateway. */
async function clientsPerGateway(gateways: { name: string; port: number; proc: Proc }[]) {
  const counts = new Map<string, number>();
  for (const g of gateways) {
    if (!g.proc.running) continue;
    const st = await fetch(`http://127.0.0.1:${g.port}/status`).then((r) => r.json()).catch(() =>
      null
    );
    counts.set(g.name, st?.clients ?? 0);
  }
  return counts;
}

const key = (e: CommittedStroke) => `${e.index}:${e.stroke.id}`;

/** Every replica's board strokes: identical, each acked stroke once at its index, nothing else. */
async function checkReplicas(
  cluster: LocalCluster,
  clients: ResumingClient[],
  sent: Stroke[],
  problems: string[],
  log: (l: string) => void,
): Promise<CommittedStroke[]> {
  const acks = new Map<string, number>();
  for (const c of clients) for (const [id, index] of c.acks) acks.set(id, index);
  if (acks.size !== sent.length) problems.push(`${acks.size} acks for ${sent.length} strokes`);
  await cluster.waitForApplied(Math.max(0, ...acks.values()), TIMEOUT_MS);
  let reference: CommittedStroke[] | null = null;
  for (const r of cluster.replicas) {
    const board = (await cluster.entries(r.id))
      .filter((e): e is CommittedStroke & { term: number } =>
        "stroke" in e && e.stroke?.board === BOARD
      )
      .map((e) => ({ index: e.index, stroke: e.stroke }));
    const byId = new Map<string, number[]>();
    for (const e of board) byId.set(e.stroke.id, [...(byId.get(e.stroke.id) ?? []), e.index]);
    let bad = 0;
    for (const s of sent) {
      const at = byId.get(s.id) ?? [];
      if (at.length !== 1 || at[0] !== acks.get(s.id)) {
        if (bad++ < 5) {
          problems.push(`${r.id}: stroke ${s.id} at [${at}] but acked at ${acks.get(s.id)}`);
        }
      }
    }
    if (board.length !== sent.length) {
      problems.push(`${r.id}: ${board.length} board strokes, ${sent.length} sent`);
    }
    if (reference && board.map(key).join() !== reference.map(key).join()) {
      problems.push(`${r.id}: its board log differs from ${cluster.replicas[0].id}'s`);
    }
    reference ??= board;
    log(
      `${r.id}: ${board.length} strokes on the board, ${
        bad === 0 ? "each acked one exactly once at its acked index" : `${bad} wrong`
      }`,
    );
  }
  return reference ?? [];
}

/** Every client's stream across its connections: exactly the committed board strokes, in order. */
async function checkStreams(
  clients: ResumingClient[],
  committed: CommittedStroke[],
  problems: string[],
  log: (l: string) => void,
): Promise<void> {
  const last = committed.at(-1)?.index ?? 0;
  const want = committed.map(key).join();
  for (const [i, c] of clients.entries()) {
    await eventually(() => c.lastIndex >= last, TIMEOUT_MS, `client ${i} streamed up to ${last}`)
      .catch((e) => problems.push(String(e)));
    await new Promise((r) => setTimeout(r, 100)); // a repeat would arrive right behind
    const got = c.stream.filter((e): e is CommittedStroke => "stroke" in e);
    const increasing = got.every((e, k) => k === 0 || e.index > got[k - 1].index);
    if (!increasing) problems.push(`client ${i}: indexes not strictly increasing (a repeat)`);
    if (got.map(key).join() !== want) {
      const ids = new Set(got.map(key));
      const missing = committed.filter((e) => !ids.has(key(e))).length;
      const gone = committed.filter((e) => !ids.has(key(e))).map((e) => e.index);
      problems.push(
        `client ${i}: streamed ${got.length}, ${missing} committed missing ` +
          `(indexes ${gone.slice(0, 8).join(",")}…; resumed since ${
            c.reconnects.map((r) => r.since).join(",")
          })`,
      );
    }
    if (c.violations.length > 0) {
      problems.push(`client ${i}: ${c.violations.slice(0, 3).join("; ")}`);
    }
  }
  log(
    `${clients.length} client streams checked against the committed board (${committed.length} strokes)`,
  );
}
