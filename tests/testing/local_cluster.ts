/**
 * Real replica processes on 127.0.0.1 for tests, benchmarks and scripts,
 * configured exactly as the contract says (plain URLs in PEERS, any port, a
 * data dir anywhere): start, SIGKILL, SIGTERM, restart (optionally with a
 * wiped disk), and a few helpers over the replica API.
 */
import type { LogEntry, StatusResponse, Stroke } from "../../protocol/mod.ts";
import { ReplicaClient } from "../../replica/client.ts";
import { eventually, freePorts, Proc } from "./supervisor.ts";
import { callLeader } from "./leader_call.ts";

export { eventually, freePorts, waitForHttp } from "./supervisor.ts";

/** Options of a local cluster. */
export interface ClusterOptions {
  size?: number;
  /** Folder for data dirs and logs (created). */
  dir: string;
  token?: string;
  /** `https` when the replicas serve TLS (TLS_CERT/TLS_KEY in `env`). */
  scheme?: "http" | "https";
  /** Ports to use; default: free ports picked now. */
  ports?: number[];
  /** Extra environment for every replica. */
  env?: Record<string, string>;
  /** Where replica output lines go (default: a log file per replica in `dir`). */
  onLine?: (id: string, line: string) => void;
}

/** One replica process. */
export interface ReplicaProc {
  id: string;
  port: number;
  url: string;
  dataDir: string;
  proc: Proc;
}

/** A set of replica processes on this machine. */
export class LocalCluster {
  readonly replicas: ReplicaProc[];
  /** The typed replica client, with the cluster's token. */
  readonly client: ReplicaClient;
  readonly #logs = new Map<string, Deno.FsFile>();

  constructor(private readonly opts: ClusterOptions) {
    this.client = new ReplicaClient(opts.token);
    const size = opts.size ?? 3;
    const ports = opts.ports ?? freePorts(size);
    const urls = ports.map((p) => `${opts.scheme ?? "http"}://127.0.0.1:${p}`);
    this.replicas = ports.slice(0, size).map((port, i) => {
      const id = `replica${i + 1}`;
      const dataDir = `${opts.dir}/${id}`;
      const env: Record<string, string> = {
        REPLICA_ID: id,
        PORT: String(port),
        PEERS: urls.filter((_, j) => j !== i).join(","),
        DATA_DIR: dataDir,
        ...(opts.token ? { CLUSTER_TOKEN: opts.token } : {}),
        ...opts.env,
      };
      const proc = new Proc({ name: id, task: "replica", env, onLine: (l) => this.#line(id, l) });
      return { id, port, url: urls[i], dataDir, proc };
    });
  }

  /**
   * Starts a replica with JOIN=1 that waits to be added (`POST /members`):
   * a new one on a free port, or `id` again on its port with an empty data
   * dir (a lost disk rejoins as a new member). PEERS names the others.
   */
  join(id?: string): ReplicaProc {
    const old = id === undefined ? undefined : this.replicas.find((r) => r.id === id);
    const name = id ?? `replica${this.replicas.length + 1}`;
    const port = old?.port ?? freePorts(1)[0];
    const url = old?.url ?? `${this.opts.scheme ?? "http"}://127.0.0.1:${port}`;
    const dataDir = `${this.opts.dir}/${name}`;
    const env: Record<string, string> = {
      REPLICA_ID: name,
      PORT: String(port),
      PEERS: this.urls().filter((u) => u !== url).join(","),
      DATA_DIR: dataDir,
      JOIN: "1",
      ...(this.opts.token ? { CLUSTER_TOKEN: this.opts.token } : {}),
      ...this.opts.env,
    };
    const proc = new Proc({ name, task: "replica", env, onLine: (l) => this.#line(name, l) });
    const r = { id: name, port, url, dataDir, proc };
    if (old) this.replicas[this.replicas.indexOf(old)] = r;
    else this.replicas.push(r);
    proc.start();
    return r;
  }

  /** Starts every replica. */
  async start(): Promise<this> {
    await Deno.mkdir(this.opts.dir, { recursive: true });
    for (const r of this.replicas) r.proc.start();
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

  /** SIGKILL (default) or SIGTERM, and waits for the process to exit. */
  async kill(id: string, signal: "SIGKILL" | "SIGTERM" = "SIGKILL"): Promise<void> {
    const { proc } = this.replica(id);
    await (signal === "SIGKILL" ? proc.kill() : proc.stop());
  }

  /** Starts a stopped replica again; `wipe` deletes its data dir first (disk loss). */
  async restart(id: string, { wipe = false } = {}): Promise<void> {
    const r = this.replica(id);
    await r.proc.kill();
    if (wipe) await Deno.remove(r.dataDir, { recursive: true }).catch(() => {});
    r.proc.start();
  }

  /** Stops everything (SIGKILL) and closes log files. */
  async stop(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.proc.kill()));
    for (const f of this.#logs.values()) f.close();
    this.#logs.clear();
  }

  /** `/status` of one replica, or null when unreachable. */
  status(id: string): Promise<StatusResponse | null> {
    return this.client.status(this.replica(id).url);
  }

  /**
   * Waits until every replica is a voter that is not recovering and all hold
   * the same, fully committed log. A replica that starts late on a loaded
   * machine may answer the first leader as an empty disk; the leader then
   * demotes and re-promotes it (two configuration entries, see
   * raft/recovery.ts), so a test comparing "before" and "after" starts here.
   */
  async waitSettled(timeoutMs = 20_000): Promise<void> {
    await eventually(
      async () => {
        const sts = await Promise.all(this.replicas.map((r) => this.status(r.id)));
        return sts.every((s) =>
          s !== null && s.voter !== false && !s.recovering && s.commitIndex === s.logLength &&
          s.logLength === sts[0]!.logLength && s.term === sts[0]!.term
        );
      },
      timeoutMs,
      "every replica a settled voter with the same committed log",
    );
  }

  /** Waits until exactly one live replica leads and a majority agrees on its term; returns it. */
  async waitForLeader(timeoutMs = 10_000, except: string[] = []): Promise<ReplicaProc> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const live = this.replicas.filter((r) => r.proc.running && !except.includes(r.id));
      // A replica waiting to join (JOIN=1, not a voter) has no say in elections.
      const sts = (await Promise.all(live.map((r) => this.status(r.id))))
        .filter((s) => s !== null && s.voter !== false);
      const leaders = sts.filter((s) => s!.state === "leader");
      if (leaders.length === 1 && sts.length > this.replicas.length / 2) {
        const l = leaders[0]!;
        if (sts.every((s) => s!.term === l.term)) return this.replica(l.replicaId);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`no leader within ${timeoutMs} ms`);
  }

  /** Waits until every live replica has applied at least `index` (what /entries serves). */
  async waitForApplied(index: number, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const live = this.replicas.filter((r) => r.proc.running);
      const sts = await Promise.all(live.map((r) => this.status(r.id)));
      if (sts.every((s) => s !== null && (s.appliedIndex ?? 0) >= index)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`not every replica applied ${index} within ${timeoutMs} ms`);
  }

  /** POSTs strokes to the leader (found and re-found as needed) until they commit. */
  async propose(strokes: Stroke[], timeoutMs = 15_000): Promise<number[]> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const leader = await this.waitForLeader(Math.max(1, deadline - Date.now())).catch(() => null);
      if (!leader) break;
      const reply = await this.client.propose(leader.url, strokes, { timeoutMs: 5000 })
        .catch(() => null); // the leader died: find the next one
      if (reply?.ok) return reply.value;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error("proposal did not commit in time");
  }

  /** Every committed entry a replica serves, paging through `/entries`. */
  async entries(id: string): Promise<LogEntry[]> {
    return (await this.client.allEntries(this.replica(id).url)).entries;
  }

  /**
   * Calls the membership API (`POST /members`, `DELETE /members/{id}`) on
   * the leader, asking the next one on 421/503 (leadership moved); any other
   * refusal throws with its status. Resolves with the `{members, configIndex}` answer. The
   * leader is the one `waitForLeader` accepts (a majority of every replica started here agrees),
   * which throws when there is none within 20 s.
   */
  changeMembers(
    method: "POST" | "DELETE",
    path: string,
    body?: unknown,
    timeoutMs = 60_000,
  ): Promise<{ members: { id: string; url: string; voter: boolean }[]; configIndex: number }> {
    return callLeader({
      method,
      path,
      body,
      headers: this.headers(),
      timeoutMs,
      findLeader: async () => (await this.waitForLeader(20_000)).url,
      // POST /members answers once the new member is a voter: up to 120 s of catch-up.
      requestTimeoutMs: 150_000,
    });
  }

  /** What a replica printed so far (its log file in the cluster's folder). */
  async logText(id: string): Promise<string> {
    return await Deno.readTextFile(`${this.opts.dir}/${id}.log`).catch(() => "");
  }

  /** Authorization header when the cluster has a token. */
  headers(): Record<string, string> {
    const h: Record<string, string> = { "content-type": "application/json" };
    if (this.opts.token) h.authorization = `Bearer ${this.opts.token}`;
    return h;
  }

  #line(id: string, line: string): void {
    if (this.opts.onLine) return this.opts.onLine(id, line);
    let file = this.#logs.get(id);
    if (!file) {
      file = Deno.openSync(`${this.opts.dir}/${id}.log`, { create: true, append: true });
      this.#logs.set(id, file);
    }
    try {
      file.writeSync(new TextEncoder().encode(line + "\n"));
    } catch { /* the test removed its folder */ }
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

/** A real gateway process (the `gateway` task) in front of `replicaUrls` on `port`. */
export function startGateway(port: number, replicaUrls: string[], token?: string): Proc {
  const proc = new Proc({
    name: "gateway",
    task: "gateway",
    env: {
      GATEWAY_PORT: String(port),
      REPLICA_URLS: replicaUrls.join(","),
      ...(token ? { CLUSTER_TOKEN: token } : {}),
    },
  });
  proc.start();
  return proc;
}
