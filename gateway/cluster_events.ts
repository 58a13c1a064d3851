/**
 * `GET /cluster/events`: the cluster as the dashboard shows it, pushed as server-sent events
 * (text/event-stream) a few times a second. A sample is read from the gateway's own view: the
 * `Cluster` poller behind `/status`, the commit stream's index, its sessions, and the board list
 * of `GET /boards` (its `BoardDirectory`, cached and shared with that route), so any number of
 * dashboards add no `/status` poll and at most the one cached `/boards` call a sample period.
 */
import type { ClusterStatus } from "../protocol/mod.ts";
import type {
  AckSummary,
  BoardInfo,
  DashboardSample,
  ElectionEvent,
} from "../protocol/dashboard.ts";
import type { LeaderInfo } from "./cluster.ts";

export type { AckSummary, BoardInfo, DashboardSample, ElectionEvent };

/** Leader changes kept for the timeline. */
export const MAX_ELECTIONS = 50;
/** Latencies kept per sample; beyond it, the newest replace older ones at random (a reservoir). */
const MAX_ACK_SAMPLES = 2048;

/** Times each submitted stroke from `submit` to its ack, for the dashboard's latency chart. */
export class AckTimes {
  #samples: number[] = [];
  #seen = 0;

  /** Notes one ack latency. */
  record(ms: number): void {
    this.#seen++;
    if (this.#samples.length < MAX_ACK_SAMPLES) this.#samples.push(ms);
    else {
      const i = Math.floor(Math.random() * this.#seen);
      if (i < MAX_ACK_SAMPLES) this.#samples[i] = ms;
    }
  }

  /** The latencies since the last call, summarised; starts a new window. */
  take(): AckSummary {
    const sorted = this.#samples.sort((a, b) => a - b);
    const count = this.#seen;
    this.#samples = [];
    this.#seen = 0;
    const at = (q: number) =>
      sorted.length === 0
        ? null
        : round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
    return { count, p50Ms: at(0.5), p99Ms: at(0.99) };
  }
}

/** What the events read from. */
export interface ClusterEventsDeps {
  status: () => ClusterStatus;
  /** The last log index the gateway has taken in (its commit stream). */
  committedIndex: () => number;
  /** The board list; null when no replica answered (the last one known is kept). */
  boards: () => Promise<BoardInfo[] | null>;
  watchLeader: (fn: (leader: LeaderInfo | null) => void) => () => void;
  acks: AckTimes;
  /** Between samples (default 500: at most two updates a second). */
  intervalMs?: number;
  /** Streams open at once; more get 503 (default 32). */
  maxStreams?: number;
  /** Bytes queued for one slow reader before samples are skipped for it (default 64 KiB). */
  maxQueuedBytes?: number;
  /** Samples skipped in a row before a reader that never reads is closed (default 60). */
  maxSkipped?: number;
}

interface Stream {
  controller: ReadableStreamDefaultController<Uint8Array>;
  skipped: number;
}

const encoder = new TextEncoder();

/** The sampler and the open event streams of one gateway. */
export class ClusterEvents {
  readonly #d: Required<ClusterEventsDeps>;
  readonly #streams = new Set<Stream>();
  readonly #elections: ElectionEvent[] = [];
  readonly #unwatch: () => void;
  #timer: ReturnType<typeof setInterval> | undefined;
  #last: { at: number; index: number } | null = null;
  #boards: BoardInfo[] = [];
  #boardsAsked = false;
  /** The newest sample broadcast: what a stream opened meanwhile gets first (no extra window). */
  #lastSample: DashboardSample | null = null;
  #closed = false;

  constructor(deps: ClusterEventsDeps) {
    this.#d = {
      intervalMs: 500,
      maxStreams: 32,
      maxQueuedBytes: 64 * 1024,
      maxSkipped: 60,
      ...deps,
    };
    // From the gateway's start, so a dashboard opened later still sees earlier elections.
    this.#unwatch = deps.watchLeader((leader) => this.#noteLeader(leader));
  }

  /** Open streams. */
  get streamCount(): number {
    return this.#streams.size;
  }

  /** The timeline so far (newest last). */
  get elections(): readonly ElectionEvent[] {
    return this.#elections;
  }

  /** Answers `GET /cluster/events`. */
  respond(req: Request): Response {
    const headers = { "access-control-allow-origin": "*", "cache-control": "no-store" };
    if (this.#closed) {
      return Response.json({ error: "gateway shutting down" }, { status: 503, headers });
    }
    if (this.#streams.size >= this.#d.maxStreams) {
      return Response.json({ error: "too many dashboard streams" }, { status: 503, headers });
    }
    let stream: Stream;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        stream = { controller, skipped: 0 };
        this.#streams.add(stream);
        controller.enqueue(
          encoder.encode(`retry: 1000\n\n${this.#event(this.#lastSample ?? this.sample())}`),
        );
        this.#startSampling();
      },
      cancel: () => this.#drop(stream),
    }, new ByteLengthQueuingStrategy({ highWaterMark: this.#d.maxQueuedBytes }));
    req.signal.addEventListener("abort", () => this.#drop(stream, true), { once: true });
    return new Response(body, {
      headers: { ...headers, "content-type": "text/event-stream; charset=utf-8" },
    });
  }

  /** One sample now (also what each stream gets first). */
  sample(): DashboardSample {
    const at = Date.now();
    const index = this.#d.committedIndex();
    const last = this.#last;
    const seconds = last ? (at - last.at) / 1000 : 0;
    const committedPerSec = last && seconds > 0
      ? round(Math.max(0, index - last.index) / seconds)
      : 0;
    this.#last = { at, index };
    this.#askBoards();
    return {
      at,
      status: this.#d.status(),
      boards: this.#boards,
      committedPerSec,
      ack: this.#d.acks.take(),
      elections: [...this.#elections],
      gateway: { rssBytes: Deno.memoryUsage().rss },
    };
  }

  /** Ends every stream and the sampler (the gateway is closing). */
  close(): void {
    this.#closed = true;
    this.#unwatch();
    for (const s of [...this.#streams]) this.#drop(s, true);
    clearInterval(this.#timer);
  }

  /** Refreshes the board list in the background; a sample shows the last one known. */
  #askBoards(): void {
    if (this.#boardsAsked) return;
    this.#boardsAsked = true;
    this.#d.boards().then((b) => {
      if (b !== null) this.#boards = b;
    }, () => {}).finally(() => (this.#boardsAsked = false));
  }

  #noteLeader(leader: LeaderInfo | null): void {
    // A hint (term unknown) is not yet a fact; the status round that confirms it follows.
    if (leader !== null && leader.term === null) return;
    const prev = this.#elections.at(-1);
    const leaderId = leader ? leader.id ?? leader.url : null;
    const term = leader?.term ?? null;
    if (prev && prev.leaderId === leaderId && (leaderId === null || prev.term === term)) return;
    // The same leader back in the same term after a blip (one missed status, a refused call):
    // no election happened, so the blip leaves no trace.
    const before = this.#elections.at(-2);
    if (prev?.leaderId === null && before?.leaderId === leaderId && before?.term === term) {
      this.#elections.pop();
      return;
    }
    this.#elections.push({ term, leaderId, at: Date.now() });
    if (this.#elections.length > MAX_ELECTIONS) this.#elections.shift();
  }

  #startSampling(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#broadcast(), this.#d.intervalMs);
  }

  #broadcast(): void {
    if (this.#streams.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      this.#last = null;
      this.#lastSample = null;
      return;
    }
    this.#lastSample = this.sample();
    const chunk = encoder.encode(this.#event(this.#lastSample));
    for (const s of [...this.#streams]) {
      // A reader that keeps up has room; one that does not loses samples (only the newest
      // matters), and one that reads nothing for a long while is let go.
      if ((s.controller.desiredSize ?? 0) < chunk.byteLength) {
        if (++s.skipped >= this.#d.maxSkipped) this.#drop(s, true);
        continue;
      }
      s.skipped = 0;
      s.controller.enqueue(chunk);
    }
  }

  #event(sample: DashboardSample): string {
    return `event: cluster\ndata: ${JSON.stringify(sample)}\n\n`;
  }

  #drop(s: Stream | undefined, close = false): void {
    if (!s || !this.#streams.delete(s)) return;
    if (close) {
      try {
        s.controller.close();
      } catch { /* already closed or errored by the reader */ }
    }
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
