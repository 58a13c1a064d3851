/**
 * HAProxy (Debian's `haproxy`) in front of gateways on 127.0.0.1, for the gateways demo and its
 * integration test: a WebSocket-aware HTTP config with health checks on each gateway's
 * `/healthz`, run in the foreground as a child process.
 */
import { pipeLines } from "./supervisor.ts";

/** Where HAProxy is, or null when it is not installed (HAPROXY overrides). */
export function haproxyPath(): string | null {
  const given = Deno.env.get("HAPROXY");
  for (const p of [given, "/usr/sbin/haproxy", "/usr/bin/haproxy"]) {
    if (!p) continue;
    try {
      if (Deno.statSync(p).isFile) return p;
    } catch { /* not there */ }
  }
  return null;
}

/** One backend server. */
export interface Backend {
  name: string;
  port: number;
}

/**
 * The config: plain HTTP mode (HAProxy sees the Upgrade and then tunnels the WebSocket, with
 * `timeout tunnel` for its lifetime); `balance leastconn` so long-lived sockets spread evenly;
 * a gateway failing two checks 300 ms apart is taken out; a connection refused by a dead one is
 * retried on another (`option redispatch`), so a client that reconnects lands on a live one.
 */
export function haproxyConfig(port: number, backends: Backend[], statsPort?: number): string {
  return [
    "global",
    "  maxconn 4096",
    "defaults",
    "  mode http",
    "  timeout connect 1s",
    "  timeout client 30s",
    "  timeout server 30s",
    "  timeout tunnel 1h",
    "  retries 3",
    "  option redispatch 1",
    "frontend whiteboard",
    `  bind 127.0.0.1:${port}`,
    "  default_backend gateways",
    "backend gateways",
    "  balance leastconn",
    "  option httpchk GET /healthz",
    "  http-check expect status 200",
    "  default-server inter 300ms fall 2 rise 2",
    ...backends.map((b) => `  server ${b.name} 127.0.0.1:${b.port} check`),
    ...(statsPort === undefined ? [] : [
      "listen stats",
      `  bind 127.0.0.1:${statsPort}`,
      "  stats enable",
      "  stats uri /stats",
    ]),
    "",
  ].join("\n");
}

/** A running HAProxy. */
export interface Haproxy {
  port: number;
  /** Server states from the stats page (`UP`, `DOWN`, ...), by name. */
  serverStates(): Promise<Map<string, string>>;
  stop(): Promise<void>;
}

/** Writes the config into `dir` and starts HAProxy in the foreground; resolves once it listens. */
export async function startHaproxy(
  opts: {
    dir: string;
    port: number;
    statsPort: number;
    backends: Backend[];
    onLine?: (l: string) => void;
  },
): Promise<Haproxy> {
  const bin = haproxyPath();
  if (!bin) throw new Error("haproxy is not installed (apt-get install haproxy)");
  const cfg = `${opts.dir}/haproxy.cfg`;
  await Deno.writeTextFile(cfg, haproxyConfig(opts.port, opts.backends, opts.statsPort));
  const check = await new Deno.Command(bin, { args: ["-c", "-q", "-f", cfg] }).output();
  if (!check.success) {
    throw new Error(`haproxy config refused: ${new TextDecoder().decode(check.stderr)}`);
  }
  const child = new Deno.Command(bin, {
    args: ["-db", "-f", cfg],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const onLine = opts.onLine ?? (() => {});
  const piped = Promise.all([pipeLines(child.stdout, onLine), pipeLines(child.stderr, onLine)]);
  const stats = `http://127.0.0.1:${opts.statsPort}/stats;csv`;
  const serverStates = async () => {
    const text = await (await fetch(stats, { signal: AbortSignal.timeout(2000) })).text();
    const states = new Map<string, string>();
    for (const line of text.split("\n")) {
      const cols = line.split(",");
      if (cols[0] === "gateways" && cols[1] !== "BACKEND") states.set(cols[1], cols[17]);
    }
    return states;
  };
  const deadline = Date.now() + 15_000;
  while ((await serverStates().catch(() => null)) === null) {
    if (Date.now() > deadline) throw new Error("haproxy did not start listening");
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port: opts.port,
    serverStates,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* gone already */ }
      await child.status;
      await piped.catch(() => {});
    },
  };
}
