/**
 * An in-memory network of replicas for scenario tests, in the manner of
 * etcd's `network` helper: `isolate`, `cut`, `recover`, `stabilize`. Each
 * replica is the real RaftNode in the real Driver, over an in-memory disk
 * that is durable at once, a lossless (unless cut) network and a manual
 * clock; `tick` and `stabilize` are async because the driver's loop runs in
 * a microtask, exactly as in the replica. A snapshot travels whole: the
 * sender's applied entries, staged at the receiver as its transport would.
 */
import { mulberry32 } from "./prng.ts";
import { isConfigEntry } from "../../protocol/mod.ts";
import { SimClock } from "./sim_clock.ts";
import { type CompactionPolicy, Driver, type StateMachine } from "../../replica/driver.ts";
import { RaftNode } from "../../replica/raft/node.ts";
import {
  type EntryPayload,
  type HardState,
  isRequest,
  type LogEntry,
  type Message,
  type RaftConfig,
  type SnapshotPoint,
} from "../../replica/raft/types.ts";

/** Deterministic PRNG for election timeouts (the simulator's mulberry32). */
export const seeded = mulberry32;

/** Milliseconds of the manual clock per tick (the driver parks early appends for 30 ms). */
const TICK_MS = 10;

interface Disk {
  hardState: HardState;
  snapshot?: SnapshotPoint;
  /** The entries after `snapshot`. */
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
  /** Compact every log by this policy (default: never). */
  compaction?: CompactionPolicy;
  /**
   * Copy the sender's state machine for a snapshot when the core sends it, as
   * the replica's shipper does, rather than when it is delivered (default).
   */
  snapshotAtSend?: boolean;
}

/** Records what is applied, as committed (the tests look at raw entries); a snapshot is all of them. */
class Recorder implements StateMachine<LogEntry[]> {
  constructor(readonly entries: LogEntry[]) {}
  apply(entries: LogEntry[]): LogEntry[] {
    this.entries.push(...entries);
    return entries;
  }
  indexOf(): undefined {
    return undefined;
  }
  makeDurable(): void {}
  install(staged: LogEntry[], point: SnapshotPoint): void {
    if (staged.length !== point.index) throw new Error(`staged ${staged.length} != ${point.index}`);
    this.entries.splice(0, this.entries.length, ...staged);
  }
  discard(): void {}
}

/** A cluster of replicas connected by an instant, lossless (unless cut) network. */
export class Network {
  readonly nodes = new Map<string, RaftNode>();
  readonly drivers = new Map<string, Driver<Recorder>>();
  readonly disks = new Map<string, Disk>();
  readonly applied = new Map<string, LogEntry[]>();
  /** Every message that left a replica, in order. */
  readonly sent: Message[] = [];
  private readonly clocks = new Map<string, SimClock>();
  private queue: Message[] = [];
  /** Messages taken off the network by `hold`, each list with what it matches. */
  private holds = new Map<Message[], (m: Message) => boolean>();
  private cuts = new Set<string>();
  private down = new Set<string>();
  private reqId = 0;
  private starts = 0;
  /** Replicas added by `join` (they restart with JOIN=1 too, as a supervisor would). */
  private joining = new Set<string>();
  /** Each disk's identity, drawn when it is first used (a wipe draws a new one). */
  private diskIds = new Map<string, string>();
  private disksMade = 0;
  /** Snapshot copies taken at send time, by the reqId of their message (`snapshotAtSend`). */
  private copies = new Map<number, LogEntry[]>();

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

  /**
   * A new, empty replica started with JOIN=1: it knows the current members
   * (as PEERS would name them) and waits to be added.
   */
  join(id: string): RaftNode {
    this.joining.add(id);
    const peers = this.ids.slice();
    this.ids.push(id);
    return this.start(id, { peers, join: true });
  }

  /** (Re)starts a replica from its disk (or empty when it has none). */
  start(id: string, extra: Partial<RaftConfig> = {}): RaftNode {
    const disk = this.disks.get(id);
    if (!this.diskIds.has(id)) this.diskIds.set(id, `${id}-disk${++this.disksMade}`);
    const Node = this.opts.nodeClass ?? RaftNode;
    const node = new Node({
      id,
      peers: this.ids.filter((p) => p !== id),
      join: this.joining.has(id),
      diskId: this.diskIds.get(id),
      electionTicksMin: 10,
      electionTicksMax: 20,
      heartbeatTicks: 2,
      // A new random stream per start, as a real restart gets fresh randomness.
      random: seeded((this.opts.seed ?? 1) * 1000 + this.ids.indexOf(id) * 100 + this.starts++),
      ...this.opts.config,
      ...extra,
    }, disk ? this.restored(id, disk) : undefined);
    // Re-applied from the log after a restart, unless compaction made the state machine the record.
    const applied = this.applied.get(id)?.slice(0, node.status().appliedIndex) ?? [];
    const clock = new SimClock(0);
    const driver = new Driver(node, {
      storage: {
        save: (hs, entries) => this.persist(id, hs, entries),
        sync: () => {},
        rewrite: (point, tail) => {
          const disk = this.disks.get(id)!;
          disk.snapshot = point;
          disk.entries = tail.slice();
        },
      },
      compaction: this.opts.compaction,
      transport: { send: (m) => this.send({ ...m, reqId: ++this.reqId }) },
      stateMachine: new Recorder(applied),
      clock,
      onEvent: () => {},
      onFatal: (e) => {
        throw e;
      },
    });
    driver.start(TICK_MS);
    this.nodes.set(id, node);
    this.drivers.set(id, driver);
    this.clocks.set(id, clock);
    this.applied.set(id, applied);
    this.down.delete(id);
    return node;
  }

  /**
   * What a restart reads: the disk and, once the log was compacted, the
   * state machine as applied (it outlives the process, as the replica's
   * database does; lost with a wipe). Without compaction everything is
   * applied again from the log.
   */
  private restored(id: string, disk: Disk) {
    const base = { hardState: { ...disk.hardState }, entries: disk.entries.slice() };
    if (!disk.snapshot) return base;
    const applied = this.applied.get(id)?.length ?? 0;
    return { ...base, snapshot: disk.snapshot, applied };
  }

  /** Stops a replica; with `wipe` its disk is lost too. */
  crash(id: string, wipe = false): void {
    this.down.add(id);
    this.drivers.get(id)?.stop();
    if (wipe) {
      this.disks.delete(id);
      this.diskIds.delete(id);
      this.applied.delete(id);
    }
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

  /**
   * From now on, messages matching `match` are taken off the network into
   * the returned list: late (see `release`) or, if never released, lost
   * without their sender hearing of it. A crash of either end does not
   * touch them, as a message may outlive the process that sent it.
   */
  hold(match: (m: Message) => boolean): Message[] {
    const held: Message[] = [];
    this.holds.set(held, match);
    return held;
  }

  /** Stops holding into `held` and delivers what it holds, in order. */
  async release(held: Message[]): Promise<void> {
    this.holds.delete(held);
    this.queue.push(...held.splice(0));
    await this.stabilize();
  }

  /** Advances the clocks of the given replicas (default all live ones) `n` ticks, stabilizing after each. */
  async tick(n = 1, ids = this.live()): Promise<void> {
    for (let i = 0; i < n; i++) {
      for (const id of ids) {
        const clock = this.clocks.get(id)!;
        clock.advance(clock.now() + TICK_MS);
      }
      await this.stabilize();
    }
  }

  /** Delivers a message from outside, as the network would (a test's hand-made request). */
  async deliver(m: Message): Promise<void> {
    this.send(m);
    await this.stabilize();
  }

  /** Runs the drivers and delivers messages until nothing is left to do. */
  async stabilize(maxRounds = 10_000): Promise<void> {
    for (let round = 0; round < maxRounds; round++) {
      // Picks up what tests put into a core directly (propose, transferLeadership).
      for (const id of this.live()) this.drivers.get(id)!.flush();
      await null;
      const batch = this.queue;
      this.queue = [];
      if (batch.length === 0) return;
      for (const m of batch) this.route(m);
    }
    throw new Error("network did not stabilize");
  }

  /** Elects `id` by expiring its election timer. */
  async campaign(id: string): Promise<void> {
    for (let i = 0; i < 100 && this.node(id).status().role !== "leader"; i++) {
      await this.tick(1, [id]);
    }
  }

  /** Proposes to `id` and stabilizes; returns where the entries landed. */
  async propose(
    id: string,
    ...payloads: EntryPayload[]
  ): Promise<{ index: number; term: number }[]> {
    const r = this.node(id).propose(payloads);
    await this.stabilize();
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

  private persist(id: string, hs: HardState | null, entries: LogEntry[]): void {
    const disk = this.disks.get(id) ??
      { hardState: { term: 0, votedFor: "", recovering: true }, entries: [] };
    if (hs) disk.hardState = { ...hs };
    if (entries.length > 0) {
      disk.entries.length = entries[0].index - 1 - (disk.snapshot?.index ?? 0);
      disk.entries.push(...entries);
    }
    if (hs || entries.length > 0) this.disks.set(id, disk);
  }

  private send(m: Message): void {
    this.sent.push(m);
    if (this.opts.snapshotAtSend && m.type === "installSnapshot" && m.reqId !== undefined) {
      this.copies.set(m.reqId, this.applied.get(m.from)!.slice());
    }
    for (const [held, match] of this.holds) {
      if (match(m)) return void held.push(m);
    }
    this.queue.push(m);
  }

  private route(m: Message): void {
    if (this.down.has(m.to) || !this.drivers.has(m.to) || this.cuts.has(`${m.from}>${m.to}`)) {
      // As over HTTP, a request that cannot be delivered fails at the sender.
      const req = m.type === "appendEntries" || m.type === "installSnapshot";
      if (req && !this.down.has(m.from)) this.drivers.get(m.from)!.unreachable(m);
      return;
    }
    const driver = this.drivers.get(m.to)!;
    if (m.type === "installSnapshot") {
      // The sender's transport copies its state machine, which may be ahead of what the core asked for.
      const staged = this.copies.get(m.reqId!) ?? this.applied.get(m.from)!.slice();
      const last = staged.at(-1)!;
      // As the replica's receiver reads the copy's members table: the last configuration in it.
      const members = staged.findLast(isConfigEntry)?.config.members;
      const req = { ...m, snapshotIndex: last.index, snapshotTerm: last.term, members };
      driver.installSnapshot(req, staged).then((a) => this.send({ ...a, reqId: m.reqId }));
      return;
    }
    if (!isRequest(m)) return driver.receive(m);
    driver.request(m, (answer) => this.send({ ...answer, reqId: m.reqId }));
  }
}

/** A stroke payload with a given id, for tests. */
export function stroke(id: string): EntryPayload {
  return { stroke: { id, x0: 0, y0: 0, x1: 1, y1: 1, color: "#000000", width: 1 } };
}
