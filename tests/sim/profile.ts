/**
 * What a seed decides before the run starts ("swarm testing"): cluster size,
 * network, Raft tuning, fault rates. Most seeds mix every fault at random
 * rates. Two flavours run longer and aim at interleavings that need several
 * unlucky events in a row: an election storm (leaders crash as they win or
 * commit, one entry per message: Raft's Figure 8), and disk loss (wiped
 * disks, paused leaders that wake up stale, partitions).
 */
import type { NetworkProfile } from "./network.ts";
import { deriveSeed, Prng } from "../testing/prng.ts";
import type { NodeTuning } from "./world.ts";
import type { CompactionPolicy } from "../../replica/driver.ts";

/** Per-tick probabilities and durations of faults. */
export interface FaultProfile {
  crashRate: number;
  /** Chance that a new leader crashes: half before its first Ready leaves, half a few heartbeats later. */
  leaderCrashRate: number;
  /** Chance that a leader crashes after persisting a Ready that commits entries, before sending it. */
  commitCrashRate: number;
  wipeRate: number;
  pauseRate: number;
  partitionRate: number;
  healRate: number;
  maxDownTicks: number;
  maxPauseTicks: number;
  /** Chance per tick that the leader is asked to hand leadership to a random peer. */
  transferRate: number;
  /** Longest fsync, in ticks (each takes 0..this many; 0: the disk is durable at once). */
  maxSyncTicks: number;
  /** Share of a wiped node's answers still on the wire that arrive only after its new life is caught up. */
  lateAnswerRate: number;
}

/** Membership changes of a run (see membership.ts). */
export interface MembershipProfile {
  /** Voters at the start; the other slots are spares the operator may add. */
  initialVoters: number;
  /** Chance per tick that the operator attempts a change. */
  rate: number;
  /** Share of additions that try to add two voters at once (the core must refuse them). */
  twoVoterShare: number;
  /** Longest time a removed member keeps running before it is stopped. */
  maxLingerTicks: number;
}

/** Which kind of run a seed is. */
export type Flavour = "mixed" | "storm" | "diskLoss" | "lateAnswers";

/** Everything a seed fixes about its run. */
export interface Profile {
  flavour: Flavour;
  nodeCount: number;
  faultTicks: number;
  /** Chance per tick that clients propose new strokes. */
  proposalRate: number;
  network: NetworkProfile;
  tuning: NodeTuning;
  faults: FaultProfile;
  /** Log compaction of every node (null: never), with small thresholds so that snapshots ship often. */
  compaction: CompactionPolicy | null;
  /** Chance that a node installing a snapshot crashes between its log rewrite and database swap. */
  midInstallCrashRate: number;
  /** Membership changes during the fault phase (null: the bootstrap configuration throughout). */
  membership: MembershipProfile | null;
}

/** Seeds every CI run replays (`deno task test`), and the default of `deno task sim`. */
export const ciSeeds = 1000;

/** Timing of every simulated node, in ticks. */
export const timing = { electionTicksMin: 10, electionTicksMax: 20, heartbeatTicks: 3 };

/** Draws the profile of a seed. */
export function drawProfile(seed: number): Profile {
  const prng = new Prng(deriveSeed(seed, "profile"));
  const draw = prng.float();
  const flavour: Flavour = draw < 0.25
    ? "storm"
    : draw < 0.4
    ? "diskLoss"
    : draw < 0.9
    ? "mixed"
    : "lateAnswers";
  const storm = flavour === "storm";
  const diskLoss = flavour === "diskLoss";
  const election = timing.electionTicksMax;
  const profile: Profile = {
    compaction: null,
    midInstallCrashRate: 0,
    membership: null,
    flavour,
    nodeCount: diskLoss ? 3 : prng.pick([3, 5]),
    faultTicks: flavour === "mixed" ? 600 : flavour === "storm" ? 2000 : 1500,
    proposalRate: prng.pick([0.05, 0.2, 0.5]),
    network: {
      dropRate: prng.pick([0, 0.01, 0.05, 0.2]),
      dupRate: prng.pick([0, 0.01, 0.05]),
      minDelayTicks: 1,
      maxDelayTicks: storm ? 3 : prng.pick([1, 3, 6, 15]),
    },
    tuning: {
      maxEntriesPerAppend: storm ? 1 : prng.pick([1, 2, 8, undefined]),
      maxEntriesPerSync: prng.pick([1, 4, undefined]),
      maxInflight: storm ? 1 : prng.pick([1, 2, undefined]),
      syncThreshold: prng.pick([2, 10, undefined]),
    },
    faults: {
      crashRate: diskLoss ? 0 : prng.pick([0, 0.002, 0.01, 0.03]),
      leaderCrashRate: storm ? 0.8 : prng.pick([0, 0.2, 0.6]),
      commitCrashRate: storm ? 0.3 : prng.pick([0, 0.01, 0.05]),
      wipeRate: diskLoss ? 0.03 : prng.pick([0, 0, 0.002, 0.01]),
      pauseRate: diskLoss ? 0.04 : prng.pick([0, 0.003, 0.01]),
      partitionRate: diskLoss ? 0.05 : prng.pick([0, 0.005, 0.02, 0.05]),
      healRate: diskLoss ? 0.05 : prng.pick([0.01, 0.05, 0.2]),
      maxDownTicks: (storm ? 2 : prng.pick([1, 2, 4])) * election,
      maxPauseTicks: (diskLoss ? 5 : prng.pick([1, 3])) * election,
      // Drawn last so that adding it left every other draw of a seed unchanged.
      transferRate: prng.pick([0, 0.005, 0.02]),
      maxSyncTicks: prng.pick([0, 0, 1, 3]),
      // Drawn last as well: every seed's other draws stay what they were.
      lateAnswerRate: prng.pick([0, 0.5, 1]),
    },
  };
  // Its own stream: every other draw of a seed stays what it was before compaction existed.
  const snap = new Prng(deriveSeed(seed, "compaction"));
  profile.compaction = snap.pick([
    null,
    { threshold: 4, retain: 1 },
    { threshold: 12, retain: 3 },
    { threshold: 40, retain: 10 },
  ]);
  profile.midInstallCrashRate = snap.pick([0, 0.2, 0.5]);
  // Half of the runs keep no entries for followers beyond `retain` (as before
  // the leader kept what its followers need): snapshots ship more often there.
  if (profile.compaction && snap.chance(0.5)) {
    profile.compaction = { ...profile.compaction, maxRetained: profile.compaction.retain };
  }
  if (flavour === "lateAnswers") return lateAnswers(profile);
  // Its own stream too. Five slots, some of them spares at first; storms stay shorter.
  const mem = new Prng(deriveSeed(seed, "membership"));
  if ((flavour === "mixed" || flavour === "storm") && mem.chance(0.4)) {
    profile.nodeCount = 5;
    if (storm) profile.faultTicks = 1000;
    profile.membership = {
      initialVoters: mem.pick([3, 3, 4, 5]),
      rate: mem.pick([0.02, 0.05, 0.1]),
      twoVoterShare: mem.pick([0.1, 0.3]),
      maxLingerTicks: mem.pick([1, 5, 20]) * election,
    };
  }
  return profile;
}

/**
 * Late answers across a disk loss (issue 9, item 2) need a calm cluster and a
 * run of bad luck: one follower far behind (one entry per message, more
 * proposals than that carries, a lossy link from the leader), so that
 * commits hang on the other one's acks; that one wiped while its acks are
 * on the wire (`Faults`, the late-answer fault) and back at once; those acks
 * delivered just after its new life was caught up. Every draw above is
 * kept (and overridden here), so the other flavours' seeds are unchanged.
 */
function lateAnswers(p: Profile): Profile {
  return {
    ...p,
    nodeCount: 3,
    faultTicks: 600,
    proposalRate: 0.5,
    network: { dropRate: 0, dupRate: 0, minDelayTicks: 1, maxDelayTicks: 3 },
    tuning: { ...p.tuning, maxEntriesPerAppend: 1 },
    faults: {
      ...p.faults,
      crashRate: 0,
      leaderCrashRate: 0,
      commitCrashRate: 0,
      wipeRate: 0.02,
      pauseRate: 0.003,
      partitionRate: 0.02,
      healRate: 0.01,
      maxDownTicks: timing.electionTicksMax,
      maxPauseTicks: 3 * timing.electionTicksMax,
      transferRate: 0,
      lateAnswerRate: 1,
    },
  };
}
