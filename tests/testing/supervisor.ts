/**
 * The one process supervisor: `deno task start`/`dev`, the bench, the
 * integration and end-to-end tests all start replicas, gateways and the UI
 * server through it. A process is started from its deno task's command line
 * (so its permission set is the task's, written once in deno.json) as a
 * direct child, so a signal (SIGKILL, SIGSTOP for chaos) reaches the real
 * process rather than a `deno task` wrapper.
 */

const REPO = new URL("../../", import.meta.url).pathname;
const EXPERIMENTAL_NOTICE = /^Warning Permissions in the config file is an experimental feature/;

/**
 * The arguments of a single-command `deno ...` task, or `task -q NAME` for a
 * compound one, and the environment its `NAME=value` prefix sets (the
 * replica's malloc settings), which `deno task` would set for the child.
 */
export function taskCommand(task: string): { args: string[]; env: Record<string, string> } {
  const tasks = JSON.parse(Deno.readTextFileSync(`${REPO}deno.json`)).tasks as Record<
    string,
    string
  >;
  const line = tasks[task];
  if (line === undefined) throw new Error(`deno.json has no task ${task}`);
  const words = line.split(/\s+/);
  const env: Record<string, string> = {};
  while (/^[A-Z_][A-Z0-9_]*=\S*$/.test(words[0] ?? "")) {
    const [name, value] = words.shift()!.split("=");
    env[name] = value;
  }
  const [cmd, ...args] = words;
  if (cmd !== "deno" || /&&|&|\|/.test(line)) return { args: ["task", "-q", task], env: {} };
  return { args, env };
}

/** The arguments of a task (see `taskCommand`). */
export function taskArgs(task: string): string[] {
  return taskCommand(task).args;
}

/** Splits a byte stream into lines for `onLine`; resolves when the stream ends. */
export async function pipeLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let rest = "";
  for await (
    const chunk of (stream as ReadableStream<BufferSource>).pipeThrough(new TextDecoderStream())
  ) {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop()!;
    for (const line of lines) onLine(line);
  }
  if (rest) onLine(rest);
}

/** What a supervised process is. */
export interface ProcSpec {
  /** Shown in logs, e.g. `replica2`, `gateway`. */
  name: string;
  /** The deno task whose command line is run. */
  task: string;
  env?: Record<string, string>;
  /** Every stdout/stderr line (default: dropped). */
  onLine?: (line: string) => void;
  /**
   * A command that runs `deno` for it, e.g. `["ip", "netns", "exec", "ns1"]` (it must exec
   * deno, so that signals reach the real process).
   */
  wrap?: string[];
}

/**
 * Every child running now. When this process exits while some still run (a
 * test that failed before its cleanup, a script that threw), they are
 * SIGKILLed rather than left serving ports for the next run. (A SIGKILL of
 * this process itself cannot be caught; the orphans then need `pkill`.)
 */
const running = new Set<Deno.ChildProcess>();
let reaping = false;

function reapAtExit(child: Deno.ChildProcess): void {
  running.add(child);
  if (reaping) return;
  reaping = true;
  globalThis.addEventListener("unload", () => {
    for (const c of running) {
      try {
        c.kill("SIGCONT");
        c.kill("SIGKILL");
      } catch { /* already gone */ }
    }
  });
}

/** One supervised child process; it can be started again after it stopped. */
export class Proc {
  #child: Deno.ChildProcess | null = null;
  #exited: Promise<Deno.CommandStatus> | null = null;
  #piped: Promise<unknown> = Promise.resolve();

  constructor(readonly spec: ProcSpec) {}

  get name(): string {
    return this.spec.name;
  }

  /** True while the process runs (or is paused). */
  get running(): boolean {
    return this.#child !== null;
  }

  /** The running process's id. */
  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  /** Resolves when the current process exits (immediately when none runs). */
  get exited(): Promise<Deno.CommandStatus | null> {
    return this.#exited ?? Promise.resolve(null);
  }

  start(): void {
    if (this.#child) return;
    const given = this.spec.onLine ?? (() => {});
    // Every child prints Deno's notice that permission sets are experimental; once is enough.
    const onLine = (l: string) => EXPERIMENTAL_NOTICE.test(l) || given(l);
    // By name, so the supervisor's `run: ["deno"]` permission covers it.
    const { args, env } = taskCommand(this.spec.task);
    const [cmd, ...pre] = this.spec.wrap ? [...this.spec.wrap, "deno"] : ["deno"];
    const child = new Deno.Command(cmd, {
      args: [...pre, ...args],
      cwd: REPO,
      env: { NO_COLOR: "1", ...env, ...this.spec.env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    reapAtExit(child);
    this.#piped = Promise.all([pipeLines(child.stdout, onLine), pipeLines(child.stderr, onLine)]);
    this.#exited = child.status.then(async (s) => {
      running.delete(child);
      if (this.#child === child) this.#child = null;
      await this.#piped.catch(() => {});
      return s;
    });
  }

  /** Sends a signal; false when nothing runs. */
  signal(sig: Deno.Signal): boolean {
    try {
      this.#child?.kill(sig);
      return this.#child !== null;
    } catch {
      return false;
    }
  }

  /** SIGKILL (a crash), and waits until the process is gone. */
  async kill(): Promise<void> {
    const exited = this.exited;
    this.signal("SIGCONT");
    this.signal("SIGKILL");
    await exited;
  }

  /** SIGTERM (a replica leader hands leadership over first), SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    const exited = this.exited;
    if (!this.signal("SIGCONT")) return;
    this.signal("SIGTERM");
    const timer = setTimeout(() => this.signal("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

/** Picks `n` distinct free TCP ports on 127.0.0.1. */
export function freePorts(n: number): number[] {
  const listeners = Array.from(
    { length: n },
    () => Deno.listen({ hostname: "127.0.0.1", port: 0 }),
  );
  const ports = listeners.map((l) => (l.addr as Deno.NetAddr).port);
  for (const l of listeners) l.close();
  return ports;
}

/**
 * Polls `check` every 50 ms until it returns something other than false,
 * null or undefined, and returns that; a throw counts as "not yet" (a
 * process may still be starting). Past `timeoutMs` it fails naming `what`.
 */
export async function eventually<T>(
  check: () => Promise<T | false | null | undefined> | T | false | null | undefined,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = "";
  for (;;) {
    try {
      const v = await check();
      if (v !== false && v !== null && v !== undefined) return v;
    } catch (e) {
      lastError = ` (last error: ${e instanceof Error ? e.message : String(e)})`;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${lastError}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until an HTTP endpoint answers 200. */
export async function waitForHttp(url: string, timeoutMs = 10_000): Promise<void> {
  await eventually(
    () =>
      fetch(url, { signal: AbortSignal.timeout(1000) }).then(async (
        r,
      ) => (await r.body?.cancel(), r.ok)),
    timeoutMs,
    `${url} answering 200`,
  );
}
