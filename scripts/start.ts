/**
 * `deno task start`: three replicas, the gateway and the UI on one machine,
 * with prefixed logs; Ctrl-C stops everything.
 *
 * `deno task dev` (`--dev`): the same with live reload. The replicas share one
 * codebase, so a plain `--watch` would restart all three at once and take the
 * cluster down. Instead a change under replica/ or protocol/ restarts them
 * one at a time, followers first and the leader last (it hands leadership
 * over on SIGTERM), each waiting until the restarted replica has caught up.
 */
import type { StatusResponse } from "../protocol/mod.ts";
import { rollingRestart } from "./rolling_restart.ts";

const DEV = Deno.args.includes("--dev");
const REPLICAS = [1, 2, 3].map((n) => ({ id: `replica${n}`, port: 9000 + n }));

/**
 * The command line of a single-command deno task, so a replica is our direct
 * child (SIGSTOP for chaos reaches the real process, not a task wrapper).
 */
function taskArgs(task: string): string[] {
  const tasks = JSON.parse(Deno.readTextFileSync("deno.json")).tasks as Record<string, string>;
  const [cmd, ...args] = tasks[task].split(/\s+/);
  if (cmd !== "deno" || tasks[task].includes("&&")) return ["task", "-q", task];
  return args;
}

/** One child process started from a deno task. */
export class Child {
  private proc: Deno.ChildProcess | null = null;

  constructor(
    readonly name: string,
    private readonly task: string,
    private readonly env: Record<string, string> = {},
  ) {}

  get running(): boolean {
    return this.proc !== null;
  }

  start(): void {
    if (this.proc) return;
    const proc = new Deno.Command("deno", {
      args: taskArgs(this.task),
      env: this.env,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.proc = proc;
    pipeLines(this.name, proc.stdout);
    pipeLines(this.name, proc.stderr);
    proc.status.then(() => {
      if (this.proc === proc) this.proc = null;
    });
  }

  /** Sends a signal (chaos: SIGKILL, SIGSTOP, SIGCONT). */
  signal(sig: Deno.Signal): boolean {
    try {
      this.proc?.kill(sig);
      return this.proc !== null;
    } catch {
      return false;
    }
  }

  /** Stops the child gracefully (SIGTERM), forcefully after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    this.proc = null;
    try {
      proc.kill("SIGCONT");
      proc.kill("SIGTERM");
    } catch { /* already gone */ }
    const timer = setTimeout(() => {
      try {
        proc.kill("SIGKILL");
      } catch { /* gone */ }
    }, graceMs);
    await proc.status;
    clearTimeout(timer);
  }
}

async function pipeLines(name: string, stream: ReadableStream<Uint8Array>): Promise<void> {
  let rest = "";
  for await (
    const chunk of (stream as ReadableStream<BufferSource>).pipeThrough(new TextDecoderStream())
  ) {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop()!;
    // Replica lines already carry the seed's [replicaN] prefix.
    for (const line of lines) console.log(line.startsWith("[") ? line : `[${name}] ${line}`);
  }
}

async function status(port: number): Promise<StatusResponse | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/status`, {
      signal: AbortSignal.timeout(500),
    });
    return res.ok ? await res.json() : null;
  } catch {
    return null;
  }
}

const replicas = REPLICAS.map((r) =>
  new Child(r.id, "replica", { REPLICA_ID: r.id, PORT: String(r.port) })
);
const gateway = new Child("gateway", "gateway");
const ui = new Child("ui", "ui");
const all = [...replicas, gateway, ui];

/** Restarts replicas one by one, the leader last, each caught up before the next. */
function rollReplicas(): Promise<void> {
  return rollingRestart(
    REPLICAS.map((r, i) => ({
      id: r.id,
      restart: async () => {
        await replicas[i].stop();
        replicas[i].start();
      },
      status: () => status(r.port),
    })),
    (line) => console.log(`[dev] ${line}`),
  );
}

/** Watches source folders and reloads what changed, never two reloads at once. */
async function watch(): Promise<void> {
  const watcher = Deno.watchFs(["replica", "protocol", "gateway", "ui/src"], { recursive: true });
  let pending = new Set<string>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running = Promise.resolve();
  const flush = () => {
    const changed = [...pending];
    pending = new Set();
    running = running.then(async () => {
      const touches = (dir: string) => changed.some((p) => p.includes(`/${dir}/`));
      if (touches("replica") || touches("protocol")) {
        console.log("[dev] replica code changed: rolling restart, one replica at a time");
        await rollReplicas();
      }
      if (touches("gateway") || touches("protocol")) {
        console.log("[dev] gateway code changed: restarting it (browsers reconnect and resume)");
        await gateway.stop();
        gateway.start();
      }
      if (touches("ui")) {
        console.log("[dev] ui code changed: rebuilding");
        await ui.stop();
        ui.start();
      }
    });
  };
  for await (const ev of watcher) {
    if (!ev.paths.some((p) => p.endsWith(".ts") || p.endsWith(".tsx"))) continue;
    for (const p of ev.paths) pending.add(p);
    clearTimeout(timer);
    timer = setTimeout(flush, 300);
  }
}

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log("[start] stopping…");
  await Promise.all(all.map((c) => c.stop()));
  Deno.exit(0);
}
Deno.addSignalListener("SIGINT", shutdown);
Deno.addSignalListener("SIGTERM", shutdown);

/**
 * Control endpoint for scripts/chaos.ts, on loopback only: it lets chaos act
 * on the processes this supervisor owns.
 */
const CONTROL_PORT = Number(Deno.env.get("CONTROL_PORT") ?? 9099);
Deno.serve({ hostname: "127.0.0.1", port: CONTROL_PORT, onListen: () => {} }, async (req) => {
  const url = new URL(req.url);
  const child = all.find((c) => c.name === url.searchParams.get("target"));
  const action = url.pathname.slice(1);
  if (req.method !== "POST" || !child) {
    return Response.json({ error: "POST /kill|stop|start|pause|resume?target=NAME" }, {
      status: 400,
    });
  }
  console.log(`[chaos] ${action} ${child.name}`);
  switch (action) {
    case "kill":
      child.signal("SIGKILL");
      break;
    case "stop":
      await child.stop();
      break;
    case "start":
      child.start();
      break;
    case "pause":
      child.signal("SIGSTOP");
      break;
    case "resume":
      child.signal("SIGCONT");
      break;
    default:
      return Response.json({ error: `unknown action ${action}` }, { status: 400 });
  }
  return Response.json({ ok: true, target: child.name, action, running: child.running });
});

for (const c of all) c.start();
console.log(
  `[start] replicas on 9001-9003, gateway on 8080, UI on http://localhost:3000${
    DEV ? " (live reload)" : ""
  }`,
);
if (DEV) watch();
