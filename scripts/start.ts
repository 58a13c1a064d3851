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
 *
 * Dashboard controls (kill, restart, pause, partition, add and remove members from
 * http://localhost:3000/dashboard) are on with `--dev`, `--controls` or DASHBOARD_CONTROLS=1,
 * off otherwise. They go through the control endpoint below (scripts/control.ts), which wants
 * the control token: CLUSTER_TOKEN when set, else the random one in `.data/control-token`.
 */
import { LocalCluster } from "../tests/testing/local_cluster.ts";
import { rollingRestart } from "../tests/testing/rolling_restart.ts";
import { Proc } from "../tests/testing/supervisor.ts";
import { controlHandler, controlToken } from "./control.ts";

const DEV = Deno.args.includes("--dev");
const CONTROLS = DEV || Deno.args.includes("--controls") ||
  Deno.env.get("DASHBOARD_CONTROLS") === "1";
const CONTROL_PORT = Number(Deno.env.get("CONTROL_PORT") ?? 9099);
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
const ui = new Proc({
  name: "ui",
  task: "ui",
  // The UI server proxies /control/ to the endpoint only when it is told where it is.
  env: CONTROLS ? { CONTROL_URL: `http://127.0.0.1:${CONTROL_PORT}` } : {},
  onLine: print("ui"),
});

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
  // Replicas added from the dashboard are in `cluster.replicas` too.
  await Promise.all([...cluster.replicas.map((r) => r.proc), gateway, ui].map((c) => c.stop()));
  Deno.exit(0);
}
Deno.addSignalListener("SIGINT", shutdown);
Deno.addSignalListener("SIGTERM", shutdown);

await Deno.mkdir(".data", { recursive: true });
const TOKEN_FILE = ".data/control-token";
const token = await controlToken(Deno.env.get("CLUSTER_TOKEN"), TOKEN_FILE);
Deno.serve(
  { hostname: "127.0.0.1", port: CONTROL_PORT, onListen: () => {} },
  controlHandler({
    cluster,
    others: [gateway, ui],
    token,
    members: CONTROLS,
    log: (line) => console.log(`[control] ${line}`),
  }),
);

await cluster.start();
gateway.start();
ui.start();
console.log(
  `[start] ${count} replicas on ${cluster.urls().join(", ")}, gateway on 8080, ` +
    `UI on http://localhost:3000${DEV ? " (live reload)" : ""}`,
);
console.log(
  CONTROLS
    ? `[start] dashboard controls on: http://localhost:3000/dashboard, token ${
      Deno.env.get("CLUSTER_TOKEN") ? "CLUSTER_TOKEN" : `in ${TOKEN_FILE}`
    }`
    : "[start] dashboard at http://localhost:3000/dashboard (controls off: --controls)",
);
if (DEV) watch();
