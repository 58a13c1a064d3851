/**
 * A real Prometheus (Debian's `/usr/bin/prometheus`) scraping given targets, for the
 * `prometheus:check` script and the metrics integration test: a prometheus.yml and a storage
 * dir in a temp folder, a free port, a fast scrape interval, and queries of its HTTP API.
 */
import { freePorts, pipeLines } from "./supervisor.ts";

/** Where Debian installs it; `PROMETHEUS_BIN` overrides. */
export const PROMETHEUS_BIN = Deno.env.get("PROMETHEUS_BIN") ?? "/usr/bin/prometheus";

/** True when the binary is there and runs. */
export function prometheusInstalled(): boolean {
  try {
    return Deno.statSync(PROMETHEUS_BIN).isFile;
  } catch {
    return false;
  }
}

/** One scrape job: a name and `host:port` targets. */
export interface ScrapeJob {
  job: string;
  targets: string[];
}

/** The prometheus.yml for `jobs`, scraping every `intervalS` seconds. */
export function prometheusConfig(jobs: ScrapeJob[], intervalS = 1): string {
  const lines = [
    "global:",
    `  scrape_interval: ${intervalS}s`,
    `  scrape_timeout: ${intervalS}s`,
    "scrape_configs:",
  ];
  for (const j of jobs) {
    lines.push(`  - job_name: ${JSON.stringify(j.job)}`, "    metrics_path: /metrics");
    lines.push("    static_configs:", `      - targets: ${JSON.stringify(j.targets)}`);
  }
  return lines.join("\n") + "\n";
}

/** One series of an instant query's answer. */
export interface PromSeries {
  metric: Record<string, string>;
  value: [number, string];
}

/** A running Prometheus. */
export class Prometheus {
  readonly url: string;
  readonly #child: Deno.ChildProcess;
  readonly #done: Promise<unknown>;
  readonly output: string[] = [];

  private constructor(readonly dir: string, port: number) {
    this.url = `http://127.0.0.1:${port}`;
    this.#child = new Deno.Command(PROMETHEUS_BIN, {
      args: [
        `--config.file=${dir}/prometheus.yml`,
        `--storage.tsdb.path=${dir}/data`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--log.level=warn",
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const keep = (l: string) => void (this.output.length < 200 && this.output.push(l));
    this.#done = Promise.all([
      pipeLines(this.#child.stdout, keep),
      pipeLines(this.#child.stderr, keep),
      this.#child.status,
    ]);
  }

  /** Writes the config into a new temp folder and starts Prometheus on a free port. */
  static async start(jobs: ScrapeJob[], intervalS = 1): Promise<Prometheus> {
    const dir = await Deno.makeTempDir({ prefix: "wb-prom-" });
    await Deno.writeTextFile(`${dir}/prometheus.yml`, prometheusConfig(jobs, intervalS));
    return new Prometheus(dir, freePorts(1)[0]);
  }

  /** An instant query (`/api/v1/query`); throws on an error answer. */
  async query(expr: string): Promise<PromSeries[]> {
    const u = `${this.url}/api/v1/query?query=${encodeURIComponent(expr)}`;
    const res = await fetch(u, { signal: AbortSignal.timeout(5000) });
    const body = await res.json();
    if (body.status !== "success") throw new Error(`query ${expr}: ${JSON.stringify(body)}`);
    return body.data.result as PromSeries[];
  }

  /** The scrape targets' health as Prometheus sees it (`/api/v1/targets`). */
  async targets(): Promise<{ job: string; instance: string; health: string; error: string }[]> {
    const res = await fetch(`${this.url}/api/v1/targets`, { signal: AbortSignal.timeout(5000) });
    const body = await res.json();
    // deno-lint-ignore no-explicit-any
    return (body.data.activeTargets as any[]).map((t) => ({
      job: t.labels.job,
      instance: t.labels.instance,
      health: t.health,
      error: t.lastError,
    }));
  }

  /** Stops it and removes its folder. */
  async stop(): Promise<void> {
    try {
      this.#child.kill("SIGTERM");
    } catch { /* already gone */ }
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* gone */ }
    }, 5000);
    await this.#done.catch(() => {});
    clearTimeout(timer);
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}
