/**
 * Clients proposing strokes to whoever leads, retrying after failover, and
 * the bookkeeping that decides which proposals were acknowledged.
 */
import type { EntryPayload, LogEntry } from "../../replica/raft/types.ts";
import { NotLeaderError } from "../../replica/raft/types.ts";
import type { Slot, World } from "./world.ts";
import { SimViolation } from "./violation.ts";

interface Pending {
  id: string;
  slot: Slot;
  incarnation: number;
  term: number;
}

/** Strokes proposed so far, where each was accepted, and which ones were acknowledged. */
export class Clients {
  readonly proposed = new Set<string>();
  /** stroke id -> how many times it was acknowledged (re-proposals may commit twice). */
  readonly acked = new Map<string, number>();
  /** "node|index" -> the proposal the leader accepted there. */
  #pending = new Map<string, Pending>();
  #retry: string[] = [];
  #next = 1;

  constructor(readonly world: World) {}

  /** One tick of client traffic: new strokes at `rate`, retries now and then. */
  step(rate: number): void {
    const prng = this.world.prng;
    if (prng.chance(rate)) {
      const ids = Array.from({ length: prng.int(1, 3) }, () => `s${this.#next++}`);
      this.propose(ids);
    }
    if (this.#retry.length > 0 && prng.chance(0.05)) this.propose([this.#retry.shift()!]);
  }

  /** Proposes strokes to a leader (or anyone), following one NotLeader hint; returns true if accepted. */
  propose(ids: string[]): boolean {
    const w = this.world;
    const up = w.slots.filter((s) => w.running(s));
    if (up.length === 0) return this.#later(ids);
    const leaders = up.filter((s) => s.role === "leader");
    let target = w.prng.pick(leaders.length > 0 ? leaders : up);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        this.#accepted(target, ids, this.#call(target, ids));
        return true;
      } catch (err) {
        if (!(err instanceof NotLeaderError)) throw err;
        const hinted = up.find((s) => s.id === err.leaderId);
        if (!hinted) break;
        target = hinted;
      }
    }
    return this.#later(ids);
  }

  /** A node applied `e`: if it accepted that proposal itself, at that term, the client hears "committed". */
  applied(slot: Slot, e: LogEntry): void {
    if ("stroke" in e && !this.proposed.has(e.stroke.id)) {
      throw new SimViolation(
        "state-machine-safety",
        `${slot.id} applied unknown stroke ${e.stroke.id}`,
      );
    }
    const key = `${slot.id}|${e.index}`;
    const p = this.#pending.get(key);
    if (!p || p.incarnation !== slot.incarnation) return;
    this.#pending.delete(key);
    if (e.term !== p.term) {
      this.#later([p.id]);
      return;
    }
    if (!("stroke" in e) || e.stroke.id !== p.id) {
      throw new SimViolation(
        "log-matching",
        `${slot.id} accepted ${p.id} at (${e.index},${e.term}) but applied something else there`,
      );
    }
    this.world.checker.acknowledge(e.index, e.term, p.id);
    this.acked.set(p.id, (this.acked.get(p.id) ?? 0) + 1);
    this.world.trace.add(this.world.now, () => `ack ${p.id} at (${e.index},${e.term})`);
  }

  /** A crashed node will never acknowledge what it accepted: the client retries those later. */
  crashed(slot: Slot): void {
    for (const [key, p] of this.#pending) {
      if (p.slot !== slot) continue;
      this.#pending.delete(key);
      this.#later([p.id]);
    }
  }

  /** True while some proposal has neither been acknowledged nor been given up on. */
  outstanding(): number {
    return this.#pending.size + this.#retry.length;
  }

  #call(s: Slot, ids: string[]): { index: number; term: number }[] {
    const payloads: EntryPayload[] = ids.map((id, i) => ({
      stroke: { id, x0: i, y0: 0, x1: i + 1, y1: 1, color: "#000000", width: 1 },
    }));
    for (const id of ids) this.proposed.add(id);
    const w = this.world;
    try {
      return w.call(s, () => s.node!.propose(payloads));
    } finally {
      w.trace.add(w.now, () => `propose ${ids.join(",")} to ${s.id}`);
      w.drain(s);
    }
  }

  #accepted(s: Slot, ids: string[], at: { index: number; term: number }[]): void {
    if (s.node === null) { // it crashed while handling the proposal
      this.#later(ids);
      return;
    }
    if (at.length !== ids.length) {
      throw new SimViolation("ready-contract", `propose of ${ids.length} returned ${at.length}`);
    }
    at.forEach(({ index, term }, i) => {
      const key = `${s.id}|${index}`;
      const older = this.#pending.get(key);
      if (older) this.#later([older.id]);
      this.#pending.set(key, { id: ids[i], slot: s, incarnation: s.incarnation, term });
    });
  }

  #later(ids: string[]): false {
    this.#retry.push(...ids);
    return false;
  }
}
