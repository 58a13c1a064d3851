/**
 * Runs real replica processes on 127.0.0.1 for tests, benchmarks and
 * scripts: start, SIGKILL, SIGTERM, restart (optionally with a wiped disk),
 * and a few JSON helpers over the replica API.
 */
import type { EntriesResponse, LogEntry, StatusResponse, Stroke } from "../protocol/mod.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const ENV_KEYS =
  "REPLICA_ID,PORT,PEERS,DATA_DIR,ELECTION_TIMEOUT_MIN,ELECTION_TIMEOUT_MAX,HEARTBEAT_INTERVAL,CLUSTER_TOKEN,TICK_MS,LOG_LEVEL,ADVERTISE_URL";

/** Options of a local cluster. */
export interface ClusterOptions {
  size?: number;
  /** Folder for data dirs and logs (created). */
  dir: string;
  token?: string;
  /** Ports to use; default: free ports picked now. */
  ports?: number[];
  /** Extra environment for every replica. */
  env?: Record<string, string>;
  /** Where replica stdout/stderr lines go (default: a log file per replica in `dir`). */
  onLine?: (id: string, line: string) => void;
}

/** One replica process. */
export interface ReplicaProc {
  id: string;
  port: number;
  url: string;
  dataDir: string;
  child: Deno.ChildProcess | null;
  exited: Promise<Deno.CommandStatus> | null;
}

/** Picks `n` free TCP ports on 127.0.0.1. */
export function freePorts(n: number): number[] {
  const listeners = Array.from(
    { length: n },
    () => Deno.listen({ hostname: "127.0.0.1", port: 0 }),
  );
  const ports = listeners.map((l) => (l.addr as Deno.NetAddr).port);
  for (const l of listeners) l.close();
  return ports;
}

/** A set of replica processes on this machine. */
export class LocalCluster {
  readonly replicas: ReplicaProc[];
  private readonly logs = new Map<string, Deno.FsFile>();

  constructor(private readonly opts: ClusterOptions) {
    const size = opts.size ?? 3;
    const ports = opts.ports ?? freePorts(size);
    this.replicas = ports.slice(0, size).map((port, i) => ({
      id: `replica${i + 1}`,
      port,
      url: `http://127.0.0.1:${port}`,
      dataDir: `${opts.dir}/replica${i + 1}`,
      child: null,
      exited: null,
    }));
  }

  /** Starts every replica. */
  async start(): Promise<this> {
    await Deno.mkdir(this.opts.dir, { recursive: true });
    for (const r of this.replicas) this.spawn(r);
    return this;
  }

  /** Base URLs of all replicas. */
  urls(): string[] {
    return this.replicas.map((r) => r.url);
  }

  replica(id: string): ReplicaProc {
    const r = this.replicas.find((x) => x.id === id);
    if (!r) throw new Error(`no replica ${id}`);
    return r;
  }

  /** Sends a signal and waits for the process to exit. */
  async kill(id: string, signal: Deno.Signal = "SIGKILL"): Promise<void> {
    const r = this.replica(id);
    if (!r.child) return;
    try {
      r.child.kill(signal);
    } catch { /* already gone */ }
    await r.exited;
    r.child = null;
  }

  /** Starts a stopped replica again; `wipe` deletes its data dir first (disk loss). */
  async restart(id: string, { wipe = false } = {}): Promise<void> {
    const r = this.replica(id);
    if (r.child) await this.kill(id);
    if (wipe) await Deno.remove(r.dataDir, { recursive: true }).catch(() => {});
    this.spawn(r);
  }

  /** Stops everything (SIGKILL) and closes log files. */
  async stop(): Promise<void> {
    await Promise.all(this.replicas.map((r) => this.kill(r.id)));
    for (const f of this.logs.values()) f.close();
    this.logs.clear();
  }

  /** `/status` of one replica, or null when unreachable. */
  async status(id: string): Promise<StatusResponse | null> {
    try {
      const res = await fetch(`${this.replica(id).url}/status`, {
        signal: AbortSignal.timeout(1000),
      });
      return res.ok ? await res.json() : (await res.body?.cancel(), null);
    } catch {
      return null;
    }
  }

  /** Waits until exactly one live replica leads and the others agree; returns it. */
  async waitForLeader(timeoutMs = 10_000, except: string[] = []): Promise<ReplicaProc> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const live = this.replicas.filter((r) => r.child && !except.includes(r.id));
      const sts = (await Promise.all(live.map((r) => this.status(r.id)))).filter((s) => s !== null);
      const leaders = sts.filter((s) => s!.state === "leader");
      if (leaders.length === 1 && sts.length > this.replicas.length / 2) {
        const l = leaders[0]!;
        if (sts.every((s) => s!.term === l.term)) return this.replica(l.replicaId);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`no leader within ${timeoutMs} ms`);
  }

  /** POSTs strokes to the leader (found and re-found as needed) until they commit. */
  async propose(strokes: Stroke[], timeoutMs = 15_000): Promise<number[]> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const leader = await this.waitForLeader(Math.max(1, deadline - Date.now())).catch(() => null);
      if (!leader) break;
      try {
        const res = await fetch(`${leader.url}/propose`, {
          method: "POST",
          headers: this.headers(),
          body: JSON.stringify({ strokes }),
          signal: AbortSignal.timeout(5000),
        });
        if (res.ok) {
          const body = await res.json();
          return body.results.map((r: { index: number }) => r.index);
        }
        await res.body?.cancel();
      } catch { /* leader died: find the next one */ }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error("proposal did not commit in time");
  }

  /** Every committed entry a replica serves, paging through `/entries`. */
  async entries(id: string): Promise<LogEntry[]> {
    const out: LogEntry[] = [];
    for (;;) {
      const res = await fetch(
        `${this.replica(id).url}/entries?from=${out.length + 1}&limit=10000`,
        {
          headers: this.headers(),
        },
      );
      const body: EntriesResponse = await res.json();
      out.push(...body.entries);
      if (body.entries.length < 10000) return out;
    }
  }

  /** Authorization header when the cluster has a token. */
  headers(): Record<string, string> {
    const h: Record<string, string> = { "content-type": "application/json" };
    if (this.opts.token) h.authorization = `Bearer ${this.opts.token}`;
    return h;
  }

  private spawn(r: ReplicaProc): void {
    const peers = this.replicas.filter((p) => p !== r).map((p) => `${p.id}=${p.url}`).join(",");
    const env: Record<string, string> = {
      REPLICA_ID: r.id,
      PORT: String(r.port),
      PEERS: peers,
      DATA_DIR: r.dataDir,
      ADVERTISE_URL: r.url,
      ...(this.opts.token ? { CLUSTER_TOKEN: this.opts.token } : {}),
      ...this.opts.env,
    };
    const child = new Deno.Command("deno", {
      args: [
        "run",
        "--allow-net=127.0.0.1,0.0.0.0,localhost",
        `--allow-read=${this.opts.dir}`,
        `--allow-write=${this.opts.dir}`,
        `--allow-env=${ENV_KEYS}`,
        "replica/main.ts",
      ],
      cwd: ROOT,
      env,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    r.child = child;
    r.exited = child.status;
    this.pipe(r.id, child.stdout);
    this.pipe(r.id, child.stderr);
  }

  private async pipe(id: string, stream: ReadableStream<Uint8Array>): Promise<void> {
    const onLine = this.opts.onLine;
    let file = this.logs.get(id);
    if (!onLine && !file) {
      file = await Deno.open(`${this.opts.dir}/${id}.log`, { create: true, append: true });
      this.logs.set(id, file);
    }
    let rest = "";
    const enc = new TextEncoder();
    for await (
      const chunk of (stream as ReadableStream<BufferSource>).pipeThrough(new TextDecoderStream())
    ) {
      const lines = (rest + chunk).split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        if (onLine) onLine(id, line);
        else await file!.write(enc.encode(line + "\n")).catch(() => {});
      }
    }
  }
}

/** A valid stroke for tests and load. */
export function testStroke(id: string, n = 0): Stroke {
  return {
    id,
    x0: n % 800,
    y0: (n * 7) % 600,
    x1: (n % 800) + 5,
    y1: ((n * 7) % 600) + 5,
    color: "#e63946",
    width: 3,
  };
}

/** Starts a real gateway process in front of `replicaUrls` on `port`. */
export function startGateway(
  port: number,
  replicaUrls: string[],
  token?: string,
): Deno.ChildProcess {
  return new Deno.Command("deno", {
    args: [
      "run",
      "--allow-net=0.0.0.0,127.0.0.1,localhost",
      "--allow-env=GATEWAY_PORT,REPLICA_URLS,CLUSTER_TOKEN,LOG_LEVEL",
      "gateway/main.ts",
    ],
    cwd: ROOT,
    env: {
      GATEWAY_PORT: String(port),
      REPLICA_URLS: replicaUrls.join(","),
      ...(token ? { CLUSTER_TOKEN: token } : {}),
    },
    stdout: "null",
    stderr: "null",
  }).spawn();
}

/** Waits until an HTTP endpoint answers 200. */
export async function waitForHttp(url: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await fetch(url).then(async (r) => (await r.body?.cancel(), r.ok), () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}
