/**
 * An in-memory, synchronous network of RaftNodes for scenario tests, in the
 * manner of etcd's `network` helper: `isolate`, `cut`, `recover`, `stabilize`.
 * Storage is modelled exactly as the `Ready` contract says (persist, then
 * send, then apply, then advance).
 */
import { mulberry32 } from "../../../tests/sim/prng.ts";
import { RaftNode } from "../node.ts";
import type { EntryPayload, HardState, LogEntry, Message, RaftConfig } from "../types.ts";

/** Deterministic PRNG for election timeouts (the simulator's mulberry32). */
export const seeded = mulberry32;

interface Disk {
  hardState: HardState;
  entries: LogEntry[];
}

/** Options of a test network. */
export interface NetworkOptions {
  /** Start as an established cluster member (default) or as a fresh, empty replica. */
  fresh?: boolean;
  config?: Partial<RaftConfig>;
  seed?: number;
  /** Node class to use (mutation tests pass a subclass). */
  nodeClass?: typeof RaftNode;
}

/** A cluster of nodes connected by an instant, lossless (unless cut) network. */
export class Network {
  readonly nodes = new Map<string, RaftNode>();
  readonly disks = new Map<string, Disk>();
  readonly applied = new Map<string, LogEntry[]>();
  readonly sent: Message[] = [];
  private queue: Message[] = [];
  private cuts = new Set<string>();
  private down = new Set<string>();
  private reqId = 0;
  private starts = 0;

  constructor(readonly ids: string[], private readonly opts: NetworkOptions = {}) {
    for (const id of ids) {
      if (!opts.fresh) {
        this.disks.set(id, {
          hardState: { term: 0, votedFor: "", recovering: false },
          entries: [],
        });
      }
      this.start(id);
    }
  }

  /** (Re)starts a node from its disk (or empty when it has none). */
  start(id: string): RaftNode {
    const disk = this.disks.get(id);
    const Node = this.opts.nodeClass ?? RaftNode;
    const node = new Node({
      id,
      peers: this.ids.filter((p) => p !== id),
      electionTicksMin: 10,
      electionTicksMax: 20,
      heartbeatTicks: 2,
      // A new random stream per start, as a real restart gets fresh randomness.
      random: seeded((this.opts.seed ?? 1) * 1000 + this.ids.indexOf(id) * 100 + this.starts++),
      ...this.opts.config,
    }, disk ? { hardState: { ...disk.hardState }, entries: disk.entries.slice() } : undefined);
    this.nodes.set(id, node);
    this.applied.set(id, []);
    this.down.delete(id);
    return node;
  }

  /** Stops a node; with `wipe` its disk is lost too. */
  crash(id: string, wipe = false): void {
    this.down.add(id);
    if (wipe) this.disks.delete(id);
    this.queue = this.queue.filter((m) => m.to !== id && m.from !== id);
  }

  node(id: string): RaftNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  /** Cuts the link between two nodes in both directions. */
  cut(a: string, b: string): void {
    this.cuts.add(`${a}>${b}`).add(`${b}>${a}`);
  }

  /** Cuts a node off from everyone. */
  isolate(id: string): void {
    for (const p of this.ids) if (p !== id) this.cut(id, p);
  }

  /** Heals every cut. */
  recover(): void {
    this.cuts.clear();
  }

  /** Ticks the given nodes (default all live ones) `n` times, processing readies as it goes. */
  tick(n = 1, ids = this.live()): void {
    for (let i = 0; i < n; i++) {
      for (const id of ids) this.node(id).tick();
      this.stabilize();
    }
  }

  /** Processes readies and delivers messages until nothing is left to do. */
  stabilize(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      let busy = false;
      for (const id of this.live()) busy = this.process(id) || busy;
      const batch = this.queue;
      this.queue = [];
      for (const m of batch) {
        if (this.down.has(m.to) || this.cuts.has(`${m.from}>${m.to}`)) {
          // As over HTTP, a request that cannot be delivered fails at the sender.
          if (m.type === "appendEntries" && !this.down.has(m.from)) {
            this.node(m.from).reportUnreachable(m.to);
          }
          continue;
        }
        this.node(m.to).step(m);
        busy = true;
      }
      if (!busy) return;
    }
    throw new Error("network did not stabilize");
  }

  /** Elects `id` by expiring its election timer. */
  campaign(id: string): void {
    const n = this.node(id);
    for (let i = 0; i < 100 && n.status().role !== "leader"; i++) {
      n.tick();
      this.stabilize();
    }
  }

  propose(id: string, ...payloads: EntryPayload[]): { index: number; term: number }[] {
    const r = this.node(id).propose(payloads);
    this.stabilize();
    return r;
  }

  /** The live node that believes it leads, with the highest term. */
  leader(): RaftNode | undefined {
    return this.live().map((id) => this.node(id)).filter((n) => n.status().role === "leader")
      .sort((a, b) => b.status().term - a.status().term)[0];
  }

  live(): string[] {
    return this.ids.filter((id) => !this.down.has(id));
  }

  private process(id: string): boolean {
    const node = this.node(id);
    if (!node.hasReady()) return false;
    const rd = node.ready();
    const disk = this.disks.get(id) ??
      { hardState: { term: 0, votedFor: "", recovering: true }, entries: [] };
    if (rd.hardState) disk.hardState = { ...rd.hardState };
    if (rd.entries.length > 0) {
      disk.entries.length = rd.entries[0].index - 1;
      disk.entries.push(...rd.entries);
    }
    if (rd.hardState || rd.entries.length > 0) this.disks.set(id, disk);
    for (const m of [...rd.messages, ...rd.messagesAfterPersist]) {
      const msg = isRequest(m) ? { ...m, reqId: ++this.reqId } : m;
      this.sent.push(msg);
      this.queue.push(msg);
    }
    this.applied.get(id)!.push(...rd.committedEntries);
    node.advance(rd);
    return true;
  }
}

function isRequest(m: Message): boolean {
  return !m.type.endsWith("Response");
}

/** A stroke payload with a given id, for tests. */
export function stroke(id: string): EntryPayload {
  return { stroke: { id, x0: 0, y0: 0, x1: 1, y1: 1, color: "#000000", width: 1 } };
}
