/** What happened in a run, formatted only when someone reads it (most runs pass). */
import type { Message, RaftEvent } from "../../replica/raft/types.ts";

type Line = { tick: number; describe: () => string };

/** The last `keep` steps of a run, or all of them. */
export class Trace {
  #lines: Line[] = [];
  #start = 0;

  constructor(readonly keep: number, readonly keepAll = false) {}

  /** Records one step; `describe` runs only if the trace is printed, so it must read immutable data only. */
  add(tick: number, describe: () => string): void {
    this.#lines.push({ tick, describe });
    if (!this.keepAll && this.#lines.length > this.keep * 2) {
      this.#start += this.#lines.length - this.keep;
      this.#lines = this.#lines.slice(-this.keep);
    }
  }

  /** The recorded steps, oldest first, numbered from the start of the run. */
  format(last = this.keepAll ? Infinity : this.keep): string[] {
    const from = Math.max(0, this.#lines.length - last);
    return this.#lines.slice(from).map((l, i) =>
      `#${this.#start + from + i} t=${l.tick} ${l.describe()}`
    );
  }
}

/** One message on one line, with the fields that matter for Raft. */
export function describeMessage(m: Message): string {
  const head = `${m.type} ${m.from}->${m.to} term=${m.term}` +
    (m.reqId === undefined ? "" : ` req=${m.reqId}`);
  switch (m.type) {
    case "requestVote":
      return `${head} last=(${m.lastLogIndex},${m.lastLogTerm})` +
        `${m.preVote ? " pre" : ""}${m.transfer ? " transfer" : ""}`;
    case "requestVoteResponse":
      return `${head} granted=${m.voteGranted}${m.preVote ? " pre" : ""}`;
    case "appendEntries": {
      const span = m.entries.length === 0
        ? "none"
        : `${m.entries[0].index}..${m.entries[m.entries.length - 1].index}` +
          `@${m.entries.map((e) => e.term).join(",")}`;
      return `${head} prev=(${m.prevLogIndex},${m.prevLogTerm}) entries=${span} ` +
        `commit=${m.leaderCommit}${m.bulk ? " bulk" : ""}`;
    }
    case "appendEntriesResponse":
      return `${head} ok=${m.success} match=${m.matchIndex} len=${m.logLength}` +
        (m.success ? "" : ` reject=${m.rejectIndex} hint=(${m.hintIndex},${m.hintTerm})`) +
        (m.bulk ? " bulk" : "");
    case "heartbeat":
      return `${head} commit=${m.leaderCommit}`;
    case "heartbeatResponse":
      return `${head} ok=${m.success} len=${m.logLength}`;
    case "timeoutNowResponse":
      return `${head} ok=${m.success}`;
    case "probe":
      return `${head} nonce=${m.nonce}`;
    case "probeResponse":
      return `${head} empty=${m.empty} nonce=${m.nonce}`;
    default:
      return head;
  }
}

/** A core event as `name k=v ...`. */
export function describeEvent(e: RaftEvent): string {
  return Object.entries(e).map(([k, v]) => k === "event" ? String(v) : `${k}=${v}`).join(" ");
}
