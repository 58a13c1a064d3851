/**
 * A strict parser of the Prometheus text exposition format (0.0.4), for tests: it throws on
 * anything the format does not allow (a sample before its TYPE, a family split in two, a
 * duplicate series, a bad escape, a counter without `_total`, a histogram whose buckets go
 * down or whose `+Inf` bucket is not its count), so a test that parses a `/metrics` answer
 * checks the format as well as the values. Written independently of `common/metrics.ts`.
 */

/** One sample line. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** One metric family: its TYPE, HELP and samples. */
export interface Family {
  name: string;
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  help: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

function fail(n: number, line: string, why: string): never {
  throw new Error(`metrics line ${n}: ${why}: ${JSON.stringify(line)}`);
}

function parseValue(text: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return NaN;
  return Number(text);
}

/** Parses `{a="x",b="y"}` at the start of `s`; returns the labels and the rest. */
function parseLabels(s: string, n: number, line: string): [Record<string, string>, string] {
  const labels: Record<string, string> = {};
  let i = 1;
  while (s[i] !== "}") {
    const m = LABEL.exec(s.slice(i));
    if (!m) fail(n, line, "bad label name");
    const key = m[0];
    i += key.length;
    if (s[i] !== "=" || s[i + 1] !== '"') fail(n, line, `label ${key} needs ="value"`);
    i += 2;
    let v = "";
    for (;;) {
      const c = s[i++];
      if (c === undefined) fail(n, line, "unterminated label value");
      if (c === '"') break;
      if (c === "\n") fail(n, line, "raw line feed in label value");
      if (c === "\\") {
        const e = s[i++];
        if (e === "n") v += "\n";
        else if (e === "\\" || e === '"') v += e;
        else fail(n, line, `bad escape \\${e}`);
      } else v += c;
    }
    if (key in labels) fail(n, line, `label ${key} twice`);
    labels[key] = v;
    if (s[i] === ",") i++;
    else if (s[i] !== "}") fail(n, line, "expected , or } after a label");
  }
  return [labels, s.slice(i + 1)];
}

/** The family a sample name belongs to (histogram samples carry a suffix). */
function familyOf(name: string, families: Map<string, Family>): Family | undefined {
  const f = families.get(name);
  if (f) return f;
  const base = name.replace(/_(bucket|sum|count)$/, "");
  const h = families.get(base);
  return h && (h.type === "histogram" || h.type === "summary") ? h : undefined;
}

/** Parses a whole exposition; throws on the first violation. */
export function parseMetrics(text: string): Map<string, Family> {
  if (text !== "" && !text.endsWith("\n")) throw new Error("metrics text must end in a line feed");
  const families = new Map<string, Family>();
  const series = new Set<string>();
  let current: Family | undefined;
  const lines = text.split("\n").slice(0, -1);
  lines.forEach((line, i) => {
    const n = i + 1;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) ([^ ]+) ?(.*)$/.exec(line);
      if (!m) return; // a plain comment
      const [, kind, name, rest] = m;
      if (!NAME.test(name) || NAME.exec(name)![0] !== name) fail(n, line, "bad metric name");
      let f = families.get(name);
      if (f && f !== current) fail(n, line, `family ${name} is split`);
      if (!f) {
        families.set(name, f = { name, type: "untyped", help: "", samples: [] });
        current = f;
      }
      if (kind === "TYPE") {
        if (!TYPES.has(rest)) fail(n, line, "unknown type");
        if (f.samples.length > 0) fail(n, line, "TYPE after samples");
        f.type = rest as Family["type"];
        if (f.type === "counter" && !name.endsWith("_total")) {
          fail(n, line, "a counter's name should end in _total");
        }
      } else {
        if (/\\[^n\\]/.test(rest.replace(/\\\\/g, ""))) fail(n, line, "bad escape in HELP");
        f.help = rest.replace(/\\n/g, "\n").replace(/\\\\/g, "\\");
      }
      return;
    }
    if (line.trim() === "") return;
    const m = NAME.exec(line);
    if (!m) fail(n, line, "bad sample name");
    const name = m[0];
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith("{")) [labels, rest] = parseLabels(rest, n, line);
    const parts = rest.split(" ");
    if (parts[0] !== "" || parts.length < 2 || parts.length > 3) fail(n, line, "bad value");
    const value = parseValue(parts[1]);
    if (Number.isNaN(value) && parts[1] !== "NaN") fail(n, line, "bad value");
    if (parts[2] !== undefined && !/^-?\d+$/.test(parts[2])) fail(n, line, "bad timestamp");
    const f = familyOf(name, families);
    if (!f) fail(n, line, "sample without a TYPE or HELP");
    if (f !== current) fail(n, line, `family ${f.name} is split`);
    const key = name + JSON.stringify(Object.entries(labels).sort());
    if (series.has(key)) fail(n, line, "duplicate series");
    series.add(key);
    if (f.type === "counter" && !(value >= 0)) fail(n, line, "negative counter");
    if (f.type === "histogram" && name === f.name) fail(n, line, "histogram sample without suffix");
    f.samples.push({ name, labels, value });
  });
  for (const f of families.values()) if (f.type === "histogram") checkHistogram(f);
  return families;
}

/** Buckets cumulative and non-decreasing, `+Inf` present and equal to `_count`. */
function checkHistogram(f: Family): void {
  const groups = new Map<string, Sample[]>();
  for (const s of f.samples) {
    const { le: _le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    groups.set(key, [...groups.get(key) ?? [], s]);
  }
  for (const [key, samples] of groups) {
    const buckets = samples.filter((s) => s.name === `${f.name}_bucket`);
    if (buckets.some((b) => b.labels.le === undefined)) {
      throw new Error(`${f.name}${key}: a bucket without le`);
    }
    const les = buckets.map((b) => parseValue(b.labels.le));
    if (les.some((v, i) => Number.isNaN(v) || (i > 0 && v <= les[i - 1]))) {
      throw new Error(`${f.name}${key}: bucket bounds not increasing`);
    }
    if (buckets.some((b, i) => i > 0 && b.value < buckets[i - 1].value)) {
      throw new Error(`${f.name}${key}: bucket counts go down`);
    }
    const inf = buckets.at(-1);
    const count = samples.find((s) => s.name === `${f.name}_count`);
    const sum = samples.find((s) => s.name === `${f.name}_sum`);
    if (!inf || inf.labels.le !== "+Inf") throw new Error(`${f.name}${key}: no +Inf bucket`);
    if (!count || !sum) throw new Error(`${f.name}${key}: _count or _sum missing`);
    if (count.value !== inf.value) throw new Error(`${f.name}${key}: +Inf bucket is not _count`);
  }
}

/** The value of one series (labels matched exactly), or undefined. */
export function valueOf(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const f = familyOf(name, families);
  const want = JSON.stringify(Object.entries(labels).sort());
  return f?.samples.find((s) =>
    s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want
  )?.value;
}

/** The sum of every series of a sample name (all label sets). */
export function sumOf(families: Map<string, Family>, name: string): number {
  const f = familyOf(name, families);
  return (f?.samples ?? []).filter((s) => s.name === name).reduce((a, s) => a + s.value, 0);
}
