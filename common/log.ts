/**
 * The one log line format of every process, the seed's:
 * `[replica1] term=3 state=LEADER event=entry_committed index=47`,
 * `[gateway] event=leader_changed leader=replica2 term=4`.
 */
import type { LogLevel } from "./config.ts";

/** `key=value` pairs of a line, in order; undefined values are left out. */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

/** What every module logs through. */
export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** One line: `[name]` then the pairs; values with spaces, quotes or `=` are JSON-quoted. */
export function formatLine(name: string, fields: LogFields): string {
  let line = `[${name}]`;
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const text = String(value);
    line += ` ${key}=${/^[^\s"=]+$/.test(text) ? text : JSON.stringify(text)}`;
  }
  return line;
}

/** Where lines go: warnings and errors to stderr, the rest to stdout. */
function writeConsole(line: string, level: LogLevel): void {
  if (level === "error" || level === "warn") console.error(line);
  else console.log(line);
}

/**
 * A logger named `name` that drops events below `level`; `prefix` supplies
 * fields that come before `event` on every line (the replica's term and state).
 */
export function createLogger(
  name: string,
  level: LogLevel,
  write: (line: string, level: LogLevel) => void = writeConsole,
  prefix: () => LogFields = () => ({}),
): Logger {
  const at = (lvl: LogLevel) => (event: string, fields?: LogFields) => {
    if (RANK[lvl] >= RANK[level]) write(formatLine(name, { ...prefix(), event, ...fields }), lvl);
  };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}
