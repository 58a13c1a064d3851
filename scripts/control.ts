/**
 * The supervisor's control endpoint (scripts/start.ts serves it on 127.0.0.1:CONTROL_PORT): it
 * lets scripts/chaos.ts and, when dashboard controls are on, the dashboard (through the UI
 * server's `/control/` proxy) act on the processes the supervisor owns. Every request must carry
 * `Authorization: Bearer <token>`: a header no page of another origin can add without a CORS
 * preflight this endpoint never grants, so a web page cannot drive it from the operator's browser.
 *
 *   GET    /replicas                       [{name, url, running, paused}]
 *   POST   /kill|stop|start|restart|pause|resume|partition|heal?target=NAME
 *   POST   /members                        start a new replica (JOIN=1) and add it (membership API)
 *   DELETE /members/NAME                   remove it from the configuration, then stop it
 *
 * `/members` is offered only with `members: true` (dashboard controls on). A local "partition"
 * is a pause (SIGSTOP) and says so: processes on loopback cannot be cut apart without network
 * namespaces (scripts/partition_demo.ts and `chaos --compose` make real ones).
 */
import type { LocalCluster } from "../tests/testing/local_cluster.ts";
import { type Proc, waitForHttp } from "../tests/testing/supervisor.ts";
import { callLeader } from "../tests/testing/leader_call.ts";
import { randomToken } from "./cluster_token.ts";

/** What the endpoint acts on. */
export interface ControlDeps {
  cluster: LocalCluster;
  /** The other processes the supervisor owns (gateway, UI). */
  others: Proc[];
  token: string;
  /** Whether members may be added and removed here. */
  members: boolean;
  log: (line: string) => void;
}

const PARTITION_NOTE =
  "local partition approximated by a pause (SIGSTOP): loopback processes cannot be cut apart " +
  "without network namespaces";

/** The request handler. */
export function controlHandler(deps: ControlDeps): (req: Request) => Promise<Response> {
  const paused = new Set<string>();
  const procs = () => [...deps.cluster.replicas.map((r) => r.proc), ...deps.others];
  const actions: Record<string, (p: Proc) => unknown> = {
    kill: (p) => (paused.delete(p.name), p.kill()),
    stop: (p) => (paused.delete(p.name), p.stop()),
    start: (p) => p.start(),
    restart: async (p) => {
      paused.delete(p.name);
      await p.stop();
      p.start();
    },
    pause: (p) => (paused.add(p.name), p.signal("SIGSTOP")),
    resume: (p) => (paused.delete(p.name), p.signal("SIGCONT")),
    partition: (p) => (paused.add(p.name), p.signal("SIGSTOP")),
    heal: (p) => (paused.delete(p.name), p.signal("SIGCONT")),
  };
  const usage = "GET /replicas, POST /kill|stop|start|restart|pause|resume|partition|heal" +
    `?target=NAME${deps.members ? ", POST /members, DELETE /members/NAME" : ""}`;

  return async (req) => {
    await req.body?.cancel().catch(() => {}); // no route reads a body
    if (req.headers.get("authorization") !== `Bearer ${deps.token}`) {
      return Response.json({ error: "missing or wrong control token" }, { status: 401 });
    }
    const url = new URL(req.url);
    const path = url.pathname;
    if (req.method === "GET" && path === "/replicas") {
      return Response.json(deps.cluster.replicas.map((r) => ({
        name: r.id,
        url: r.url,
        running: r.proc.running,
        paused: paused.has(r.id),
      })));
    }
    if (deps.members && path === "/members" && req.method === "POST") {
      return await answer(async () => {
        const r = deps.cluster.join();
        deps.log(`add member ${r.id} at ${r.url}`);
        try {
          await waitForHttp(`${r.url}/status`, 60_000); // the leader asks it who it is first
          return await onLeader(deps.cluster, "POST", "/members", { url: r.url, id: r.id });
        } catch (e) {
          // Never added: the waiting process is of no use.
          await r.proc.stop();
          deps.cluster.replicas.splice(deps.cluster.replicas.indexOf(r), 1);
          throw e;
        }
      });
    }
    const member = path.match(/^\/members\/([A-Za-z0-9_.-]{1,64})$/);
    if (deps.members && member && req.method === "DELETE") {
      const r = deps.cluster.replicas.find((x) => x.id === member[1]);
      if (!r) return Response.json({ error: `no replica ${member[1]}` }, { status: 404 });
      return await answer(async () => {
        deps.log(`remove member ${r.id}`);
        const config = await onLeader(deps.cluster, "DELETE", `/members/${r.id}`);
        await r.proc.stop(); // out of the configuration: nothing needs it any more
        return config;
      });
    }
    const name = path.slice(1);
    const action = Object.hasOwn(actions, name) ? actions[name] : undefined;
    const proc = procs().find((c) => c.name === url.searchParams.get("target"));
    if (req.method !== "POST" || !proc || !action) {
      return Response.json({ error: usage }, { status: 400 });
    }
    deps.log(`${name} ${proc.name}`);
    await action(proc);
    return Response.json({
      ok: true,
      target: proc.name,
      action: name,
      running: proc.running,
      ...(name === "partition" ? { note: PARTITION_NOTE } : {}),
    });
  };
}

/**
 * Calls the membership API on the leader: the running replica claiming leadership in the
 * highest term, asked again on 421/503 (leadership moved). Found afresh each try, so a
 * cluster with members down or joining is no obstacle: `LocalCluster.changeMembers` waits for
 * a leader seen by a majority of every process it ever started, which a dashboard that killed
 * one replica and is adding another never has.
 */
function onLeader(
  cluster: LocalCluster,
  method: "POST" | "DELETE",
  path: string,
  body?: unknown,
  timeoutMs = 150_000,
): Promise<unknown> {
  const findLeader = async () => {
    const live = cluster.replicas.filter((r) => r.proc.running);
    const sts = await Promise.all(
      live.map((r) => cluster.client.status(r.url, { timeoutMs: 1000 })),
    );
    const leaders = live.filter((_, i) => sts[i]?.state === "leader")
      .sort((a, b) => sts[live.indexOf(b)]!.term - sts[live.indexOf(a)]!.term);
    return leaders[0]?.url ?? null;
  };
  return callLeader({ method, path, body, headers: cluster.headers(), timeoutMs, findLeader });
}

/** A membership change's answer, or 502 with what the cluster said. */
async function answer(change: () => Promise<unknown>): Promise<Response> {
  try {
    return Response.json(await change());
  } catch (e) {
    return Response.json({ error: (e as Error).message }, { status: 502 });
  }
}

/**
 * The token the endpoint requires: CLUSTER_TOKEN when the cluster has one, else a random one
 * written (mode 0600) to `file`, where chaos.ts and the operator read it; it is never printed.
 */
export async function controlToken(
  clusterToken: string | undefined,
  file: string,
): Promise<string> {
  if (clusterToken) return clusterToken;
  const token = randomToken();
  await Deno.writeTextFile(file, token + "\n", { mode: 0o600 });
  return token;
}
