/** One-line structured logs: `[gateway] event=leader_changed leader=replica2 term=4`. */

/** Log levels, quietest last. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Extra `key=value` pairs of a log line. */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

/** What every gateway module logs through. */
export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Formats one event as a single line; values with spaces or quotes are JSON-quoted. */
export function formatLine(event: string, fields: LogFields = {}): string {
  let line = `[gateway] event=${event}`;
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const text = String(value);
    line += ` ${key}=${/^[^\s"=]+$/.test(text) ? text : JSON.stringify(text)}`;
  }
  return line;
}

/** A logger that drops events below `level` and hands each line to `write`. */
export function createLogger(
  level: LogLevel,
  write: (line: string, level: LogLevel) => void = (line, lvl) =>
    lvl === "error" || lvl === "warn" ? console.error(line) : console.log(line),
): Logger {
  const at = (lvl: LogLevel) => (event: string, fields?: LogFields) => {
    if (RANK[lvl] >= RANK[level]) write(formatLine(event, fields), lvl);
  };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}
