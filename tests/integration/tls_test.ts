/**
 * Optional TLS end to end, with real processes on loopback: a local CA and a certificate made
 * by scripts/make_certs.ts in a temp dir, three replicas whose PEERS are `https://` URLs, a
 * gateway in front serving `wss://`, every process trusting the CA through DENO_CERT. A stroke
 * drawn over wss is acked and committed; plain HTTP and plain ws are refused by the TLS
 * listeners, and a client that does not trust the CA gets nothing either.
 */
import assert from "node:assert/strict";
import { makeCerts } from "../../scripts/make_certs.ts";
import { findLeader, ReplicaClient } from "../../replica/client.ts";
import { LocalCluster } from "../testing/local_cluster.ts";
import { eventually, freePorts, Proc } from "../testing/supervisor.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** True when the request got no HTTP answer at all (refused handshake, reset, timeout). */
async function refused(url: string, client?: Deno.HttpClient): Promise<boolean> {
  try {
    const res = await fetch(url, { client, signal: AbortSignal.timeout(3000) });
    await res.body?.cancel();
    return false;
  } catch {
    return true;
  }
}

Deno.test({
  name: "three replicas and a gateway over TLS: a stroke acked over wss, plain clients refused",
  ...opts,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "wb-tls-" });
  const certs = await makeCerts(`${dir}/certs`, ["127.0.0.1", "localhost"]);
  const tlsEnv = { TLS_CERT: certs.cert, TLS_KEY: certs.key, DENO_CERT: certs.ca };
  const lines: string[] = [];
  const cluster = new LocalCluster({
    dir,
    scheme: "https",
    env: tlsEnv,
    onLine: (id, l) => lines.push(`[${id}] ${l}`),
  });
  const ports = cluster.replicas.map((r) => r.port);
  const urls = cluster.urls();
  const [gwPort] = freePorts(1);
  const gateway = new Proc({
    name: "gateway",
    task: "gateway",
    env: { GATEWAY_PORT: String(gwPort), REPLICA_URLS: urls.join(","), ...tlsEnv },
    onLine: (l) => lines.push(`[gateway] ${l}`),
  });
  // The test process itself trusts the CA per client; its default fetch does not.
  const trusting = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(certs.ca)] });
  const client = new ReplicaClient(null, 2000);
  try {
    await cluster.start();
    gateway.start();
    const leader = await eventually(
      async () => {
        const sts = await Promise.all(
          urls.map((u) =>
            fetch(`${u}/status`, { client: trusting, signal: AbortSignal.timeout(2000) })
              .then((r) => r.json())
          ),
        );
        return findLeader(sts);
      },
      30_000,
      "a leader elected over https",
    ).catch((e) => {
      throw new Error(`${e.message}\n${lines.slice(-30).join("\n")}`);
    });
    assert.match(leader.leaderUrl ?? "", /^https:\/\/127\.0\.0\.1:\d+$/);
    await eventually(
      async () => {
        const res = await fetch(`https://127.0.0.1:${gwPort}/healthz`, { client: trusting });
        const body = await res.json();
        return body.leaderId ? body : null;
      },
      30_000,
      "the gateway over https",
    );

    const id = `tls-${crypto.randomUUID()}`;
    const draw = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net=127.0.0.1",
        `--cert=${certs.ca}`,
        new URL("./testdata/wss_draw.ts", import.meta.url).pathname,
        `wss://127.0.0.1:${gwPort}/ws`,
        id,
      ],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    const out = new TextDecoder().decode(draw.stdout).trim();
    assert.equal(draw.code, 0, `${out}\n${new TextDecoder().decode(draw.stderr)}`);
    const { index, violations } = JSON.parse(out);
    assert.ok(Number.isSafeInteger(index) && index >= 1, out);
    assert.deepEqual(violations, []);
    const page = await fetch(`${leader.leaderUrl}/entries?from=${index}&limit=1`, {
      client: trusting,
    }).then((r) => r.json());
    assert.equal(page.entries[0]?.stroke?.id, id);
    // The leader's peer streams run over TLS too (a failed one would fall back to POSTs unseen).
    const leaderId = leader.replicaId;
    const opened = lines.filter((l) =>
      l.startsWith(`[${leaderId}]`) && l.includes("peer_stream_opened")
    );
    assert.deepEqual(
      opened.map((l) => /url=(\S+)/.exec(l)?.[1]).sort(),
      urls.filter((u) => u !== leader.leaderUrl).sort(),
      lines.filter((l) => l.includes("stream")).join("\n"),
    );

    // Plain clients get nothing from the TLS listeners, and neither does a client that
    // does not trust the CA.
    for (const port of [...ports, gwPort]) {
      assert.ok(await refused(`http://127.0.0.1:${port}/status`), `http on ${port}`);
      assert.ok(await refused(`https://127.0.0.1:${port}/status`), `untrusted https on ${port}`);
    }
    assert.equal(await client.status(`http://127.0.0.1:${ports[0]}`), null);
    const plainWs = await new Promise<string>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${gwPort}/ws`);
      ws.onopen = () => resolve("open");
      ws.onerror = () => resolve("refused");
    });
    assert.equal(plainWs, "refused");
  } finally {
    trusting.close();
    await Promise.all([cluster.stop(), gateway.kill()]);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
