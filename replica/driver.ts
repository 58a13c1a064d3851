/**
 * The driver loop around the pure core: timer ticks in, and for every Ready
 * persist (one fsync per batch: group commit), then send, then apply, then
 * advance. It also answers RPCs once what they promise is durable, and holds
 * client proposals until they commit.
 */
import type { LogEntry, Stroke } from "../protocol/mod.ts";
import type { RaftNode } from "./raft/node.ts";
import type { Message, RaftEvent, Ready, Role } from "./raft/types.ts";
import type { DurableLog } from "./storage/durable_log.ts";
import type { StrokeStore } from "./stroke_store.ts";
import { isRequest, type RequestMessage, type ResponseMessage } from "../protocol/rpc.ts";

/** Sends request messages to peers. */
export interface Sender {
  send(m: RequestMessage): void;
}

/** The proposal's entry was overwritten or leadership was lost: outcome unknown, retry elsewhere. */
export class ProposalLostError extends Error {}

interface Waiter {
  id: string;
  term: number;
  resolve: (index: number) => void;
  reject: (e: Error) => void;
}

/** Longest an append waits for an earlier one that HTTP delivered out of order. */
const PARK_MS = 30;

/** Runs one replica's core against real storage, network and clock. */
export class Driver {
  private looping = false;
  private timer: ReturnType<typeof setInterval> | undefined;
  private nextReqId = 1;
  private readonly answers = new Map<number, (m: ResponseMessage) => void>();
  private readonly waiters = new Map<number, Waiter>();
  private readonly proposedIds = new Map<string, Promise<number>>();
  private parked: Extract<RequestMessage, { type: "appendEntries" }>[] = [];
  private role: Role = "follower";
  sender: Sender | null = null;

  constructor(
    readonly node: RaftNode,
    private readonly storage: DurableLog,
    readonly store: StrokeStore,
    private readonly log: (role: Role, term: number, e: RaftEvent) => void,
    private readonly onFatal: (e: unknown) => void,
  ) {}

  /** Starts the clock. */
  start(tickMs: number): void {
    this.timer = setInterval(() => {
      this.node.tick();
      this.kick();
    }, tickMs);
  }

  /** Stops the clock and waits for the loop to drain. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    while (this.looping) await new Promise((r) => setTimeout(r, 5));
  }

  /** Steps a peer's answer (from the transport). */
  receive(m: Message): void {
    this.node.step(m);
    this.kick();
  }

  /** The transport could not reach a peer. */
  unreachable(req: RequestMessage): void {
    if (req.type === "appendEntries") this.node.reportUnreachable(req.to);
    this.kick();
  }

  /** Steps an incoming RPC; resolves with the answer once it may leave (after persistence). */
  handleRpc(req: RequestMessage): Promise<ResponseMessage> {
    const reqId = this.nextReqId++;
    const answer = new Promise<ResponseMessage>((resolve) => this.answers.set(reqId, resolve));
    const m = { ...req, reqId };
    if (m.type === "appendEntries" && this.arrivedEarly(m)) {
      this.parked.push(m);
      setTimeout(() => this.unpark(true), PARK_MS);
    } else {
      this.node.step(m);
      if (m.type === "appendEntries") this.unpark(false);
    }
    this.kick();
    return answer;
  }

  /**
   * Proposes strokes and resolves with the index each one is committed at.
   * An id already committed or in flight is not proposed again.
   */
  propose(strokes: Stroke[], timeoutMs: number): Promise<number[]> {
    const fresh: Stroke[] = [];
    const results = strokes.map((s) => {
      const committed = this.store.indexOf(s.id);
      if (committed !== undefined) return Promise.resolve(committed);
      const inFlight = this.proposedIds.get(s.id);
      if (inFlight) return inFlight;
      fresh.push(s);
      return null;
    });
    const placed = this.node.propose(fresh.map((stroke) => ({ stroke })));
    const promises = placed.map(({ index, term }, i) => {
      const id = fresh[i].id;
      const p = new Promise<number>((resolve, reject) =>
        this.waiters.set(index, { id, term, resolve, reject })
      );
      this.proposedIds.set(id, p);
      p.catch(() => {}).finally(() => this.proposedIds.delete(id));
      return p;
    });
    let k = 0;
    const all = results.map((r) => r ?? promises[k++]);
    this.kick();
    return withTimeout(Promise.all(all), timeoutMs);
  }

  /** Hands leadership to the most up-to-date peer and waits (bounded) until it took over. */
  async transferLeadership(waitMs: number): Promise<boolean> {
    const st = this.node.status();
    if (st.role !== "leader") return true;
    const best = this.node.bestTransferTarget();
    if (!best) return false;
    this.node.transferLeadership(best);
    this.kick();
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline && this.node.status().role === "leader") {
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.node.status().role !== "leader";
  }

  private kick(): void {
    if (this.looping) return;
    this.looping = true;
    queueMicrotask(() => this.loop());
  }

  private async loop(): Promise<void> {
    try {
      while (this.node.hasReady()) {
        const rd = this.node.ready();
        // The leader may replicate while it writes its own disk (Raft thesis
        // 10.2.1): it counts itself towards commit only once its entries are
        // stable. Everything else (votes, acks) promises what is being
        // persisted, so it waits for the fsync.
        const early = rd.hardState === null && rd.softState.role === "leader";
        if (early) { for (const m of rd.messages) if (m.type === "appendEntries") this.deliver(m); }
        this.storage.save(rd.hardState, rd.entries);
        await this.storage.sync(rd.mustSync);
        for (const m of rd.messages) if (!(early && m.type === "appendEntries")) this.deliver(m);
        this.settle(this.store.apply(rd.committedEntries));
        this.observe(rd);
        this.node.advance(rd);
      }
    } catch (e) {
      this.onFatal(e);
    } finally {
      this.looping = false;
    }
  }

  private deliver(m: Message): void {
    if (isRequest(m)) return this.sender?.send(m);
    const answer = m.reqId === undefined ? undefined : this.answers.get(m.reqId);
    if (!answer) return;
    this.answers.delete(m.reqId!);
    answer(m);
  }

  private settle(applied: LogEntry[]): void {
    for (const e of applied) {
      const w = this.waiters.get(e.index);
      if (!w) continue;
      this.waiters.delete(e.index);
      if (e.term === w.term) w.resolve(this.store.indexOf(w.id)!);
      else w.reject(new ProposalLostError(`entry ${e.index} was replaced by term ${e.term}`));
    }
  }

  private observe(rd: Ready): void {
    const term = this.node.status().term;
    for (const e of rd.events) this.log(rd.softState.role, term, e);
    if (this.role === "leader" && rd.softState.role !== "leader") {
      // Entries we proposed may still commit under the next leader; the client
      // retries with the same ids and the id check makes that safe.
      for (const w of this.waiters.values()) w.reject(new ProposalLostError("leadership lost"));
      this.waiters.clear();
    }
    this.role = rd.softState.role;
  }

  private arrivedEarly(m: Extract<RequestMessage, { type: "appendEntries" }>): boolean {
    const st = this.node.status();
    return m.term === st.term && m.prevLogIndex > st.lastIndex && this.parked.length < 64;
  }

  /** Steps parked appends that now fit (or all of them when their wait is over). */
  private unpark(expired: boolean): void {
    while (this.parked.length > 0) {
      const last = this.node.status().lastIndex;
      this.parked.sort((a, b) => a.prevLogIndex - b.prevLogIndex);
      const next = this.parked[0];
      if (!expired && next.prevLogIndex > last) return;
      this.parked.shift();
      this.node.step(next);
    }
    this.kick();
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ProposalLostError(`not committed within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
