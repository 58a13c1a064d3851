/**
 * No open door by default (CONTRACT.md, CLUSTER_TOKEN): real replica processes, probed on a
 * non-loopback address of this machine. Without a token a replica is not reachable there, and
 * asking it to listen there is refused with one line; with a token it serves there, and every
 * RPC without the token is 401 and changes nothing.
 */
import assert from "node:assert/strict";
import { isLoopbackHost } from "../../common/config.ts";
import { RPC_PATHS } from "../../protocol/rpc.ts";
import { LocalCluster, testStroke } from "../testing/local_cluster.ts";
import { freePorts, Proc, waitForHttp } from "../testing/supervisor.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const FORGED_TERM = 2 ** 47;

/** An address of this machine that other hosts could use to reach it, or null. */
function externalAddress(): string | null {
  const ifs = Deno.networkInterfaces().filter((i) => !isLoopbackHost(i.address));
  const v4 = ifs.find((i) => i.family === "IPv4");
  // Link-local IPv6 needs a zone id in URLs; a global or unique-local one does not.
  const v6 = ifs.find((i) => i.family === "IPv6" && !i.address.startsWith("fe80:"));
  if (v4) return v4.address;
  return v6 ? `[${v6.address}]` : null;
}

const EXTERNAL = externalAddress();
const SKIP = EXTERNAL === null
  ? " (SKIPPED: this machine has no non-loopback address to probe)"
  : "";
if (SKIP) console.warn(`exposure_test.ts${SKIP}`);

/** Resolves with the exit code, or rejects when the process is still running after `ms`. */
async function exitWithin(proc: Proc, ms: number): Promise<number> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${proc.name} still runs after ${ms} ms`)), ms);
  });
  try {
    const status = await Promise.race([proc.exited, timeout]);
    return status?.code ?? -1;
  } finally {
    clearTimeout(timer);
    await proc.kill();
  }
}

/** What a fetch got: the HTTP status, or "unreachable" when no answer came. */
async function probe(url: string, init: RequestInit = {}): Promise<number | "unreachable"> {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(3000) });
    await res.body?.cancel();
    return res.status;
  } catch {
    return "unreachable";
  }
}

const forged = {
  term: FORGED_TERM,
  leaderId: "nobody",
  candidateId: "nobody",
  prevLogIndex: 0,
  prevLogTerm: 0,
  lastLogIndex: 0,
  lastLogTerm: 0,
  entries: [],
  leaderCommit: 0,
  fromIndex: 1,
};
const post = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});

Deno.test({
  name: `a replica without a token is not reachable on ${EXTERNAL ?? "a non-loopback address"}` +
    SKIP,
  ignore: EXTERNAL === null,
  ...opts,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "wb-exposure-" });
  const [port, ...peerPorts] = freePorts(3);
  const replica = new Proc({
    name: "replica1",
    task: "replica",
    env: {
      REPLICA_ID: "replica1",
      PORT: String(port),
      PEERS: peerPorts.map((p) => `http://127.0.0.1:${p}`).join(","),
      DATA_DIR: `${dir}/replica1`,
      CLUSTER_TOKEN: "",
    },
  });
  try {
    replica.start();
    await waitForHttp(`http://127.0.0.1:${port}/status`, 20_000);
    const base = `http://${EXTERNAL}:${port}`;
    assert.equal(await probe(`${base}/status`), "unreachable");
    assert.equal(await probe(`${base}/append-entries`, post(forged)), "unreachable");
    const st = await (await fetch(`http://127.0.0.1:${port}/status`)).json();
    assert.ok(st.term < FORGED_TERM && st.leaderId !== "nobody", JSON.stringify(st));
  } finally {
    await replica.kill();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test({
  name: "a non-loopback bind without a token exits 1 with one line",
  ...opts,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "wb-exposure-" });
  try {
    for (const host of ["0.0.0.0", "::", ...(EXTERNAL ? [EXTERNAL.replace(/^\[|\]$/g, "")] : [])]) {
      const lines: string[] = [];
      const [port, peer] = freePorts(2);
      const replica = new Proc({
        name: "replica1",
        task: "replica",
        env: {
          REPLICA_ID: "replica1",
          PORT: String(port),
          PEERS: `http://127.0.0.1:${peer}`,
          DATA_DIR: `${dir}/replica1`,
          LISTEN_HOST: host,
          CLUSTER_TOKEN: "",
        },
        onLine: (l) => lines.push(l),
      });
      replica.start();
      assert.equal(await exitWithin(replica, 20_000), 1, `LISTEN_HOST=${host}: ${lines}`);
      assert.equal(lines.length, 1, lines.join("\n"));
      assert.match(lines[0], /^replica: LISTEN_HOST=\S+ needs CLUSTER_TOKEN/);
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test({
  name: `with a token a replica serves on ${EXTERNAL ?? "a non-loopback address"}, ` +
    "and every RPC without the token is 401 and changes nothing" + SKIP,
  ignore: EXTERNAL === null,
  ...opts,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "wb-exposure-" });
  const token = `t-${crypto.randomUUID()}`;
  const cluster = new LocalCluster({ dir, token });
  try {
    await cluster.start();
    const leader = await cluster.waitForLeader(30_000);
    const follower = cluster.replicas.find((r) => r.id !== leader.id)!;
    const before = await cluster.status(follower.id);
    for (const r of cluster.replicas) {
      const base = `http://${EXTERNAL}:${r.port}`;
      // It does serve there: open /status, and token holders get real answers.
      assert.equal(await probe(`${base}/status`), 200);
      assert.equal(await probe(`${base}/entries?from=1`, { headers: cluster.headers() }), 200);
      const stale = { term: 0, leaderId: leader.id };
      assert.equal(await probe(`${base}/heartbeat`, post(stale, cluster.headers())), 200);
      const refused: Record<string, string>[] = [
        {},
        { authorization: "Bearer wrong" },
        { authorization: token }, // the token without its scheme
      ];
      for (const headers of refused) {
        for (const path of RPC_PATHS) {
          assert.equal(await probe(`${base}${path}`, post(forged, headers)), 401, path);
        }
        const stroke = { strokes: [testStroke(`forged-${r.id}`)] };
        assert.equal(await probe(`${base}/propose`, post(stroke, headers)), 401, "/propose");
        assert.equal(await probe(`${base}/entries?from=1`, { headers }), 401, "/entries");
      }
    }
    // Nothing moved: no replica took the forged term or follows "nobody", no forged stroke is
    // in the log (a spurious election on a loaded machine may still raise the term by a little).
    const proof = await cluster.propose([testStroke("after-forgery")]);
    await cluster.waitForApplied(proof[0], 20_000);
    for (const r of cluster.replicas) {
      const st = (await cluster.status(r.id))!;
      assert.ok(st.term >= before!.term && st.term < FORGED_TERM, JSON.stringify(st));
      assert.ok(st.leaderId !== "nobody", JSON.stringify(st));
      const ids = (await cluster.entries(r.id)).flatMap((e) => "stroke" in e ? [e.stroke.id] : []);
      assert.ok(!ids.some((id) => id.startsWith("forged-")), ids.join(","));
      assert.ok(ids.includes("after-forgery"));
    }
  } finally {
    await cluster.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
