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
import { type NodeFactory, type NodeTuning, type Slot, World } from "./world.ts";
import { MembershipOperator, type MembershipStats } from "./membership.ts";
import { describeMembers } from "./checker.ts";
import type { Member } from "../../replica/raft/membership.ts";

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
    membership: MembershipStats | null;
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
    profile.membership?.initialVoters ?? profile.nodeCount,
  );
  world.maxSyncTicks = profile.faults.maxSyncTicks;
  world.lateAnswerRate = profile.faults.lateAnswerRate;
  world.compaction = profile.compaction ?? undefined;
  const clients = new Clients(world);
  const faults = new Faults(world, profile.faults, profile.midInstallCrashRate);
  const operator = profile.membership ? new MembershipOperator(world, profile.membership) : null;
  world.hooks.onApplied = (s, e) => clients.applied(s, e);
  world.hooks.onCrash = (s) => clients.crashed(s);

  let violation: SimViolation | null = null;
  let recoveryTicks = -1;
  try {
    for (const s of world.slots) if (!s.out) world.start(s);
    while (world.now < profile.faultTicks) {
      await step(world, faults, operator);
      clients.step(profile.proposalRate);
    }
    operator?.stop();
    faults.stop();
    const bound = livenessBound(world, profile.tuning);
    recoveryTicks = await liveness(world, faults, operator, clients, bound);
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
      membership: operator?.stats ?? null,
    },
    profile,
  };
}

/** One tick: faults, timers (and completed fsyncs), arrivals, then every loop they kicked. */
async function step(
  world: World,
  faults: Faults,
  operator: MembershipOperator | null,
): Promise<void> {
  world.now++;
  faults.step();
  operator?.step();
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

/**
 * After the faults: a new stroke commits, then every member (of the
 * committed configuration) catches up, each within the bound; then the
 * configuration is the same on all of them, and in their members tables.
 * Removed members that still run are left alone: they must not disrupt.
 */
async function liveness(
  world: World,
  faults: Faults,
  operator: MembershipOperator | null,
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
    await step(world, faults, operator);
  }
  const recovered = world.now - healedAt;
  const caughtUpBy = world.now + boundTicks;
  // A learner caught up now is promoted: wait for the configuration to settle too.
  for (;;) {
    const members = operator?.committedMembers() ?? world.slots.map((s) => ({ id: s.id }));
    const targets = world.slots.filter((s) => members.some((m) => m.id === s.id));
    const target = Math.max(...world.slots.map((s) => s.commitIndex));
    const lagging = targets.filter((s) => s.appliedIndex < target);
    const settled = lagging.length === 0 && (!operator || sameConfiguration(world, targets));
    if (settled) break;
    if (world.now > caughtUpBy) {
      const lag = targets.map((s) =>
        `${s.id}=${s.appliedIndex}` +
        (s.io ? ` [${sortedMembers(world.call(s, () => s.io!.node.members()))}]` : " down")
      ).join(" ");
      throw new SimViolation("liveness", `nodes not caught up to ${target} in time (${lag})`);
    }
    await step(world, faults, operator);
  }
  if (operator) checkFinalConfiguration(world, operator);
  return recovered;
}

/** Every target runs and holds the same configuration, committed. */
function sameConfiguration(world: World, targets: Slot[]): boolean {
  if (targets.some((s) => s.io === null)) return false;
  const views = targets.map((s) => {
    const st = world.call(s, () => s.io!.node.status());
    // (Its index is not compared: a restart from a snapshot point dates it at the point.)
    return st.configIndex <= st.commitIndex ? sortedMembers(st.members) : "";
  });
  return views.every((v) => v !== "" && v === views[0]);
}

/** The final configuration: one on all members, in force and in their members tables. */
function checkFinalConfiguration(world: World, operator: MembershipOperator): void {
  const members = operator.committedMembers();
  const want = sortedMembers(members);
  for (const m of members) {
    const s = world.slot(m.id);
    const got = s.io ? sortedMembers(world.call(s, () => s.io!.node.members())) : "(down)";
    const table = s.stateDb.members();
    if (got !== want || (table !== undefined && sortedMembers(table) !== want)) {
      throw new SimViolation(
        "membership",
        `final configuration ${want}, but ${s.id} has ${got} (table ${
          table ? sortedMembers(table) : "none"
        })`,
      );
    }
  }
}

/** A configuration as a string that does not depend on the order of its members. */
function sortedMembers(members: readonly Member[]): string {
  return describeMembers([...members].sort((a, b) => a.id < b.id ? -1 : 1));
}

function definedOnly(tuning: NodeTuning): NodeTuning {
  return Object.fromEntries(Object.entries(tuning).filter(([, v]) => v !== undefined));
}
