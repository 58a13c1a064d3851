/**
 * One simulated run per seed: a fault phase with client traffic, then a
 * liveness phase on a healed, quiet cluster that must elect a leader, commit
 * a new stroke and bring every node up to date within a bounded time.
 */
import { RaftNode } from "../../replica/raft/node.ts";
import { Clients } from "./client.ts";
import { Faults } from "./faults.ts";
import { SimNetwork } from "./network.ts";
import { drawProfile, type Profile, timing } from "./profile.ts";
import { deriveSeed, Prng } from "../testing/prng.ts";
import { Trace } from "./trace.ts";
import { SimViolation } from "./violation.ts";
import { type NodeFactory, type NodeTuning, World } from "./world.ts";

/** What to run; everything not given is drawn from the seed. */
export interface SimOptions {
  seed: number;
  factory?: NodeFactory;
  nodeCount?: number;
  /** Keep every step of the trace, not only the last ones. */
  traceAll?: boolean;
}

/** The outcome of one seed. */
export interface SimResult {
  seed: number;
  violation: SimViolation | null;
  tick: number;
  /** The last steps before the end (all of them with traceAll); empty for a passing run. */
  trace: string[];
  stats: {
    terms: number;
    committed: number;
    acked: number;
    messages: number;
    dropped: number;
    crashes: number;
    wipes: number;
    /** Ticks from the end of the faults to the first commit of a new stroke (-1: never). */
    recoveryTicks: number;
  };
  profile: Profile;
}

/** Bound of each liveness stage: 10x the longest election timeout... */
const livenessBaseTicks = 10 * timing.electionTicksMax;
/** ...plus one slow round trip (quiet network: delays <= 3) per message a lagging follower needs. */
const roundTripTicks = 6;
const traceKeep = 50;

/** Runs one seed to the end or to its first violation. */
export async function runSeed(opts: SimOptions): Promise<SimResult> {
  const profile = drawProfile(opts.seed);
  if (opts.nodeCount) profile.nodeCount = opts.nodeCount;
  const trace = new Trace(traceKeep, opts.traceAll);
  const world = new World(
    opts.seed,
    profile.nodeCount,
    { ...timing, ...definedOnly(profile.tuning) },
    new SimNetwork(new Prng(deriveSeed(opts.seed, "network")), profile.network),
    trace,
    opts.factory ?? ((config, restored) => new RaftNode(config, restored)),
  );
  world.maxSyncTicks = profile.faults.maxSyncTicks;
  world.lateAnswerRate = profile.faults.lateAnswerRate;
  world.compaction = profile.compaction ?? undefined;
  const clients = new Clients(world);
  const faults = new Faults(world, profile.faults, profile.midInstallCrashRate);
  world.hooks.onApplied = (s, e) => clients.applied(s, e);
  world.hooks.onCrash = (s) => clients.crashed(s);

  let violation: SimViolation | null = null;
  let recoveryTicks = -1;
  try {
    for (const s of world.slots) world.start(s);
    while (world.now < profile.faultTicks) {
      await step(world, faults);
      clients.step(profile.proposalRate);
    }
    faults.stop();
    recoveryTicks = await liveness(world, faults, clients, livenessBound(world, profile.tuning));
  } catch (err) {
    violation = err instanceof SimViolation ? err : new SimViolation(
      "core-crash",
      err instanceof Error ? err.stack ?? err.message : String(err),
    );
  }
  world.close();
  if (violation) trace.add(world.now, () => `VIOLATION ${violation!.message}`);
  const net = world.network.stats();
  return {
    seed: opts.seed,
    violation,
    tick: world.now,
    trace: violation || opts.traceAll ? trace.format() : [],
    stats: {
      terms: world.checker.leaders.size,
      committed: world.checker.committed.length,
      acked: clients.acked.size,
      messages: net.sent,
      dropped: net.dropped,
      crashes: world.crashes,
      wipes: world.wipes,
      recoveryTicks,
    },
    profile,
  };
}

/** One tick: faults, timers (and completed fsyncs), arrivals, then every loop they kicked. */
async function step(world: World, faults: Faults): Promise<void> {
  world.now++;
  faults.step();
  world.tickNodes();
  world.deliver();
  await world.settle();
  world.check();
}

/** Ticks allowed per liveness stage: a base, plus the messages the longest log needs to ship. */
function livenessBound(world: World, tuning: NodeTuning): number {
  const longestLog = Math.max(...world.slots.map((s) => s.log.length));
  // The core's defaults are 1024 entries per append and 8192 per bulk sync.
  const perMessage = Math.min(tuning.maxEntriesPerAppend ?? 1024, tuning.maxEntriesPerSync ?? 8192);
  return livenessBaseTicks + roundTripTicks * Math.ceil(longestLog / perMessage);
}

/** After the faults: a new stroke commits, then every node catches up, each within the bound. */
async function liveness(
  world: World,
  faults: Faults,
  clients: Clients,
  boundTicks: number,
): Promise<number> {
  const healedAt = world.now;
  const id = "liveness";
  let lastTry = -Infinity;
  while (!clients.acked.has(id)) {
    if (world.now - healedAt > boundTicks) {
      const roles = world.slots.map((s) => `${s.id}=${s.role}@${s.hard.term}`).join(" ");
      throw new SimViolation(
        "liveness",
        `no new commit ${boundTicks} ticks after healing (${roles})`,
      );
    }
    if (world.now - lastTry >= 2 * timing.heartbeatTicks) {
      lastTry = world.now;
      clients.propose([id]);
    }
    await step(world, faults);
  }
  const recovered = world.now - healedAt;
  const target = Math.max(...world.slots.map((s) => s.commitIndex));
  const caughtUpBy = world.now + boundTicks;
  while (world.slots.some((s) => s.appliedIndex < target)) {
    if (world.now > caughtUpBy) {
      const lag = world.slots.map((s) => `${s.id}=${s.appliedIndex}`).join(" ");
      throw new SimViolation("liveness", `nodes not caught up to ${target} in time (${lag})`);
    }
    await step(world, faults);
  }
  return recovered;
}

function definedOnly(tuning: NodeTuning): NodeTuning {
  return Object.fromEntries(Object.entries(tuning).filter(([, v]) => v !== undefined));
}
