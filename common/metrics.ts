/**
 * A small metrics registry written out in the Prometheus text exposition format (version
 * 0.0.4): counters, gauges (set, or read at scrape time) and histograms with fixed buckets.
 * No dependency; replicas and the gateway each hold one and serve it at `GET /metrics`.
 * Label sets are given by the caller, so their values must come from small fixed sets
 * (roles, codes, peer ids), never from client input: each distinct set is a series forever.
 */

/** Label names to values of one series. */
export type Labels = Record<string, string>;

/** The `content-type` of `GET /metrics`. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A label value as the format wants it: backslash, double quote and line feed escaped. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** HELP text escapes backslash and line feed only. */
function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** A sample value: integers as such, infinities as `+Inf`/`-Inf`. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

function labelText(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return "";
  return `{${keys.map((k) => `${k}="${escapeLabelValue(labels[k])}"`).join(",")}}`;
}

function checkLabels(metric: string, labels: Labels): void {
  for (const k of Object.keys(labels)) {
    if (!LABEL.test(k) || k.startsWith("__") || k === "le") {
      throw new Error(`metric ${metric}: bad label name ${JSON.stringify(k)}`);
    }
  }
}

/** One metric family: writes its lines. */
interface Family {
  readonly name: string;
  lines(): string[];
}

abstract class Base implements Family {
  constructor(readonly name: string, readonly help: string, readonly type: string) {
    if (!NAME.test(name)) throw new Error(`bad metric name ${JSON.stringify(name)}`);
  }
  protected header(): string[] {
    return [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`];
  }
  abstract lines(): string[];
}

/** A value per label set; `key` is the rendered label text. */
class Series<T> {
  readonly byKey = new Map<string, T>();
  constructor(private readonly metric: string, private readonly make: () => T) {}
  get(labels: Labels): T {
    const key = labelText(labels);
    let v = this.byKey.get(key);
    if (v === undefined) {
      checkLabels(this.metric, labels);
      this.byKey.set(key, v = this.make());
    }
    return v;
  }
}

/** Only goes up (a restart starts it at 0 again: Prometheus's `rate` handles that). */
export class Counter extends Base {
  readonly #series = new Series(this.name, () => ({ v: 0 }));
  /** `initial`: label sets shown as 0 before anything is counted (so a rate starts at once). */
  constructor(name: string, help: string, initial: readonly Labels[] = [{}]) {
    super(name, help, "counter");
    if (!name.endsWith("_total")) throw new Error(`counter ${name} must end in _total`);
    for (const labels of initial) this.#series.get(labels);
  }
  inc(labels: Labels = {}, by = 1): void {
    if (!(by >= 0)) throw new Error(`counter ${this.name} cannot go down (by ${by})`);
    this.#series.get(labels).v += by;
  }
  /** The current value of one series (0 when never counted). */
  value(labels: Labels = {}): number {
    return this.#series.byKey.get(labelText(labels))?.v ?? 0;
  }
  lines(): string[] {
    const out = this.header();
    for (const [key, { v }] of this.#series.byKey) out.push(`${this.name}${key} ${formatValue(v)}`);
    return out;
  }
}

/** A value that goes up and down: set it, or give `collect` to read it at scrape time. */
export class Gauge extends Base {
  readonly #series = new Series(this.name, () => ({ v: 0 }));
  constructor(
    name: string,
    help: string,
    private readonly collect?: () => number | [Labels, number][],
  ) {
    super(name, help, "gauge");
  }
  set(v: number, labels: Labels = {}): void {
    this.#series.get(labels).v = v;
  }
  lines(): string[] {
    const out = this.header();
    const got = this.collect?.();
    if (typeof got === "number") this.set(got);
    else if (got) { for (const [labels, v] of got) this.set(v, labels); }
    for (const [key, { v }] of this.#series.byKey) out.push(`${this.name}${key} ${formatValue(v)}`);
    return out;
  }
}

interface HistogramData {
  counts: number[];
  sum: number;
  count: number;
}

/** Observations counted into fixed upper bounds (cumulative `le` buckets, then `+Inf`). */
export class Histogram extends Base {
  readonly #series: Series<HistogramData>;
  constructor(
    name: string,
    help: string,
    readonly buckets: readonly number[],
    initial: readonly Labels[] = [{}],
  ) {
    super(name, help, "histogram");
    if (buckets.length === 0 || buckets.some((b, i) => i > 0 && b <= buckets[i - 1])) {
      throw new Error(`histogram ${name}: buckets must be increasing`);
    }
    this.#series = new Series(name, () => ({ counts: buckets.map(() => 0), sum: 0, count: 0 }));
    for (const labels of initial) this.#series.get(labels);
  }
  /** Counts `v` (`times` observations of the same value: a batch of strokes). */
  observe(v: number, labels: Labels = {}, times = 1): void {
    const h = this.#series.get(labels);
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]) h.counts[i] += times;
    h.sum += v * times;
    h.count += times;
  }
  lines(): string[] {
    const out = this.header();
    for (const [key, h] of this.#series.byKey) {
      const inner = key.slice(1, -1);
      const le = (b: string) => `{${inner ? inner + "," : ""}le="${b}"}`;
      this.buckets.forEach((b, i) => {
        out.push(`${this.name}_bucket${le(formatValue(b))} ${h.counts[i]}`);
      });
      out.push(`${this.name}_bucket${le("+Inf")} ${h.count}`);
      out.push(`${this.name}_sum${key} ${formatValue(h.sum)}`);
      out.push(`${this.name}_count${key} ${h.count}`);
    }
    return out;
  }
}

/** Latency buckets in seconds, from 0.5 ms to 10 s. */
export const LATENCY_BUCKETS_S = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
] as const;

/** Size buckets in bytes, from 1 KiB to 1 GiB, by fours. */
export const SIZE_BUCKETS_BYTES = Array.from({ length: 11 }, (_, i) => 1024 * 4 ** i);

/** The metrics of one process, written in registration order. */
export class Registry {
  readonly #families = new Map<string, Family>();

  #add<T extends Family>(f: T): T {
    if (this.#families.has(f.name)) throw new Error(`metric ${f.name} registered twice`);
    this.#families.set(f.name, f);
    return f;
  }
  /** `initial`: the label sets shown (as 0) from the start; default the one unlabelled series. */
  counter(name: string, help: string, initial?: readonly Labels[]): Counter {
    return this.#add(new Counter(name, help, initial));
  }
  gauge(name: string, help: string, collect?: () => number | [Labels, number][]): Gauge {
    return this.#add(new Gauge(name, help, collect));
  }
  histogram(
    name: string,
    help: string,
    buckets: readonly number[],
    initial?: readonly Labels[],
  ): Histogram {
    return this.#add(new Histogram(name, help, buckets, initial));
  }
  /** The whole exposition, one family after another, ending in a line feed. */
  text(): string {
    return [...this.#families.values()].flatMap((f) => f.lines()).join("\n") + "\n";
  }
  /** `GET /metrics`. */
  response(): Response {
    return new Response(this.text(), { headers: { "content-type": METRICS_CONTENT_TYPE } });
  }
}
