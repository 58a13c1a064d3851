/**
 * Faults of one run: crashes (keeping or losing unsynced writes), wiped
 * disks, paused processes and partitions, at the rates of the seed's profile.
 */
import { voterIds } from "../../replica/raft/membership.ts";
import { isConfigEntry } from "../../protocol/mod.ts";
import type { FaultProfile } from "./profile.ts";
import { TICK_MS } from "./replica.ts";
import type { Slot, World } from "./world.ts";

/** Injects the faults of a profile into a world, and undoes them all for the liveness phase. */
export class Faults {
  /** node id -> tick at which it restarts. */
  #restartAt = new Map<string, number>();
  /** node id -> tick at which it is crashed (new leaders). */
  #crashAt = new Map<string, number>();
  active = true;

  constructor(readonly world: World, readonly profile: FaultProfile, midInstallCrashRate = 0) {
    world.hooks.crashMidInstall = (s) => {
      const crash = this.active && world.prng.chance(midInstallCrashRate);
      if (crash) this.#restartAt.set(s.id, world.now + world.prng.int(1, profile.maxDownTicks));
      return crash;
    };
    world.hooks.onLeader = (s) => {
      if (this.active && world.prng.chance(profile.leaderCrashRate)) {
        const heartbeatTicks = world.baseConfig.heartbeatTicks;
        this.#crashAt.set(s.id, world.now + world.prng.int(1, 3 * heartbeatTicks));
      }
    };
    // Crashing once a Ready is durable but before its messages left the machine
    // (a power cut loses what is still in the socket buffers too) leaves
    // entries on the leader alone: a new leader's first entry, or whatever
    // follows a commit.
    world.hooks.crashBeforeSend = (s, rd) => {
      if (!this.active || rd.softState.role !== "leader") return false;
      const won = s.role !== "leader";
      const committed = rd.committedEntries.length > 0;
      const crash = (won && world.prng.chance(profile.leaderCrashRate / 2)) ||
        (committed && world.prng.chance(profile.commitCrashRate));
      if (crash) this.#restartAt.set(s.id, world.now + world.prng.int(1, profile.maxDownTicks));
      return crash;
    };
  }

  /** Restarts nodes whose downtime is over, then maybe injects new faults. */
  step(): void {
    const w = this.world;
    for (const s of w.slots) {
      const restart = this.#restartAt.get(s.id);
      if (restart !== undefined && restart <= w.now) this.#restart(s);
      const crash = this.#crashAt.get(s.id);
      if (crash !== undefined && crash <= w.now) {
        this.#crashAt.delete(s.id);
        if (s.io && s.role === "leader") this.#crash(s, false);
      }
    }
    if (!this.active) return;
    const p = this.profile;
    const up = w.slots.filter((s) => s.io !== null);
    if (up.length > 0 && w.prng.chance(p.crashRate)) this.#crash(this.#victim(up), false);
    if (up.length > 0 && w.prng.chance(p.wipeRate)) {
      const s = (w.lateAnswerFault() ? this.#commitHangsOn() : null) ?? w.prng.pick(w.slots);
      if (this.#mayWipe(s)) this.#crash(s, true);
    }
    if (up.length > 0 && w.prng.chance(p.pauseRate)) {
      const s = this.#victim(up);
      s.pausedUntil = w.now + w.prng.int(1, p.maxPauseTicks);
      const line = `${s.id} paused until t=${s.pausedUntil}`;
      w.trace.add(w.now, () => line);
    }
    if (w.prng.chance(p.transferRate)) this.#transfer();
    if (w.prng.chance(p.partitionRate)) this.#partition();
    if (w.network.partitioned() && w.prng.chance(p.healRate)) {
      w.network.heal();
      w.trace.add(w.now, () => "network healed");
    }
  }

  /** End of the fault phase: every node runs, every link works, nothing is dropped. */
  stop(): void {
    const w = this.world;
    this.active = false;
    this.#crashAt.clear();
    w.network.heal();
    w.network.quiet();
    for (const s of w.slots) {
      s.pausedUntil = 0;
      if (s.io === null && !s.out) this.#restart(s);
    }
    w.trace.add(w.now, () => "faults stop: all up, network healed and quiet");
  }

  /** Leaders are the interesting victims (of crashes and pauses) half of the time. */
  #victim(up: Slot[]): Slot {
    const leaders = up.filter((s) => s.role === "leader");
    return leaders.length > 0 && this.world.prng.chance(0.5)
      ? this.world.prng.pick(leaders)
      : this.world.prng.pick(up);
  }

  /**
   * The follower whose acks the leader's commits hang on: the one furthest
   * ahead, while another lags behind (cut off, or slow). Wiping it while its
   * acks of entries nobody else holds are on the wire is the late-answer
   * fault's best shot.
   */
  #commitHangsOn(): Slot | null {
    const w = this.world;
    const leader = w.slots.find((s) => s.role === "leader" && w.running(s));
    if (!leader) return null;
    const progress = Object.entries(w.call(leader, () => leader.io!.node.status().progress));
    const matches = progress.map(([, p]) => p.matchIndex);
    const best = Math.max(...matches);
    if (best === Math.min(...matches)) return null;
    // A replica being caught up holds nothing the commits hang on.
    const ahead = progress.filter(([, p]) => p.matchIndex === best).map(([id]) => w.slot(id))
      .filter((s) => s.io !== null && !s.hard.recovering);
    return ahead.length > 0 ? w.prng.pick(ahead) : null;
  }

  /**
   * The assumption behind wipes: a recovering node (wiped, or never caught up
   * since its empty start) neither votes nor campaigns, so a wipe is only
   * allowed while the voters left still form a majority. Beyond that no
   * protocol can tell lost history from none, and this core would stall.
   */
  #mayWipe(s: Slot): boolean {
    const w = this.world;
    // Every configuration that may be in force: the committed one, and the last
    // one in each log (a node down now uses it once it restarts).
    const configs = [w.checker.committedMembers() ?? w.checker.bootstrap];
    for (const x of w.slots) {
      const e = x.log.findLast(isConfigEntry);
      if (e && isConfigEntry(e)) configs.push(e.config.members);
    }
    return configs.every((members) => {
      const voters = voterIds(members).map((id) => w.slot(id));
      if (!voters.includes(s)) return true;
      const nonVoters = voters.filter((x) => x !== s && this.#recovering(x)).length + 1;
      return nonVoters <= Math.floor((voters.length - 1) / 2);
    });
  }

  #recovering(s: Slot): boolean {
    if (s.io !== null) return s.hard.recovering;
    return s.disk.restored()?.hardState.recovering ?? true;
  }

  #crash(s: Slot, wipe: boolean): void {
    const w = this.world;
    if (s.io !== null) w.crash(s, wipe);
    else if (wipe) {
      w.wipe(s);
      w.trace.add(w.now, () => `${s.id} loses its disk while down`);
    }
    const downTicks = w.prng.int(1, this.profile.maxDownTicks);
    // Back before the leader misses it, while its earlier life's answers are still on the way.
    const quick = wipe && w.lateAnswerFault();
    this.#restartAt.set(s.id, w.now + (quick ? 1 + Math.floor(downTicks % 3) : downTicks));
  }

  #restart(s: Slot): void {
    this.#restartAt.delete(s.id);
    // A spare, or a removed member that was stopped: the operator starts it if it is added.
    if (!s.out) this.world.start(s);
  }

  /** An operator's leadership transfer (rolling restarts do this), to any peer, ready or not. */
  #transfer(): void {
    const w = this.world;
    const leaders = w.slots.filter((s) => w.running(s) && s.role === "leader");
    if (leaders.length === 0) return;
    const from = w.prng.pick(leaders);
    // To a voter of its configuration (all slots without membership changes).
    const voters = voterIds(w.call(from, () => from.io!.node.members()));
    const targets = w.slots.filter((s) => s !== from && voters.includes(s.id));
    if (targets.length === 0) return;
    const to = w.prng.pick(targets).id;
    w.trace.add(w.now, () => `transfer leadership ${from.id} -> ${to}`);
    const waitMs = w.baseConfig.electionTicksMax * TICK_MS;
    from.io!.driver.transferLeadership(waitMs, to).catch((e) => w.fatal(from, e));
  }

  #partition(): void {
    const w = this.world;
    const ids = w.slots.map((s) => s.id);
    w.network.heal();
    const leader = w.slots.find((s) => s.role === "leader" && s.io);
    if (leader && w.lateAnswerFault()) {
      // The leader's link to one follower loses most messages: that follower falls far
      // behind yet still answers now and then (so the leader keeps its quorum), and
      // what commits hangs on the other follower's acks.
      const lagging = w.prng.pick(ids.filter((id) => id !== leader.id));
      w.network.lossy(leader.id, lagging);
      return w.trace.add(w.now, () => `partition: link ${leader.id}->${lagging} lossy`);
    }
    const kind = w.prng.int(0, 3);
    if (kind === 0 || kind === 1) {
      // Isolate one node; for kind 1, the leader if there is one.
      const leaders = w.slots.filter((s) => s.role === "leader" && s.io);
      const lone = kind === 1 && leaders.length > 0 ? w.prng.pick(leaders).id : w.prng.pick(ids);
      w.network.split([lone], ids.filter((id) => id !== lone));
      w.trace.add(w.now, () => `partition: ${lone} isolated`);
    } else if (kind === 2) {
      const shuffled = w.prng.shuffle(ids.slice());
      const cut = w.prng.int(1, ids.length - 1);
      const [left, right] = [shuffled.slice(0, cut), shuffled.slice(cut)];
      w.network.split(left, right);
      w.trace.add(w.now, () => `partition: ${left.join(",")} | ${right.join(",")}`);
    } else {
      for (let i = w.prng.int(1, ids.length); i > 0; i--) {
        const [a, b] = w.prng.shuffle(ids.slice());
        w.network.cut(a, b);
        w.trace.add(w.now, () => `partition: link ${a}->${b} cut`);
      }
    }
  }
}
