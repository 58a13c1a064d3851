/**
 * `deno task start`: the replicas, the gateway and the UI on one machine,
 * with prefixed logs; Ctrl-C stops everything. `--replicas N` (or REPLICAS)
 * starts N replicas on ports 9001.. (default 3).
 *
 * `deno task dev` (`--dev`): the same with live reload. The replicas share one
 * codebase, so a plain `--watch` would restart all of them at once and take
 * the cluster down. Instead a change under replica/, protocol/ or common/
 * restarts them one at a time, followers first and the leader last (it hands
 * leadership over on SIGTERM), each waiting until the restarted replica has
 * caught up.
 */
import { LocalCluster } from "../tests/testing/local_cluster.ts";
import { rollingRestart } from "../tests/testing/rolling_restart.ts";
import { Proc } from "../tests/testing/supervisor.ts";

const DEV = Deno.args.includes("--dev");
const flag = Deno.args.indexOf("--replicas");
const count = Number(flag >= 0 ? Deno.args[flag + 1] : Deno.env.get("REPLICAS") ?? 3);
if (!Number.isInteger(count) || count < 1 || count > 9) {
  console.error("start: --replicas (or REPLICAS) must be a whole number from 1 to 9");
  Deno.exit(1);
}

/** Replica lines already carry the seed's [replicaN] prefix. */
const print = (name: string) => (line: string) =>
  console.log(line.startsWith("[") ? line : `[${name}] ${line}`);

const cluster = new LocalCluster({
  size: count,
  dir: ".data",
  ports: Array.from({ length: count }, (_, i) => 9001 + i),
  onLine: (id, line) => print(id)(line),
});
const gateway = new Proc({
  name: "gateway",
  task: "gateway",
  env: { REPLICA_URLS: cluster.urls().join(",") },
  onLine: print("gateway"),
});
const ui = new Proc({ name: "ui", task: "ui", onLine: print("ui") });
const all = [...cluster.replicas.map((r) => r.proc), gateway, ui];

/** Restarts replicas one by one, the leader last, each caught up before the next. */
function rollReplicas(): Promise<void> {
  return rollingRestart(
    cluster.replicas.map((r) => ({
      id: r.id,
      restart: async () => {
        await r.proc.stop();
        r.proc.start();
      },
      status: () => cluster.status(r.id),
    })),
    (line) => console.log(`[dev] ${line}`),
  );
}

/** Watches source folders and reloads what changed, never two reloads at once. */
async function watch(): Promise<void> {
  const watcher = Deno.watchFs(["replica", "protocol", "common", "gateway", "ui/src"], {
    recursive: true,
  });
  let pending = new Set<string>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running = Promise.resolve();
  const flush = () => {
    const changed = [...pending];
    pending = new Set();
    running = running.then(async () => {
      const touches = (...dirs: string[]) =>
        changed.some((p) => dirs.some((d) => p.includes(`/${d}/`)));
      if (touches("replica", "protocol", "common")) {
        console.log("[dev] replica code changed: rolling restart, one replica at a time");
        await rollReplicas();
      }
      if (touches("gateway", "protocol", "common")) {
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

/** What scripts/chaos.ts may ask the control endpoint to do to a process. */
const ACTIONS: Record<string, (p: Proc) => unknown> = {
  kill: (p) => p.kill(),
  stop: (p) => p.stop(),
  start: (p) => p.start(),
  pause: (p) => p.signal("SIGSTOP"),
  resume: (p) => p.signal("SIGCONT"),
};

/**
 * Control endpoint for scripts/chaos.ts, on loopback only: it lets chaos act
 * on the processes this supervisor owns.
 */
const CONTROL_PORT = Number(Deno.env.get("CONTROL_PORT") ?? 9099);
Deno.serve({ hostname: "127.0.0.1", port: CONTROL_PORT, onListen: () => {} }, async (req) => {
  const url = new URL(req.url);
  if (req.method === "GET" && url.pathname === "/replicas") {
    return Response.json(cluster.replicas.map((r) => ({ name: r.id, url: r.url })));
  }
  const proc = all.find((c) => c.name === url.searchParams.get("target"));
  const action = ACTIONS[url.pathname.slice(1)];
  if (req.method !== "POST" || !proc || !action) {
    return Response.json(
      { error: "GET /replicas, POST /kill|stop|start|pause|resume?target=NAME" },
      {
        status: 400,
      },
    );
  }
  console.log(`[chaos] ${url.pathname.slice(1)} ${proc.name}`);
  await action(proc);
  return Response.json({
    ok: true,
    target: proc.name,
    action: url.pathname.slice(1),
    running: proc.running,
  });
});

await cluster.start();
gateway.start();
ui.start();
console.log(
  `[start] ${count} replicas on ${cluster.urls().join(", ")}, gateway on 8080, ` +
    `UI on http://localhost:3000${DEV ? " (live reload)" : ""}`,
);
if (DEV) watch();
