/**
 * The simulated network: every message gets its own delay (so messages
 * reorder), may be dropped or duplicated, and links can be cut one way or both.
 */
import { isRequest, type Message } from "../../replica/raft/types.ts";
import type { Prng } from "../testing/prng.ts";

/** How hostile the network is; fixed per seed, made quiet for the liveness phase. */
export interface NetworkProfile {
  dropRate: number;
  dupRate: number;
  minDelayTicks: number;
  maxDelayTicks: number;
}

/** Share of the messages a lossy link loses. */
const LOSSY_DROP_RATE = 0.5;

/** Messages in flight, keyed by the tick they arrive at. */
export class SimNetwork {
  #inFlight = new Map<number, Message[]>();
  /** Answers of a node that lost its disk, held until its new life is caught up (`holdAnswersOf`). */
  #late = new Map<string, Message[]>();
  #cut = new Set<string>();
  /** Links that lose most of what they carry (see `lossy`). */
  #lossy = new Set<string>();
  #profile: NetworkProfile;
  #sent = 0;
  #dropped = 0;

  constructor(readonly prng: Prng, profile: NetworkProfile) {
    this.#profile = { ...profile };
  }

  /** Queues a message; returns false when the network ate it. */
  send(m: Message, now: number): boolean {
    this.#sent++;
    const lost = this.#lossy.has(`${m.from}>${m.to}`) && this.prng.chance(LOSSY_DROP_RATE);
    if (lost || !this.connected(m.from, m.to) || this.prng.chance(this.#profile.dropRate)) {
      this.#dropped++;
      return false;
    }
    this.#enqueue(m, now);
    if (this.prng.chance(this.#profile.dupRate)) this.#enqueue(m, now);
    return true;
  }

  /** Puts a message back for the next tick (its receiver is paused). */
  hold(m: Message, now: number): void {
    this.#push(now + 1, m);
  }

  /**
   * The late-answer fault: `from` lost its disk, and each of the answers its
   * previous life still has on the wire is, with probability `chance`, held
   * until its new life is caught up (`releaseLate`). An ack sent just before
   * a disk loss and delivered after the replica was caught up again is the
   * answer from an earlier life that a leader must not count. Returns how
   * many answers of `from` are held.
   */
  holdAnswersOf(from: string, chance: number, prng: Prng): number {
    const late = this.#late.get(from) ?? [];
    for (const [at, list] of this.#inFlight) {
      const keep = list.filter((m) => isRequest(m) || m.from !== from || !prng.chance(chance));
      late.push(...list.filter((m) => !keep.includes(m)));
      if (keep.length > 0) this.#inFlight.set(at, keep);
      else this.#inFlight.delete(at);
    }
    if (late.length > 0) this.#late.set(from, late);
    return late.length;
  }

  /** `from`'s new life was caught up: its held answers arrive within `maxDelayTicks`. Returns how many. */
  releaseLate(from: string, now: number, maxDelayTicks: number, prng: Prng): number {
    const late = this.#late.get(from) ?? [];
    this.#late.delete(from);
    for (const m of late) this.#push(now + prng.int(1, maxDelayTicks), m);
    return late.length;
  }

  /** Everything arriving at `now`, in random order. */
  arrivals(now: number): Message[] {
    const due = this.#inFlight.get(now);
    if (!due) return [];
    this.#inFlight.delete(now);
    return this.prng.shuffle(due);
  }

  /** False when the link from `a` to `b` is cut. */
  connected(a: string, b: string): boolean {
    return !this.#cut.has(`${a}>${b}`);
  }

  /** Cuts the link from `a` to `b` (one way). */
  cut(a: string, b: string): void {
    this.#cut.add(`${a}>${b}`);
  }

  /** Cuts every link between the two groups, both ways. */
  split(left: readonly string[], right: readonly string[]): void {
    for (const a of left) {
      for (const b of right) {
        this.cut(a, b);
        this.cut(b, a);
      }
    }
  }

  /**
   * Makes the link from `a` to `b` lose most messages: what crosses it falls
   * behind, yet now and then an answer still comes back.
   */
  lossy(a: string, b: string): void {
    this.#lossy.add(`${a}>${b}`);
  }

  /** Restores every link. */
  heal(): void {
    this.#cut.clear();
    this.#lossy.clear();
  }

  /** True while some link is cut or lossy. */
  partitioned(): boolean {
    return this.#cut.size > 0 || this.#lossy.size > 0;
  }

  /** A good network for the liveness phase: no drops, no duplicates, short delays. */
  quiet(): void {
    const maxDelayTicks = Math.min(this.#profile.maxDelayTicks, 3);
    this.#profile = { dropRate: 0, dupRate: 0, minDelayTicks: 1, maxDelayTicks };
  }

  /** Counters for the report. */
  stats(): { sent: number; dropped: number } {
    return { sent: this.#sent, dropped: this.#dropped };
  }

  #enqueue(m: Message, now: number): void {
    this.#push(now + this.prng.int(this.#profile.minDelayTicks, this.#profile.maxDelayTicks), m);
  }

  #push(at: number, m: Message): void {
    const list = this.#inFlight.get(at);
    if (list) list.push(m);
    else this.#inFlight.set(at, [m]);
  }
}
