/**
 * The simulator must catch a core that breaks Raft's safety rules: each
 * mutant overrides one rule of RaftNode (in the harness only) and must produce
 * a safety violation within the CI seeds. Failures of the core itself must
 * come back as violations of the run, not as a crash of the runner.
 */
import assert from "node:assert/strict";
import { RaftNode } from "../../replica/raft/node.ts";
import {
  type Message,
  type RaftConfig,
  RaftInvariantError,
  type RestoredState,
} from "../../replica/raft/types.ts";
import { ciSeeds, drawProfile, type Flavour, type Profile } from "./profile.ts";
import { type Member, voterIds } from "../../replica/raft/membership.ts";
import { runSeed, type SimResult } from "./run.ts";
import type { NodeFactory } from "./world.ts";
import type { ViolationKind } from "./violation.ts";

/** Grants votes without Raft 5.4.1's up-to-date check. */
class VotesForStaleLogs extends RaftNode {
  protected override logIsUpToDate(_lastIndex: number, _lastTerm: number): boolean {
    return true;
  }
}

/** Commits entries of older terms by counting replicas (Raft's Figure 8). */
class CommitsOlderTermsByCounting extends RaftNode {
  protected override mayCommit(_index: number): boolean {
    return true;
  }
}

/** Lets every message leave before its Ready is durable, votes and acks included. */
class AnswersBeforePersisting extends RaftNode {
  protected override mayLeaveBeforePersist(): boolean {
    return true;
  }
}

/** Installs any snapshot a leader sends, even one at or below its commit index (a stale one). */
class InstallsStaleSnapshots extends RaftNode {
  protected override mayIgnoreSnapshot(): boolean {
    return false;
  }
}

/** Accepts a change that adds two voters at once (thesis 4.1: one server at a time). */
class AddsTwoVotersAtOnce extends RaftNode {
  protected override changeRefusal(from: readonly Member[], to: readonly Member[]): string | null {
    const before = new Set(voterIds(from));
    const added = voterIds(to).filter((id) => !before.has(id));
    const kept = voterIds(from).every((id) => to.some((m) => m.id === id && m.voter));
    if (added.length === 2 && kept) return null;
    return super.changeRefusal(from, to);
  }
}

/**
 * Learners take part in elections: asked for their votes, counted, and in
 * the size of the majority (only voters' votes make one). Overriding
 * `countsVote` alone is no mutant the simulator can see: votes are asked of
 * voters only, and a (pre)candidate's configuration cannot change while it
 * campaigns, so a learner's vote reaches one only when an answer outlives
 * a configuration change within one term (see tests/sim/README.md).
 */
class LearnersVote extends RaftNode {
  protected override countsVote(): boolean {
    return true;
  }
  protected override voters(): string[] {
    return this.members().map((m) => m.id);
  }
}

const safetyKinds = new Set<ViolationKind>([
  "membership",
  "state-machine-regressed",
  "persist-before-send",
  "election-safety",
  "log-matching",
  "leader-completeness",
  "state-machine-safety",
  "acknowledged-lost",
  "commit-not-durable",
  "commit-regressed",
  "core-invariant",
]);

/** The first seed up to `seeds` (of `flavour`, and that `pick` selects) on which the mutant, but not the real core, breaks a safety property. */
async function firstCatch(
  factory: NodeFactory,
  flavour?: Flavour,
  pick: (p: Profile) => boolean = () => true,
  seeds = ciSeeds,
): Promise<SimResult | null> {
  for (let seed = 1; seed <= seeds; seed++) {
    const profile = drawProfile(seed);
    if ((flavour && profile.flavour !== flavour) || !pick(profile)) continue;
    const r = await runSeed({ seed, factory });
    if (!r.violation || !safetyKinds.has(r.violation.kind)) continue;
    if (!(await runSeed({ seed })).violation) return r;
  }
  return null;
}

/** Only seeds with membership changes can tell these mutants from the real core. */
const changesMembers = (p: Profile) => p.membership !== null;

Deno.test("mutant: votes without the up-to-date check (5.4.1) is caught", async () => {
  const r = await firstCatch((config, restored) => new VotesForStaleLogs(config, restored));
  assert.ok(r, `not caught in ${ciSeeds} seeds`);
  console.log(`  caught at seed ${r.seed}: ${r.violation!.message}`);
});

Deno.test("mutant: commits older-term entries by counting (Figure 8) is caught", async () => {
  const r = await firstCatch((config, restored) =>
    new CommitsOlderTermsByCounting(config, restored)
  );
  assert.ok(r, `not caught in ${ciSeeds} seeds`);
  console.log(`  caught at seed ${r.seed}: ${r.violation!.message}`);
});

Deno.test("mutant: installs a stale snapshot (at or below its commit index) is caught", async () => {
  // Stale snapshots are rare since a leader keeps the log its followers need
  // (raft/compaction.ts): fewer snapshots ship. First caught at seed 1211.
  const seeds = 2 * ciSeeds;
  const r = await firstCatch(
    (config, restored) => new InstallsStaleSnapshots(config, restored),
    undefined,
    undefined,
    seeds,
  );
  assert.ok(r, `not caught in ${seeds} seeds`);
  console.log(`  caught at seed ${r.seed}: ${r.violation!.message}`);
});

Deno.test("mutant: accepts a change that adds two voters at once is caught", async () => {
  const r = await firstCatch(
    (config, restored) => new AddsTwoVotersAtOnce(config, restored),
    undefined,
    changesMembers,
  );
  assert.ok(r, `not caught in ${ciSeeds} seeds`);
  console.log(`  caught at seed ${r.seed}: ${r.violation!.message}`);
});

Deno.test("mutant: learners vote in elections is caught", async () => {
  const r = await firstCatch(
    (config, restored) => new LearnersVote(config, restored),
    undefined,
    changesMembers,
  );
  assert.ok(r, `not caught in ${ciSeeds} seeds`);
  console.log(`  caught at seed ${r.seed}: ${r.violation!.message}`);
});

/** A node that fails on its `failAt`-th tick with `error`. */
function failingOnTick(failAt: number, error: () => Error): NodeFactory {
  return (config, restored) =>
    new class extends RaftNode {
      #ticks = 0;
      override tick(): void {
        if (++this.#ticks === failAt) throw error();
        super.tick();
      }
    }(config, restored);
}

Deno.test("mutant: answers before they are durable (votes, acks) is caught", async () => {
  const r = await firstCatch((config, restored) => new AnswersBeforePersisting(config, restored));
  assert.ok(r, `not caught in ${ciSeeds} seeds`);
  console.log(`  caught at seed ${r.seed}: ${r.violation!.message}`);
});

/** Steps some heartbeats twice (two answers to one request) or not at all (none). */
class MisanswersHeartbeats extends RaftNode {
  constructor(config: RaftConfig, restored: RestoredState | undefined, readonly twice: boolean) {
    super(config, restored);
  }
  override step(m: Message): void {
    if (m.type !== "heartbeat" || m.leaderCommit <= 3) return super.step(m);
    if (!this.twice) return;
    super.step(m);
    super.step(m);
  }
}

Deno.test("mutants: a request answered twice, or never, breaks the RPC contract", async () => {
  for (const twice of [true, false]) {
    let caught: SimResult | null = null;
    for (let seed = 1; seed <= 20 && !caught; seed++) {
      const r = await runSeed({
        seed,
        factory: (config, restored) => new MisanswersHeartbeats(config, restored, twice),
      });
      if (r.violation) caught = r;
    }
    assert.ok(caught, `${twice ? "double" : "missing"} answers not caught`);
    assert.match(caught.violation!.message, twice ? /answer to no pending request/ : /unanswered/);
  }
});

Deno.test("core assertions surface as violations with a trace", async () => {
  const r = await runSeed({
    seed: 3,
    factory: failingOnTick(40, () => new RaftInvariantError("planted by the test")),
  });
  assert.equal(r.violation?.kind, "core-invariant");
  assert.match(r.violation!.message, /planted by the test/);
  assert.ok(r.trace.length > 10);
  assert.match(r.trace.at(-1)!, /VIOLATION core-invariant/);
});

Deno.test("other exceptions of the core surface as core-crash violations", async () => {
  const r = await runSeed({
    seed: 3,
    factory: failingOnTick(40, () => new TypeError("planted bug")),
  });
  assert.equal(r.violation?.kind, "core-crash");
  assert.match(r.violation!.message, /planted bug/);
});
