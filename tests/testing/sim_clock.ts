/**
 * Simulated time for one replica process: the driver's timers fire when the
 * world advances the clock, in order of due time and then of creation, so a
 * seed replays them exactly. A paused process is simply not advanced: its
 * timers fire late, once, when it resumes (as a stopped process's would).
 */
import type { Clock, TimerId } from "../../replica/driver.ts";

interface Timer {
  at: number;
  everyMs: number | null;
  fn: () => void;
}

/** A Clock whose time moves only when `advance` is called. */
export class SimClock implements Clock {
  #now: number;
  #next = 1;
  #timers = new Map<number, Timer>();

  constructor(nowMs: number) {
    this.#now = nowMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerId {
    return this.#add(fn, ms, null);
  }

  setInterval(fn: () => void, ms: number): TimerId {
    return this.#add(fn, ms, Math.max(1, ms));
  }

  clear(id: TimerId): void {
    this.#timers.delete(id as number);
  }

  /** Moves time to `toMs`, firing every timer due by then. */
  advance(toMs: number): void {
    for (;;) {
      let dueId = -1;
      let due: Timer | undefined;
      for (const [id, t] of this.#timers) {
        if (t.at <= toMs && (!due || t.at < due.at)) [dueId, due] = [id, t];
      }
      if (!due) break;
      this.#now = Math.max(this.#now, due.at);
      if (due.everyMs === null) this.#timers.delete(dueId);
      else due.at = this.#now + due.everyMs;
      due.fn();
    }
    this.#now = Math.max(this.#now, toMs);
  }

  #add(fn: () => void, ms: number, everyMs: number | null): number {
    const id = this.#next++;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), everyMs, fn });
    return id;
  }
}
