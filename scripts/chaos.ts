/**
 * Breaks a running cluster on purpose and reports what the cluster did.
 *
 *   deno task chaos kill leader            # SIGKILL the current leader
 *   deno task chaos start replica2         # start it again
 *   deno task chaos pause replica3 2000    # SIGSTOP for 2 s, then SIGCONT
 *   deno task chaos partition leader 3000  # compose only: cut it off the network for 3 s
 *   deno task chaos random --seed 7 --steps 10 --interval 3000
 *
 * Local target (default): the cluster of `deno task start`, through its
 * loopback control endpoint. `--compose`: the `docker compose` cluster, with
 * docker kill/start/pause/unpause and `docker network disconnect` for real
 * partitions. A local "partition" is approximated by a pause (SIGSTOP), and
 * says so: loopback processes cannot be cut apart without namespaces.
 */
import { findLeader, ReplicaClient } from "../replica/client.ts";
import { mulberry32 } from "../tests/testing/prng.ts";

const args = [...Deno.args];
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const COMPOSE = args.includes("--compose")
  ? (args.splice(args.indexOf("--compose"), 1), true)
  : false;
const seed = Number(flag("--seed", String(Date.now() % 100000)));
const steps = Number(flag("--steps", "10"));
const intervalMs = Number(flag("--interval", "3000"));
const CONTROL = `http://127.0.0.1:${Deno.env.get("CONTROL_PORT") ?? 9099}`;
/** The supervisor's control token (scripts/control.ts): CLUSTER_TOKEN, else the file it wrote. */
function controlAuth(): HeadersInit {
  const token = Deno.env.get("CLUSTER_TOKEN") ||
    (() => {
      try {
        return Deno.readTextFileSync(".data/control-token").trim();
      } catch {
        return "";
      }
    })();
  return { authorization: `Bearer ${token}` };
}
const NETWORK = Deno.env.get("COMPOSE_NETWORK") ?? "whiteboard";
const replicas = new ReplicaClient();

/**
 * The replicas and their URLs, from configuration: the local supervisor
 * lists its own; for compose, REPLICA_URLS (the published ports) are asked
 * who they are (a compose service is named like its replica).
 */
async function roster(): Promise<Map<string, string>> {
  if (!COMPOSE) {
    const res = await fetch(`${CONTROL}/replicas`, { headers: controlAuth() }).catch(() => null);
    if (!res?.ok) throw new Error(`no supervisor at ${CONTROL} (is \`deno task start\` running?)`);
    const list: { name: string; url: string }[] = await res.json();
    return new Map(list.map((r) => [r.name, r.url]));
  }
  const urls = (Deno.env.get("REPLICA_URLS") ??
    "http://127.0.0.1:9001,http://127.0.0.1:9002,http://127.0.0.1:9003").split(",");
  const named = await Promise.all(
    urls.map(async (u) => [(await replicas.status(u))?.replicaId, u]),
  );
  return new Map(named.filter((n): n is [string, string] => n[0] !== undefined));
}
const ROSTER = await roster();
const REPLICAS = [...ROSTER.keys()];
const status = (id: string) => replicas.status(ROSTER.get(id)!, { timeoutMs: 400 });

/** One line per replica: role, term, commit; "down" when unreachable. */
async function report(): Promise<string> {
  const sts = await Promise.all(REPLICAS.map(status));
  return REPLICAS.map((id, i) => {
    const s = sts[i];
    return s ? `${id}=${s.state}@t${s.term}/c${s.commitIndex}` : `${id}=down`;
  }).join("  ");
}

async function leader(): Promise<string | null> {
  return findLeader(await Promise.all(REPLICAS.map(status)))?.replicaId ?? null;
}

async function run(cmd: string, ...a: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args: a, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${a.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

async function container(id: string): Promise<string> {
  const out = await new Deno.Command("docker", {
    args: ["ps", "-q", "--filter", `label=com.docker.compose.service=${id}`],
    stdout: "piped",
  }).output();
  const cid = new TextDecoder().decode(out.stdout).trim().split("\n")[0];
  if (!cid) throw new Error(`no running container for ${id}`);
  return cid;
}

async function act(action: string, target: string, forMs: number): Promise<void> {
  const id = target === "leader" ? await leader() : target;
  if (!id || !REPLICAS.includes(id)) throw new Error(`no such replica: ${target}`);
  const t0 = performance.now();
  console.log(
    `chaos: ${action} ${id}${forMs ? ` for ${forMs} ms` : ""}   before: ${await report()}`,
  );
  if (COMPOSE) {
    const cid = await container(id).catch(() => id);
    const docker: Record<string, string[]> = {
      kill: ["kill", cid],
      start: ["start", cid],
      stop: ["stop", cid],
      pause: ["pause", cid],
      resume: ["unpause", cid],
      partition: ["network", "disconnect", NETWORK, cid],
      heal: ["network", "connect", NETWORK, cid],
    };
    if (!docker[action]) throw new Error(`unknown action ${action}`);
    await run("docker", ...docker[action]);
  } else {
    const local = action === "partition" ? "pause" : action === "heal" ? "resume" : action;
    if (local !== action) console.log("chaos: (local) a partition is approximated by SIGSTOP");
    const res = await fetch(`${CONTROL}/${local}?target=${id}`, {
      method: "POST",
      headers: controlAuth(),
    });
    if (!res.ok) throw new Error(`control: ${(await res.json()).error}`);
    await res.body?.cancel();
  }
  if (forMs > 0) {
    await watch(forMs);
    const undo: Record<string, string> = {
      pause: "resume",
      partition: "heal",
      kill: "start",
      stop: "start",
    };
    if (undo[action]) await act(undo[action], id, 0);
  }
  await watch(1500);
  console.log(
    `chaos: after ${(performance.now() - t0).toFixed(0)} ms: ${await report()}   leader=${
      await leader() ?? "none"
    }`,
  );
}

/** Prints the cluster whenever its leader or terms change, for `ms`. */
async function watch(ms: number): Promise<void> {
  const end = Date.now() + ms;
  let last = "";
  while (Date.now() < end) {
    const r = (await report()).replace(/\/c\d+/g, "");
    if (r !== last) console.log(`        ${((end - Date.now()) / 1000).toFixed(1)}s left  ${r}`);
    last = r;
    await new Promise((res) => setTimeout(res, 100));
  }
}

async function randomRun(): Promise<void> {
  const rand = mulberry32(seed); // a seed gives the same sequence of faults
  console.log(
    `chaos: random run, seed ${seed}, ${steps} steps every ${intervalMs} ms (replay with --seed ${seed})`,
  );
  const actions = ["kill", "pause", "partition", "stop"];
  for (let i = 0; i < steps; i++) {
    const action = actions[Math.floor(rand() * actions.length)];
    const target = rand() < 0.5 ? "leader" : REPLICAS[Math.floor(rand() * REPLICAS.length)];
    await act(action, target, 500 + Math.floor(rand() * 2500)).catch((e) =>
      console.log(`chaos: ${e.message}`)
    );
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  console.log(`chaos: done. ${await report()}`);
}

if (import.meta.main) {
  const [action, target, forMs] = args;
  try {
    if (action === "random") await randomRun();
    else if (action && target) await act(action, target, Number(forMs ?? 0));
    else if (action === "status" || !action) console.log(await report());
    else {throw new Error(
        "usage: chaos ACTION TARGET [MS] | random [--seed N] [--steps N] [--interval MS] [--compose]",
      );}
  } catch (e) {
    console.error(`chaos: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
