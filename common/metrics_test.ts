import assert from "node:assert/strict";
import { escapeLabelValue, LATENCY_BUCKETS_S, Registry } from "./metrics.ts";
import { parseMetrics, valueOf } from "../tests/testing/prom_text.ts";

Deno.test("registry: counters, gauges and histograms parse back strictly", () => {
  const r = new Registry();
  const c = r.counter("x_requests_total", "Requests\nby code \\ class.");
  c.inc({ code: "400" });
  c.inc({ code: "400" }, 2);
  c.inc({ code: "413" });
  let read = 7;
  r.gauge("x_term", "Term.", () => read);
  r.gauge("x_role", "Role.", () => [[{ role: "leader" }, 1], [{ role: "follower" }, 0]]);
  const h = r.histogram("x_latency_seconds", "Latency.", LATENCY_BUCKETS_S);
  h.observe(0.003);
  h.observe(0.2, {}, 3);
  h.observe(20);
  const fam = parseMetrics(r.text());
  assert.equal(fam.get("x_requests_total")?.help, "Requests\nby code \\ class.");
  assert.equal(valueOf(fam, "x_requests_total", { code: "400" }), 3);
  assert.equal(valueOf(fam, "x_requests_total", { code: "413" }), 1);
  assert.equal(valueOf(fam, "x_term"), 7);
  assert.equal(valueOf(fam, "x_role", { role: "leader" }), 1);
  assert.equal(valueOf(fam, "x_latency_seconds_bucket", { le: "0.0025" }), 0);
  assert.equal(valueOf(fam, "x_latency_seconds_bucket", { le: "0.005" }), 1);
  assert.equal(valueOf(fam, "x_latency_seconds_bucket", { le: "0.25" }), 4);
  assert.equal(valueOf(fam, "x_latency_seconds_bucket", { le: "10" }), 4);
  assert.equal(valueOf(fam, "x_latency_seconds_bucket", { le: "+Inf" }), 5);
  assert.equal(valueOf(fam, "x_latency_seconds_count"), 5);
  assert.ok(Math.abs(valueOf(fam, "x_latency_seconds_sum")! - 20.603) < 1e-9);
  read = 8;
  assert.equal(valueOf(parseMetrics(r.text()), "x_term"), 8);
});

Deno.test("registry: label values are escaped and come back unchanged", () => {
  const r = new Registry();
  const nasty = 'a"b\\c\nd}{,=';
  r.counter("y_total", "Y.").inc({ v: nasty });
  assert.equal(escapeLabelValue(nasty), 'a\\"b\\\\c\\nd}{,=');
  assert.equal(valueOf(parseMetrics(r.text()), "y_total", { v: nasty }), 1);
});

Deno.test("registry: refuses what the format cannot carry", () => {
  const r = new Registry();
  assert.throws(() => r.counter("bad-name_total", "."));
  assert.throws(() => r.counter("no_suffix", "."));
  r.gauge("g", ".");
  assert.throws(() => r.gauge("g", "."), /twice/);
  assert.throws(() => r.counter("z_total", ".").inc({ "1x": "v" }), /label name/);
  assert.throws(() => r.counter("w_total", ".").inc({}, -1), /down/);
  assert.throws(() => r.histogram("h", ".", [1, 1]), /increasing/);
});

Deno.test("parser: refuses malformed expositions", () => {
  const bad = [
    "x 1\n", // no TYPE
    '# TYPE x gauge\nx{a="1"} 1\nx{a="1"} 2\n', // duplicate series
    '# TYPE x gauge\nx{a="\\t"} 1\n', // bad escape
    '# TYPE x gauge\nx 1\n# TYPE y gauge\ny 1\nx{b="2"} 1\n', // split family
    "# TYPE x_total counter\nx_total -1\n", // negative counter
    "# TYPE x gauge\nx one\n", // bad value
    "# TYPE x gauge\nx 1", // no final line feed
    '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
    '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n',
  ];
  for (const text of bad) assert.throws(() => parseMetrics(text), Error, text);
});
