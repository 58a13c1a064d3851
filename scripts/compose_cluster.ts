/**
 * What the compose demos share: docker compose (the v2 plugin, else v1),
 * containers by service, replica status from the host or from inside a
 * container, a small client of the gateway's WebSocket, and a step report.
 */
import { GatewayClient } from "../gateway/client.ts";
import type { LogEntry, StatusResponse, Stroke } from "../protocol/mod.ts";
import { findLeader as leaderOf, ReplicaClient, type Reply } from "../replica/client.ts";

const ROOT = new URL("..", import.meta.url).pathname;
/** Compose project name (v1 cannot read `name:` from the file). */
export const PROJECT = "whiteboard";
/** The compose network (compose.yaml names it). */
export const NETWORK = "whiteboard";
/** Replica services and the ports they listen on inside their containers. */
export const CONTAINER_PORTS: Record<string, number> = {
  replica1: 9001,
  replica2: 9002,
  replica3: 9003,
  gateway: 8080,
};
/** Replica service names. */
export const REPLICAS = ["replica1", "replica2", "replica3"];
/**
 * Host ports the demos publish on unless the environment names others: away
 * from 9001-9003/8080/3000, where a `deno task start` cluster may be running.
 */
const DEMO_HOST_PORTS: Record<string, string> = {
  REPLICA1_HOST_PORT: "19001",
  REPLICA2_HOST_PORT: "19002",
  REPLICA3_HOST_PORT: "19003",
  GATEWAY_HOST_PORT: "18080",
  UI_HOST_PORT: "13000",
};
/** host:port each service is published on, read from docker (see `resolvePorts`). */
const published = new Map<string, string>();

const text = (b: Uint8Array) => new TextDecoder().decode(b).trim();
/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs a command; throws with its stderr when it fails; returns stdout. */
export async function sh(cmd: string, args: string[], env?: Record<string, string>) {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${text(out.stderr)}`);
  return text(out.stdout);
}

/** `docker compose` when the v2 plugin exists, else `docker-compose` (v1). */
export async function composeCommand(): Promise<string[]> {
  try {
    await sh("docker", ["compose", "version"]);
    return ["docker", "compose"];
  } catch {
    await sh("docker-compose", ["version"]);
    return ["docker-compose"];
  }
}

/** Compose variables for a demo cluster: the token and the demo host ports (env wins). */
export function demoEnv(token: string): Record<string, string> {
  const env: Record<string, string> = { CLUSTER_TOKEN: token };
  for (const [k, v] of Object.entries(DEMO_HOST_PORTS)) env[k] = Deno.env.get(k) || v;
  env.GATEWAY_URL = Deno.env.get("GATEWAY_URL") || `ws://localhost:${env.GATEWAY_HOST_PORT}/ws`;
  return env;
}

/** host:port a service is published on; throws before `resolvePorts` found it. */
export function hostAddr(service: string): string {
  const addr = published.get(service);
  if (!addr) throw new Error(`${service} has no published port`);
  return addr;
}

/** The gateway's host:port, or null when the project runs no gateway. */
export function gatewayAddr(): string | null {
  return published.get("gateway") ?? null;
}

/** The compose project of compose.yaml, with extra environment (CLUSTER_TOKEN...). */
export class Compose {
  private constructor(readonly cmd: string[], private readonly env: Record<string, string>) {}

  /** Finds the compose command. */
  static async create(env: Record<string, string>): Promise<Compose> {
    return new Compose(await composeCommand(), env);
  }

  /** Runs `compose -f compose.yaml -p whiteboard ARGS`. */
  run(...args: string[]): Promise<string> {
    const [cmd, ...pre] = this.cmd;
    return sh(cmd, [...pre, "-f", `${ROOT}compose.yaml`, "-p", PROJECT, ...args], this.env);
  }

  /** Container id of a service (running or not); throws when there is none. */
  async container(service: string): Promise<string> {
    const cid = (await sh("docker", [
      "ps",
      "-aq",
      "--filter",
      `label=com.docker.compose.project=${PROJECT}`,
      "--filter",
      `label=com.docker.compose.service=${service}`,
    ])).split("\n")[0];
    if (!cid) throw new Error(`no container for ${service}`);
    return cid;
  }

  /** Reads where docker published each running service (replicas, gateway). */
  async resolvePorts(): Promise<void> {
    const running = await this.runningServices();
    for (const [service, port] of Object.entries(CONTAINER_PORTS)) {
      if (!running.includes(service)) continue;
      const out = await sh("docker", ["port", await this.container(service), `${port}/tcp`]);
      const m = /^(?:0\.0\.0\.0|127\.0\.0\.1):(\d+)$/m.exec(out);
      if (!m) throw new Error(`cannot read the published port of ${service}: "${out}"`);
      published.set(service, `127.0.0.1:${m[1]}`);
    }
  }

  /**
   * The token the running cluster shares: compose.yaml's cluster-token service wrote it (from
   * CLUSTER_TOKEN, or generated) into the volume every replica mounts.
   */
  async sharedToken(): Promise<string> {
    const read = 'console.log(Deno.readTextFileSync("/run/cluster-token/token").trim())';
    return await sh("docker", ["exec", await this.container("replica1"), "deno", "eval", read]);
  }

  /** Services of the project with a running container. */
  async runningServices(): Promise<string[]> {
    const out = await sh("docker", [
      "ps",
      "--filter",
      `label=com.docker.compose.project=${PROJECT}`,
      "--format",
      '{{.Label "com.docker.compose.service"}}',
    ]);
    return out ? out.split("\n") : [];
  }
}

const clients = new Map<string, ReplicaClient>();

/** The replica client for `token` ("" for none). */
function replicaClient(token = ""): ReplicaClient {
  let c = clients.get(token);
  if (!c) clients.set(token, c = new ReplicaClient(token));
  return c;
}

/** Base URL of a replica through its published port. */
export const replicaUrl = (id: string): string => `http://${hostAddr(id)}`;

/** `GET /status` of a replica through its published port; null when it does not answer. */
export function status(id: string, timeoutMs = 500): Promise<StatusResponse | null> {
  return replicaClient().status(replicaUrl(id), { timeoutMs });
}

/** The leader among `ids` with the highest term, or null. */
export async function findLeader(ids = REPLICAS): Promise<StatusResponse | null> {
  return leaderOf(await Promise.all(ids.map((id) => status(id))));
}

/** One line for the report: `replica1=leader@t3/c47 replica2=down ...`. */
export async function clusterLine(): Promise<string> {
  const all = await Promise.all(REPLICAS.map((id) => status(id)));
  return REPLICAS.map((id, i) => {
    const s = all[i];
    return s ? `${id}=${s.state}@t${s.term}/c${s.commitIndex}` : `${id}=down`;
  }).join(" ");
}

/** Polls `probe` every `intervalMs` until it returns a value; throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | null | undefined | false>,
  intervalMs = 50,
): Promise<T> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (performance.now() > end) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await sleep(intervalMs);
  }
}

/** Every committed entry of a replica (paged `GET /entries`). */
export async function allEntries(id: string, token: string): Promise<LogEntry[]> {
  return (await replicaClient(token).allEntries(replicaUrl(id), { timeoutMs: 5000 })).entries;
}

/** Deep equality of JSON values, ignoring key order (a restored replica orders keys differently). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (typeof a !== "object" || a === null || typeof b !== "object" || b === null) return a === b;
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) =>
    k === kb[i] &&
    sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])
  );
}

/** Whether committed logs are equal, with entry counts and the first difference. */
export function compareLogsOf(logs: LogEntry[][]): { same: boolean; detail: string } {
  const counts = logs.map((l) => l.length).join("/") + " entries";
  const longest = Math.max(...logs.map((l) => l.length));
  for (let i = 0; i < longest; i++) {
    if (logs.some((l) => !sameJson(l[i], logs[0][i]))) {
      return {
        same: false,
        detail: `${counts}; first difference at #${i + 1}: ${
          logs.map((l) => JSON.stringify(l[i] ?? null)).join(" vs ")
        }`,
      };
    }
  }
  return { same: true, detail: counts };
}

/** `POST /propose` to a replica's published port. */
export function propose(
  id: string,
  strokes: Stroke[],
  token: string,
  timeoutMs = 5000,
): Promise<Reply<number[]>> {
  return replicaClient(token).propose(replicaUrl(id), strokes, { timeoutMs });
}

/** An HTTP request made inside a container with scripts/http_probe.ts (works while it is cut off). */
export async function probeInside(
  cid: string,
  url: string,
  opts: { body?: unknown; timeoutMs?: number; token?: string } = {},
): Promise<{ exit: number; body: unknown }> {
  const args = ["exec", cid, "deno", "run", "--allow-net=127.0.0.1", "scripts/http_probe.ts", url];
  args.push(opts.body === undefined ? "" : JSON.stringify(opts.body));
  args.push(String(opts.timeoutMs ?? 2000), opts.token ?? "");
  const out = await new Deno.Command("docker", { args, stdout: "piped", stderr: "piped" })
    .output();
  let body: unknown = text(out.stdout);
  try {
    body = JSON.parse(body as string);
  } catch {
    // not JSON: keep the text
  }
  return { exit: out.code, body };
}

/** A demo stroke; the id is unique per run. */
export function demoStroke(tag: string, i: number): Stroke {
  const colors = ["#e63946", "#457b9d", "#2a9d8f", "#f4a261", "#1d3557"];
  const x = 40 + (i % 30) * 25;
  const y = 40 + Math.floor(i / 30) * 25;
  return {
    id: `${tag}-${i}`,
    x0: x,
    y0: y,
    x1: x + 20,
    y1: y + 15,
    color: colors[i % colors.length],
    width: 3,
  };
}

/** Rejects after `ms` unless `p` settles first. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** A client of the gateway's WebSocket on `board`, once it said hello. */
export async function connectGateway(board: string, timeoutMs = 5000): Promise<GatewayClient> {
  const client = await GatewayClient.connect(`ws://${hostAddr("gateway")}/ws`, { board });
  await client.hello(timeoutMs);
  return client;
}

/** Prints timed steps and checks; remembers failed checks for the exit code. */
export class Report {
  readonly failures: string[] = [];
  private readonly t0 = performance.now();

  /** Milliseconds since the report started. */
  now(): number {
    return performance.now() - this.t0;
  }

  /** One timed line. */
  step = (line: string): void => {
    console.log(`[${(this.now() / 1000).toFixed(1).padStart(6)} s] ${line}`);
  };

  /** A checked expectation: "ok" or "FAIL" with the detail. */
  check(ok: boolean, what: string): boolean {
    this.step(`${ok ? "ok  " : "FAIL"} ${what}`);
    if (!ok) this.failures.push(what);
    return ok;
  }

  /** Final lines; returns the exit code. */
  finish(title: string, facts: [string, string][]): number {
    console.log(`\n=== ${title} ===`);
    const width = Math.max(...facts.map(([k]) => k.length));
    for (const [k, v] of facts) console.log(`  ${k.padEnd(width)}  ${v}`);
    if (this.failures.length === 0) console.log("  result: all expectations held");
    else {console.log(
        `  result: ${this.failures.length} FAILED:\n    - ${this.failures.join("\n    - ")}`,
      );}
    return this.failures.length === 0 ? 0 : 1;
  }
}
