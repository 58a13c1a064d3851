/**
 * The seed's "add a 4th replica without downtime", for `deno task logs` (logs/membership-demo.log):
 * three replicas and a gateway process, three clients drawing through it, then replica4 starts
 * with JOIN=1 and is added (`POST /members`, through `deno task members`' code), replica5 the
 * same, and one of the original three is removed and stopped. The gateway is never restarted.
 * Reports the longest wait between two acks each client saw in each phase, the time from the
 * POST to a voter, and checks every acked stroke is committed once and replayed once, in order.
 */
import { GatewayClient, makeStroke } from "../gateway/client.ts";
import { freePorts, type LocalCluster, waitForHttp } from "../tests/testing/local_cluster.ts";
import { Proc } from "../tests/testing/supervisor.ts";
import { runMembers } from "./members.ts";

type Note = (s: string) => void;

/** One drawing client: a stroke at a time, each sent once its predecessor is acked. */
class Drawer {
  readonly acks: { atMs: number; id: string; index: number }[] = [];
  #stop = false;
  #done: Promise<void>;

  constructor(readonly client: GatewayClient, readonly name: string) {
    this.#done = this.#run();
  }

  async #run(): Promise<void> {
    for (let n = 0; !this.#stop; n++) {
      const s = makeStroke(`${this.name}-${n}`);
      const index = await this.client.draw(s);
      this.acks.push({ atMs: performance.now(), id: s.id, index });
      await new Promise((r) => setTimeout(r, 10)); // ~ a pen moving, not a flood
    }
  }

  stop(): Promise<void> {
    this.#stop = true;
    return this.#done;
  }

  /** Longest time between two acks whose second falls in [fromMs, toMs). */
  maxGapMs(fromMs: number, toMs: number): number {
    let worst = 0;
    for (let i = 1; i < this.acks.length; i++) {
      const t = this.acks[i].atMs;
      if (t >= fromMs && t < toMs) worst = Math.max(worst, t - this.acks[i - 1].atMs);
    }
    return worst;
  }
}

/** Runs the scenario on a started three-replica cluster; `line` takes the gateway's output. */
export async function membershipDemo(
  c: LocalCluster,
  note: Note,
  line: (s: string) => void,
): Promise<void> {
  const [port] = freePorts(1);
  const seeds = c.urls();
  const gateway = new Proc({
    name: "gateway",
    task: "gateway",
    env: { GATEWAY_PORT: String(port), REPLICA_URLS: seeds.join(",") },
    onLine: line,
  });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const cli = async (...args: string[]) => {
    await runMembers(args, {
      urls: seeds,
      token: null,
      print: (l) => note(`deno task members ${args.join(" ")}`.trim() + ` | ${l}`),
    });
  };
  gateway.start();
  const drawers: Drawer[] = [];
  try {
    const leader = await c.waitForLeader(20_000);
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, 20_000);
    note(`${leader.id} leads; a gateway (REPLICA_URLS = the three) and 3 clients start drawing`);
    for (const name of ["alice", "bob", "carol"]) {
      const ws = await GatewayClient.connect(`ws://127.0.0.1:${port}/ws`, { board: "members" });
      drawers.push(new Drawer(ws, name));
    }
    const phases: [string, number][] = [["3 replicas, drawing", performance.now()]];
    await sleep(2000);

    const addTimes: string[] = [];
    for (const id of ["replica4", "replica5"]) {
      phases.push([`${id} joins and is added`, performance.now()]);
      const joiner = c.join();
      if (joiner.id !== id) throw new Error(`expected ${id}, started ${joiner.id}`);
      note(`${id} starts with JOIN=1 at ${joiner.url}; it waits to be added`);
      for (;;) {
        const st = await c.status(id);
        if (st) {
          note(`${id} /status: state=${st.state} voter=${st.voter} commitIndex=${st.commitIndex}`);
          break;
        }
        await sleep(50);
      }
      let voterAtMs: number | null = null;
      const t0 = performance.now();
      const watch = (async () => {
        while (voterAtMs === null && performance.now() - t0 < 120_000) {
          if ((await c.status(id))?.voter === true) voterAtMs = performance.now();
          else await sleep(20);
        }
      })();
      note(`POST /members {url: ${joiner.url}} to the leader`);
      await cli("add", joiner.url);
      const answeredMs = performance.now() - t0;
      await watch;
      const voterMs = voterAtMs === null ? NaN : voterAtMs - t0;
      note(
        `${id}: POST answered after ${answeredMs.toFixed(0)} ms; its own /status said ` +
          `voter=true ${voterMs.toFixed(0)} ms after the POST`,
      );
      addTimes.push(`${id} ${answeredMs.toFixed(0)} ms (own status ${voterMs.toFixed(0)} ms)`);
      await sleep(1500);
    }

    const gone = "replica1";
    const wasLeader = (await c.waitForLeader(20_000)).id === gone;
    phases.push([`${gone} removed`, performance.now()]);
    note(
      `DELETE /members/${gone} (${wasLeader ? "the leader: it hands over first" : "a follower"})`,
    );
    await cli("remove", gone);
    await sleep(500);
    note(`${gone} is out of the configuration: SIGTERM`);
    await c.kill(gone, "SIGTERM");
    await sleep(2000);
    phases.push(["end", performance.now()]);
    await Promise.all(drawers.map((d) => d.stop()));
    await cli();

    const gw = await (await fetch(`http://127.0.0.1:${port}/status`)).json();
    note(
      `gateway /status replicas: ${
        gw.replicas.map((r: { replicaId: string; reachable: boolean }) =>
          `${r.replicaId}${r.reachable ? "" : "(down)"}`
        ).join(",")
      } leader=${gw.leaderId}`,
    );
    for (let p = 0; p < phases.length - 1; p++) {
      const [name, from] = phases[p];
      const to = phases[p + 1][1];
      const gaps = drawers.map((d) => `${d.name} ${d.maxGapMs(from, to).toFixed(0)}`);
      const acks = drawers.reduce(
        (n, d) => n + d.acks.filter((a) => a.atMs >= from && a.atMs < to).length,
        0,
      );
      note(
        `ack gaps, ${name} (${((to - from) / 1000).toFixed(1)} s, ${acks} acks): longest ${
          gaps.join(" / ")
        } ms`,
      );
    }
    note(`POST /members to voter: ${addTimes.join("; ")}`);
    await check(c, drawers, port, note);
  } finally {
    await Promise.all(drawers.map((d) => d.stop().catch(() => {})));
    await Promise.all(drawers.map((d) => d.client.close()));
    await gateway.stop();
  }
}

/** Every ack is committed once at its index, and a replay from 0 streams them once, in order. */
async function check(c: LocalCluster, drawers: Drawer[], port: number, note: Note) {
  const leader = await c.waitForLeader(20_000);
  const log = await c.entries(leader.id);
  const at = new Map<string, number[]>();
  for (const e of log) {
    if ("stroke" in e) at.set(e.stroke.id, [...(at.get(e.stroke.id) ?? []), e.index]);
  }
  const acked = drawers.flatMap((d) => d.acks);
  const wrong = acked.filter((a) => at.get(a.id)?.length !== 1 || at.get(a.id)![0] !== a.index);
  const configs = log.filter((e) => "config" in e).length;
  const late = await GatewayClient.connect(`ws://127.0.0.1:${port}/ws`, {
    board: "members",
    since: 0,
  });
  try {
    await late.waitForStrokes(acked.map((a) => a.id), 30_000);
    await new Promise((r) => setTimeout(r, 300));
    const replay = late.strokes().map((e) => e.index);
    const ordered = replay.every((v, i) => i === 0 || v > replay[i - 1]);
    const expected = [...acked].sort((a, b) => a.index - b.index).map((a) => a.index);
    const same = JSON.stringify(replay) === JSON.stringify(expected);
    note(
      `check: ${acked.length} acked strokes, ${wrong.length} not committed exactly once at their ` +
        `acked index; ${configs} configuration entries in the log; a replay from 0 streamed ` +
        `${replay.length} strokes, ${ordered && same ? "each once, in order" : "NOT as acked"}`,
    );
    if (wrong.length > 0 || !ordered || !same) throw new Error("the membership demo check failed");
  } finally {
    await late.close();
  }
}
