/**
 * Clients proposing strokes to whoever leads, retrying after failover, and
 * the bookkeeping that decides which proposals were acknowledged.
 */
import { ProposalLostError } from "../../replica/driver.ts";
import type { LogEntry } from "../../replica/raft/types.ts";
import { NotLeaderError } from "../../replica/raft/types.ts";
import { TICK_MS } from "./replica.ts";
import type { Slot, World } from "./world.ts";
import { SimViolation } from "./violation.ts";

interface Pending {
  ids: string[];
  slot: Slot;
  incarnation: number;
}

/** How long a simulated client waits for its commit (the driver's proposal timeout). */
const PROPOSE_TIMEOUT_MS = 100 * TICK_MS;

/** Strokes proposed so far, where each was accepted, and which ones were acknowledged. */
export class Clients {
  readonly proposed = new Set<string>();
  /** stroke id -> how many times it was acknowledged (re-proposals may commit twice). */
  readonly acked = new Map<string, number>();
  /** Proposals a driver accepted and has not settled yet. */
  #pending = new Set<Pending>();
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
        this.#call(target, ids);
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

  /** A node applied `e`: only strokes some client proposed may ever be applied. */
  applied(slot: Slot, e: LogEntry): void {
    if ("stroke" in e && !this.proposed.has(e.stroke.id)) {
      throw new SimViolation(
        "state-machine-safety",
        `${slot.id} applied unknown stroke ${e.stroke.id}`,
      );
    }
  }

  /** A crashed node will never answer what it accepted: the client retries those later. */
  crashed(slot: Slot): void {
    for (const p of this.#pending) {
      if (p.slot !== slot) continue;
      this.#pending.delete(p);
      this.#later(p.ids);
    }
  }

  /** Through the driver, as the replica's /propose does: the answer comes once committed. */
  #call(s: Slot, ids: string[]): void {
    const strokes = ids.map((id, i) => ({
      id,
      x0: i,
      y0: 0,
      x1: i + 1,
      y1: 1,
      color: "#000000",
      width: 1,
    }));
    for (const id of ids) this.proposed.add(id);
    const w = this.world;
    w.trace.add(w.now, () => `propose ${ids.join(",")} to ${s.id}`);
    const answer = w.call(s, () => s.io!.driver.propose(strokes, PROPOSE_TIMEOUT_MS));
    const p: Pending = { ids, slot: s, incarnation: s.incarnation };
    this.#pending.add(p);
    answer.then(
      (indexes) => this.#answered(p, indexes),
      (err) => {
        if (!this.#pending.delete(p)) return;
        if (err instanceof ProposalLostError) this.#later(ids);
        else w.fatal(s, err);
      },
    );
  }

  /** The driver said committed: every stroke must be where it said, for good. */
  #answered(p: Pending, indexes: number[]): void {
    if (!this.#pending.delete(p)) return;
    const w = this.world;
    if (indexes.length !== p.ids.length) {
      w.fatal(
        p.slot,
        new SimViolation("ready-contract", `${p.ids.length} proposed, ${indexes.length} answered`),
      );
      return;
    }
    indexes.forEach((index, i) => {
      const id = p.ids[i];
      try {
        w.checker.acknowledge(index, id);
      } catch (err) {
        return w.fatal(p.slot, err);
      }
      this.acked.set(id, (this.acked.get(id) ?? 0) + 1);
      w.trace.add(w.now, () => `ack ${id} at ${index} by ${p.slot.id}`);
    });
  }

  #later(ids: string[]): false {
    this.#retry.push(...ids);
    return false;
  }
}
