/**
 * Cluster membership for people (CONTRACT.md, "Membership"):
 *
 *   deno task members                  # list: id, url, voter or learner, who leads
 *   deno task members add URL [--id ID] # add the replica at URL (started with JOIN=1)
 *   deno task members remove ID        # remove a member (the leader too: it hands over first)
 *
 * REPLICA_URLS (default the local 9001-9003) is where it starts looking; it finds the leader
 * itself, following 421 hints, and prints one clear line when a change is refused. A change is
 * sent once: a timed-out POST or DELETE may still take effect, so it says to list, not retry.
 * `--timeout MS` bounds the whole command (default 120000 for add, 60000 otherwise).
 */
import { ConfigError, envFrom, startOrExit, token, urlList } from "../common/config.ts";
import { decodeNotLeader, errorOf, isBaseUrl, isReplicaId } from "../protocol/mod.ts";
import { findLeader, ReplicaClient } from "../replica/client.ts";
import { decodeMembers, getMembers, type MembersResponse } from "../gateway/members.ts";

/** REPLICA_URLS when unset. */
export const DEFAULT_URLS = [
  "http://127.0.0.1:9001",
  "http://127.0.0.1:9002",
  "http://127.0.0.1:9003",
];

/** What a run needs besides its arguments. */
export interface MembersCliOptions {
  urls: string[];
  token: string | null;
  /** One line of output (stdout). */
  print: (line: string) => void;
}

/** A failure worth one line; the process exits 1 with it. */
export class MembersError extends Error {}

type Command =
  | { kind: "list" }
  | { kind: "add"; url: string; id?: string }
  | { kind: "remove"; id: string };

const USAGE = "usage: deno task members [add URL [--id ID] | remove ID] [--timeout MS]";

/** Parses the command line; a bad one is a ConfigError carrying the usage. */
export function parseArgs(args: readonly string[]): { command: Command; timeoutMs?: number } {
  const rest = [...args];
  const take = (flag: string): string | undefined => {
    const i = rest.indexOf(flag);
    if (i < 0) return undefined;
    const v = rest[i + 1];
    if (v === undefined) throw new ConfigError(`${flag} needs a value; ${USAGE}`);
    rest.splice(i, 2);
    return v;
  };
  const id = take("--id");
  const timeout = take("--timeout");
  const timeoutMs = timeout === undefined ? undefined : Number(timeout);
  if (timeoutMs !== undefined && !(Number.isSafeInteger(timeoutMs) && timeoutMs > 0)) {
    throw new ConfigError(`--timeout must be a positive number of milliseconds; ${USAGE}`);
  }
  const [verb, arg, extra] = rest;
  if (extra !== undefined) throw new ConfigError(USAGE);
  if (verb === undefined || verb === "list") {
    if (arg !== undefined || id !== undefined) throw new ConfigError(USAGE);
    return { command: { kind: "list" }, timeoutMs };
  }
  if (verb === "add") {
    if (!isBaseUrl(arg)) throw new ConfigError(`add needs the new replica's http(s) URL; ${USAGE}`);
    if (id !== undefined && !isReplicaId(id)) {
      throw new ConfigError(`--id: "${id}" is no replica id`);
    }
    return { command: { kind: "add", url: arg.replace(/\/+$/, ""), id }, timeoutMs };
  }
  if (verb === "remove") {
    if (!isReplicaId(arg)) throw new ConfigError(`remove needs a member id; ${USAGE}`);
    return { command: { kind: "remove", id: arg }, timeoutMs };
  }
  throw new ConfigError(USAGE);
}

/** Runs one command; throws MembersError (or ConfigError) with the line to print. */
export async function runMembers(args: readonly string[], opts: MembersCliOptions): Promise<void> {
  const { command, timeoutMs } = parseArgs(args);
  const deadline = Date.now() + (timeoutMs ?? (command.kind === "add" ? 120_000 : 60_000));
  const cli = new Cli(opts, deadline);
  if (command.kind === "list") return await cli.list();
  const started = performance.now();
  const result = command.kind === "add"
    ? await cli.change("POST", "/members", { url: command.url, id: command.id })
    : await cli.change("DELETE", `/members/${command.id}`);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  opts.print(
    command.kind === "add"
      ? `added ${command.url} as a voter in ${seconds} s (configIndex ${result.configIndex})`
      : `removed ${command.id} in ${seconds} s (configIndex ${result.configIndex})`,
  );
  await cli.print(result);
}

class Cli {
  readonly #client: ReplicaClient;
  /** Replica id to a URL this machine reached it at (hints may name an address it cannot). */
  readonly #reachedAt = new Map<string, string>();

  constructor(readonly opts: MembersCliOptions, readonly deadline: number) {
    this.#client = new ReplicaClient(opts.token, 2000);
  }

  async list(): Promise<void> {
    const leader = await this.#findLeader();
    const sources = [...new Set([...(leader ? [leader] : []), ...this.opts.urls])];
    let last = "no replica answered";
    for (const url of sources) {
      try {
        const reply = await getMembers(this.#client, url, { timeoutMs: this.#left(5000) });
        if (reply.ok) return await this.print(reply.value, url);
        last = reply.status === 404
          ? `${url} has no /members (a replica without membership changes?)`
          : `${url}: ${describeStatus(reply.status, reply.error)}`;
        if (reply.status === 401) break;
      } catch (e) {
        last = `${url}: unreachable (${firstLine(e)})`;
      }
    }
    throw new MembersError(`cannot list members: ${last}`);
  }

  /** The table: one member a line, with what its own `/status` says now. */
  async print(config: MembersResponse, from?: string): Promise<void> {
    const statuses = await Promise.all(
      config.members.map((m) =>
        this.#client.status(this.#reachedAt.get(m.id) ?? m.url, { timeoutMs: this.#left(2000) })
      ),
    );
    const leaderId = findLeader(statuses)?.replicaId;
    const rows = config.members.map((m, i) => [
      m.id,
      m.url,
      m.voter ? "voter" : "learner",
      statuses[i] ? statuses[i]!.state + (m.id === leaderId ? " *" : "") : "unreachable",
    ]);
    const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c].length), 4));
    for (const r of [["ID", "URL", "ROLE", "STATE"], ...rows]) {
      this.opts.print(r.map((cell, c) => c < 3 ? cell.padEnd(widths[c]) : cell).join("  "));
    }
    this.opts.print(`configIndex ${config.configIndex}${from ? ` (as ${from} sees it)` : ""}`);
  }

  /**
   * Sends the change to the leader, following 421 hints (a few hops) and waiting out an
   * election (503) until the deadline. Connection failures before an answer are retried on the
   * next replica; anything after the request went out is reported, never resent.
   */
  async change(method: "POST" | "DELETE", path: string, body?: unknown): Promise<MembersResponse> {
    let target = await this.#findLeader();
    let why = "no replica claims to lead";
    // A request sent with almost no time left would only time out, leaving its outcome unknown.
    for (let attempt = 0; this.deadline - Date.now() >= 250; attempt++) {
      if (target === null) {
        await sleep(this.#left(Math.min(200 * 2 ** Math.min(attempt, 4), 2000)));
        target = await this.#findLeader();
        if (target === null || this.deadline - Date.now() < 250) continue;
      }
      const res = await this.#send(method, target, path, body);
      if (res.kind === "unreachable") {
        why = `${target} is unreachable (${res.error})`;
        target = null;
        continue;
      }
      if (res.kind === "sent_no_answer") {
        throw new MembersError(
          `no answer from ${target} (${res.error}): the change may still happen; ` +
            "run `deno task members` to see the configuration",
        );
      }
      const { status, json } = res;
      if (status === 200) {
        const decoded = decodeMembers(json);
        if (!decoded.ok) throw new MembersError(`${target}: odd answer: ${decoded.error}`);
        return decoded.value;
      }
      if (status === 421) {
        const hint = decodeNotLeader(json);
        const next = (hint.leaderId && this.#reachedAt.get(hint.leaderId)) ?? hint.leaderUrl;
        why = `${target} is not the leader; it names ${hint.leaderId ?? "no leader"}` +
          (hint.leaderUrl ? ` at ${hint.leaderUrl}` : "");
        target = next && next !== target && attempt < 8 ? next : null;
        continue;
      }
      if (status === 503) {
        why = `${target}: no leader now (${errorOf(json, status)})`;
        target = null;
        continue;
      }
      throw new MembersError(describeStatus(status, errorOf(json, status)));
    }
    throw new MembersError(`gave up finding the leader: ${why}`);
  }

  /** Asks REPLICA_URLS for `/status`; the highest-term leader's URL, as this machine reaches it. */
  async #findLeader(): Promise<string | null> {
    const statuses = await this.#client.statuses(this.opts.urls, { timeoutMs: this.#left(2000) });
    statuses.forEach((s, i) => s && this.#reachedAt.set(s.replicaId, this.opts.urls[i]));
    const leader = findLeader(statuses);
    if (leader) return this.#reachedAt.get(leader.replicaId)!;
    // A leader the seeds name but that is not among them (added later): go by their hint.
    for (const s of statuses) {
      if (s?.leaderId && !this.#reachedAt.has(s.leaderId) && s.leaderUrl) return s.leaderUrl;
    }
    // Else any replica that answers: its 421 or 503 says where the leader is, or that none is.
    return this.opts.urls.find((_, i) => statuses[i] !== null) ?? null;
  }

  async #send(
    method: string,
    url: string,
    path: string,
    body: unknown,
  ): Promise<
    | { kind: "answer"; status: number; json: unknown }
    | { kind: "unreachable"; error: string }
    | { kind: "sent_no_answer"; error: string }
  > {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
    let res: Response;
    try {
      res = await fetch(url + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.#left(Infinity)),
      });
    } catch (e) {
      // Refused or unresolvable: nothing reached the replica. Anything else (a timeout, a
      // connection cut mid-answer) may have.
      const msg = firstLine(e);
      const before = /refused|dns error|blocked|unreachable/i.test(msg) &&
        !(e instanceof DOMException);
      return before ? { kind: "unreachable", error: msg } : { kind: "sent_no_answer", error: msg };
    }
    const text = await res.text().catch(() => "");
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      // Not JSON: errorOf names the status.
    }
    return { kind: "answer", status: res.status, json };
  }

  #left(capMs: number): number {
    return Math.max(1, Math.min(capMs, this.deadline - Date.now()));
  }
}

/** One line for a refusal the leader answered. */
function describeStatus(status: number, error: string): string {
  switch (status) {
    case 400:
      return `refused as bad input: ${error}`;
    case 401:
      return `unauthorized: set CLUSTER_TOKEN (or CLUSTER_TOKEN_FILE) to the cluster's token`;
    case 404:
      return `no such member: ${error}`;
    case 409:
      return `refused (409: a change in progress, or already a member): ${error}`;
    case 502:
      return `the leader cannot reach the new replica (${error}); is it running, with JOIN=1?`;
    case 504:
      return `timed out: the replica did not become a voter in time (${error}); ` +
        "run `deno task members` to see where it stands";
    default:
      return `HTTP ${status}: ${error}`;
  }
}

/** The message, and its cause's (Deno's fetch says only "fetch failed", the cause says why). */
function firstLine(e: unknown): string {
  const text = (x: unknown) => (x instanceof Error ? x.message : String(x)).split("\n")[0];
  const cause = e instanceof Error && e.cause !== undefined ? `: ${text(e.cause)}` : "";
  return text(e) + cause;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

if (import.meta.main) {
  await startOrExit("members", async () => {
    const env = envFrom("process");
    const raw = env("REPLICA_URLS");
    await runMembers(Deno.args, {
      urls: raw === undefined ? DEFAULT_URLS : urlList(raw, "REPLICA_URLS"),
      token: token(env),
      print: (line) => console.log(line),
    });
  });
}
