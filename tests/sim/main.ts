/**
 * `deno task sim`: runs seeds through the simulator.
 *   SEEDS=n (default 1000) runs seeds 1..n; SEEDS=a..b runs a..b.
 *   SEED=s replays one seed; SIM_TRACE=1 prints its whole trace.
 * Exits non-zero on any violation, printing the seed and the last steps before it.
 */
import { ciSeeds } from "./profile.ts";
import { runSeed, type SimResult } from "./run.ts";

function seedsToRun(): number[] {
  const one = Deno.env.get("SEED");
  if (one !== undefined) return [parseSeed(one)];
  const spec = Deno.env.get("SEEDS") ?? String(ciSeeds);
  const range = spec.match(/^(\d+)\.\.(\d+)$/);
  const [from, to] = range ? [parseSeed(range[1]), parseSeed(range[2])] : [1, parseSeed(spec)];
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

function parseSeed(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0 || n > 0xffffffff) {
    console.error(`not a seed (0..2^32-1): ${text}`);
    Deno.exit(2);
  }
  return n;
}

function describe(r: SimResult): string {
  const { network: n, faults: f, nodeCount, flavour } = r.profile;
  const st = r.stats;
  return `seed ${r.seed}: ${nodeCount} nodes (${flavour}), ${r.tick} ticks, ` +
    `${st.terms} terms led, ${st.committed} committed, ${st.acked} acked, ${st.messages} messages ` +
    `(drop ${n.dropRate}, dup ${n.dupRate}, delay<=${n.maxDelayTicks}), ${st.crashes} crashes, ` +
    `${st.wipes} wipes (partition rate ${f.partitionRate}), recovered in ${st.recoveryTicks} ticks` +
    (st.membership
      ? `; membership from ${r.profile.membership!.initialVoters} voters: ` +
        `${st.membership.proposed} changes proposed, ${st.membership.refused} refused, ` +
        `${st.membership.retired} removed members stopped`
      : "");
}

const seeds = seedsToRun();
const traceAll = Deno.env.get("SIM_TRACE") === "1";
const started = performance.now();
let violations = 0;
for (const seed of seeds) {
  const r = await runSeed({ seed, traceAll: traceAll && seeds.length === 1 });
  if (seeds.length === 1) {
    if (traceAll) console.log(r.trace.join("\n"));
    console.log(describe(r));
  }
  if (!r.violation) continue;
  violations++;
  console.log(`\nVIOLATION seed ${seed} at tick ${r.tick}: ${r.violation.message}`);
  if (!traceAll) console.log(r.trace.join("\n"));
  console.log(`replay: SEED=${seed} deno task sim   (SIM_TRACE=1 for the whole trace)\n`);
}
const seconds = (performance.now() - started) / 1000;
console.log(`${(seeds.length / seconds).toFixed(1)} seeds/s`);
console.log(`${seeds.length} seeds, ${violations} violations`);
if (violations > 0) Deno.exit(1);
