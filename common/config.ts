/**
 * The one configuration toolkit of every process (CONTRACT.md, "Processes,
 * tasks and configuration"): the same rules for empty variables, the same
 * parsers for ports, URLs and integers, and one `ConfigError` that a process
 * prints as a single line before it exits 1.
 */

/** A configuration problem worth one line on stderr. */
export class ConfigError extends Error {}

/** Reads one variable; an empty value counts as unset (so `PEERS=` means "use the default"). */
export type Env = (name: string) => string | undefined;

/** An `Env` over a plain object (tests) or over the process environment (main). */
export function envFrom(source: Record<string, string | undefined> | "process"): Env {
  const get = source === "process" ? (k: string) => Deno.env.get(k) : (k: string) => source[k];
  return (name) => {
    const raw = get(name)?.trim();
    return raw === undefined || raw === "" ? undefined : raw;
  };
}

/** A positive integer (milliseconds, counts), or the fallback when unset. */
export function positiveInt(env: Env, key: string, fallback: number): number {
  const raw = env(key);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n <= 0) {
    throw new ConfigError(`${key} must be a positive integer, got "${raw}"`);
  }
  return n;
}

/** A TCP port 1-65535 (0 too when `allowZero`: pick a free one), or the fallback when unset. */
export function port(env: Env, key: string, fallback: number, allowZero = false): number {
  const raw = env(key);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n > 65535 || (n === 0 && !allowZero)) {
    throw new ConfigError(`${key} must be a port number ${allowZero ? 0 : 1}-65535, got "${raw}"`);
  }
  return n;
}

/**
 * Checks one URL of one of the given schemes and normalizes it to
 * `scheme://host:port[/path]` without a trailing slash, so paths can be appended.
 */
export function url(text: string, key: string, schemes: readonly string[]): string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new ConfigError(`${key}: "${text}" is not a URL`);
  }
  if (!schemes.includes(u.protocol.slice(0, -1))) {
    throw new ConfigError(
      `${key}: "${text}" must be a ${schemes.map((s) => s + "://").join(" or ")} URL`,
    );
  }
  if (u.search || u.hash || u.username || u.password) {
    throw new ConfigError(`${key}: "${text}" must not carry a query, fragment or user`);
  }
  return `${u.origin}${u.pathname.replace(/\/+$/, "")}`;
}

/** A comma-separated list of distinct http(s) URLs (PEERS, REPLICA_URLS). */
export function urlList(raw: string, key: string): string[] {
  const urls: string[] = [];
  for (const part of raw.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const u = url(part, key, ["http", "https"]);
    if (urls.includes(u)) throw new ConfigError(`${key} lists "${u}" twice`);
    urls.push(u);
  }
  return urls;
}

/**
 * CLUSTER_TOKEN: unset, or printable ASCII without spaces (it travels in a header). It may come
 * from a file instead (`CLUSTER_TOKEN_FILE`, its first line), so that compose's services share a
 * token generated once without it being written into the environment of every container.
 */
export function token(env: Env, key = "CLUSTER_TOKEN"): string | null {
  const fileKey = `${key}_FILE`;
  const path = env(fileKey);
  let raw = env(key);
  if (raw !== undefined && path !== undefined) {
    throw new ConfigError(`set ${key} or ${fileKey}, not both`);
  }
  if (path !== undefined) {
    raw = readConfigFile(path, fileKey).split("\n")[0].trim();
    if (raw === "") throw new ConfigError(`${fileKey}: "${path}" holds no token`);
  }
  if (raw === undefined) return null;
  if (!/^[\x21-\x7e]+$/.test(raw)) {
    throw new ConfigError(`${path ? fileKey : key} must be printable ASCII without spaces`);
  }
  return raw;
}

/** A file named by a variable, or a one-line ConfigError saying why it cannot be read. */
export function readConfigFile(path: string, key: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).message;
    throw new ConfigError(`${key}: cannot read "${path}": ${why.split("\n")[0]}`);
  }
}

/** True for a host only this machine can reach: `localhost`, 127.0.0.0/8, `::1`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  return h === "localhost" || h === "::1" || /^127(\.\d{1,3}){3}$/.test(h);
}

/** PEM certificate chain and private key a server presents (Deno.serve's `cert` and `key`). */
export interface TlsFiles {
  cert: string;
  key: string;
}

/**
 * TLS_CERT and TLS_KEY: paths of PEM files, read now. Both or neither: without them a process
 * serves plain HTTP.
 */
export function tls(env: Env): TlsFiles | null {
  const certPath = env("TLS_CERT");
  const keyPath = env("TLS_KEY");
  if (certPath === undefined && keyPath === undefined) return null;
  if (certPath === undefined || keyPath === undefined) {
    throw new ConfigError("TLS_CERT and TLS_KEY go together: set both or neither");
  }
  const cert = readConfigFile(certPath, "TLS_CERT");
  const key = readConfigFile(keyPath, "TLS_KEY");
  if (!cert.includes("-----BEGIN CERTIFICATE-----")) {
    throw new ConfigError(`TLS_CERT: "${certPath}" is not a PEM certificate`);
  }
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) {
    throw new ConfigError(`TLS_KEY: "${keyPath}" is not a PEM private key`);
  }
  return { cert, key };
}

/** Log levels, quietest last. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
/** One of `LOG_LEVELS`. */
export type LogLevel = typeof LOG_LEVELS[number];

/** LOG_LEVEL (default info). */
export function logLevel(env: Env): LogLevel {
  const raw = env("LOG_LEVEL")?.toLowerCase() ?? "info";
  const level = LOG_LEVELS.find((l) => l === raw);
  if (!level) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}`);
  return level;
}

/**
 * Runs a process's start-up; whatever stops it there (a bad configuration, a
 * port in use, a refused permission, a damaged data dir) becomes one line
 * `name: reason` and exit code 1, never a stack trace.
 */
export async function startOrExit(name: string, start: () => unknown): Promise<void> {
  try {
    await start();
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    console.error(`${name}: ${message.split("\n")[0]}`);
    Deno.exit(1);
  }
}
