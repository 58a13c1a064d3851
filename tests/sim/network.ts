/**
 * The simulated network: every message gets its own delay (so messages
 * reorder), may be dropped or duplicated, and links can be cut one way or both.
 */
import type { Message } from "../../replica/raft/types.ts";
import type { Prng } from "../testing/prng.ts";

/** How hostile the network is; fixed per seed, made quiet for the liveness phase. */
export interface NetworkProfile {
  dropRate: number;
  dupRate: number;
  minDelayTicks: number;
  maxDelayTicks: number;
}

/** Messages in flight, keyed by the tick they arrive at. */
export class SimNetwork {
  #inFlight = new Map<number, Message[]>();
  #cut = new Set<string>();
  #profile: NetworkProfile;
  #sent = 0;
  #dropped = 0;

  constructor(readonly prng: Prng, profile: NetworkProfile) {
    this.#profile = { ...profile };
  }

  /** Queues a message; returns false when the network ate it. */
  send(m: Message, now: number): boolean {
    this.#sent++;
    if (!this.connected(m.from, m.to) || this.prng.chance(this.#profile.dropRate)) {
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

  /** Restores every link. */
  heal(): void {
    this.#cut.clear();
  }

  /** True while some link is cut. */
  partitioned(): boolean {
    return this.#cut.size > 0;
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
