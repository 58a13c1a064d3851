/**
 * The dashboard's state as module-level signals: the samples the gateway pushes on
 * `/cluster/events` (a bounded window of them, for the charts), and the controls' token and
 * answers. The token lives in this page's memory only: typed in, never stored, never served.
 */
import { computed, signal } from "@preact/signals";
import type { DashboardSample, ElectionEvent } from "../../../protocol/dashboard.ts";

export type { DashboardSample, ElectionEvent };

/** Samples kept for the charts: a minute at two a second. */
export const WINDOW = 120;

/** `open` while samples flow; `connecting` before the first and while EventSource retries. */
export const feed = signal<"connecting" | "open" | "lost">("connecting");
/** Newest last, at most `WINDOW`. */
export const samples = signal<readonly DashboardSample[]>([]);
/** The newest sample. */
export const latest = computed(() => samples.value.at(-1) ?? null);
/** Last time (epoch ms at the gateway) each replica, by URL, answered the gateway. */
export const lastSeen = signal<ReadonlyMap<string, number>>(new Map());

/** Whether the UI server offers controls (`/config.json` says `controls: true`). */
export const controlsEnabled = signal(false);
/** The control token the operator typed; empty: controls locked. */
export const controlToken = signal("");
/** Replica processes as the supervisor lists them (`GET /control/replicas`). */
export const processes = signal<readonly { name: string; running: boolean; paused: boolean }[]>(
  [],
);
/** The last control answer, for the operator to read. */
export const controlMessage = signal<{ ok: boolean; text: string } | null>(null);
/** An action in flight (its label), so buttons do not fire twice. */
export const busy = signal<string | null>(null);

/** Takes in one sample from the gateway. */
export function addSample(s: DashboardSample): void {
  const seen = new Map(lastSeen.peek());
  for (const r of s.status.replicas) if (r.reachable) seen.set(r.url, s.at);
  lastSeen.value = seen;
  samples.value = [...samples.peek().slice(-(WINDOW - 1)), s];
  feed.value = "open";
}

/** `ws[s]://host:port/ws` to the gateway's `http[s]://host:port/cluster/events`. */
export function eventsUrlFor(gatewayWsUrl: string): string {
  const u = new URL(gatewayWsUrl);
  u.protocol = u.protocol === "wss:" ? "https:" : "http:";
  u.pathname = "/cluster/events";
  u.search = "";
  return u.toString();
}

/** One term of the timeline: who led it, from when, and how long the cluster had no leader first. */
export interface TermRow {
  term: number;
  leaderId: string;
  at: number;
  /** Milliseconds without a known leader right before this one (null: none seen). */
  gapMs: number | null;
}

/** The election events as one row per led term, newest first. */
export function termRows(events: readonly ElectionEvent[]): TermRow[] {
  const rows: TermRow[] = [];
  let lostAt: number | null = null;
  for (const e of events) {
    if (e.leaderId === null || e.term === null) {
      lostAt ??= e.at;
      continue;
    }
    rows.push({
      term: e.term,
      leaderId: e.leaderId,
      at: e.at,
      gapMs: lostAt === null ? null : e.at - lostAt,
    });
    lostAt = null;
  }
  return rows.reverse();
}

/** Bytes as MiB with one decimal. */
export function mib(bytes: number | undefined): string {
  return bytes === undefined ? "–" : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
