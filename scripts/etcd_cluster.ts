/**
 * etcd 3.4 (Debian's `etcd-server`) as the yardstick of `deno task bench`:
 * three members on loopback with their own data dirs, fsync on (etcd's
 * default), heartbeat 100 ms and election 500 ms, and a closed-loop load of
 * HTTP/JSON puts to the leader (`/v3/kv/put` through etcd's gRPC gateway)
 * from this same Deno process, so both systems face the same client.
 */
import { freePorts } from "../tests/testing/local_cluster.ts";

/** A running three-member etcd. */
export interface Etcd {
  /** Client URLs, one per member. */
  clientUrls: string[];
  stop(): Promise<void>;
}

/** The `etcd` binary on PATH, or null when etcd is not installed. */
export async function findEtcd(): Promise<string | null> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    const path = `${dir}/etcd`;
    try {
      if ((await Deno.stat(path)).isFile) return path;
    } catch { /* not here */ }
  }
  return null;
}

/** Starts three members under `dir` and waits for a leader. */
export async function startEtcd(binary: string, dir: string): Promise<Etcd> {
  const ports = freePorts(6);
  const names = ["e1", "e2", "e3"];
  const peerUrl = (i: number) => `http://127.0.0.1:${ports[3 + i]}`;
  const clientUrls = names.map((_, i) => `http://127.0.0.1:${ports[i]}`);
  const initial = names.map((n, i) => `${n}=${peerUrl(i)}`).join(",");
  const procs = names.map((name, i) =>
    new Deno.Command(binary, {
      args: [
        `--name=${name}`,
        `--data-dir=${dir}/${name}`,
        `--listen-client-urls=${clientUrls[i]}`,
        `--advertise-client-urls=${clientUrls[i]}`,
        `--listen-peer-urls=${peerUrl(i)}`,
        `--initial-advertise-peer-urls=${peerUrl(i)}`,
        `--initial-cluster=${initial}`,
        "--initial-cluster-state=new",
        "--heartbeat-interval=100",
        "--election-timeout=500",
        "--log-level=error",
      ],
      stdout: "null",
      stderr: "null",
    }).spawn()
  );
  const etcd: Etcd = {
    clientUrls,
    async stop() {
      for (const p of procs) {
        try {
          p.kill("SIGKILL");
        } catch { /* already gone */ }
      }
      await Promise.all(procs.map((p) => p.status));
    },
  };
  try {
    await etcdLeader(etcd, 20_000);
  } catch (e) {
    await etcd.stop();
    throw e;
  }
  return etcd;
}

/** The client URL of the current leader, polling `/v3/maintenance/status`. */
export async function etcdLeader(etcd: Etcd, timeoutMs = 10_000): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    for (const url of etcd.clientUrls) {
      try {
        const r = await fetch(`${url}/v3/maintenance/status`, { method: "POST", body: "{}" });
        const s = await r.json() as { header?: { member_id?: string }; leader?: string };
        if (
          r.ok && s.leader !== undefined && s.leader !== "0" && s.leader === s.header?.member_id
        ) {
          return url;
        }
      } catch { /* not up yet */ }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`etcd elected no leader within ${timeoutMs} ms`);
}

const b64 = (s: string) => btoa(s);

/** One closed-loop put: resolves once etcd answered 200 (committed on a majority, fsynced). */
export async function etcdPut(leaderUrl: string, key: string, value: string): Promise<void> {
  const r = await fetch(`${leaderUrl}/v3/kv/put`, {
    method: "POST",
    body: JSON.stringify({ key: b64(key), value: b64(value) }),
  });
  await r.arrayBuffer();
  if (!r.ok) throw new Error(`etcd put: ${r.status}`);
}
