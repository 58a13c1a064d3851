/**
 * Check before you change. A request that contradicts what this replica
 * knows for certain is refused before it moves anything: not the term, not
 * the known leader, not the vote, not the log, not the election timer.
 *
 * Why refusing is safe: only requests of our term or later reach this check
 * (older ones are refused as stale), and no real Raft leader of such a term
 * can send any of these:
 *  - an append whose prevLogIndex is at or below our commit index with a
 *    different term there, or whose entries replace a committed entry:
 *    Leader Completeness gives every leader of our term or later every entry
 *    we know committed (it was committed in our term or earlier), and Log
 *    Matching makes its terms there equal ours;
 *  - an append whose entries are not its log (gaps, terms above its own
 *    term or going down): a leader's log has increasing indexes and
 *    non-decreasing terms, none above the term it leads;
 *  - a snapshot whose last entry is of a term above the sender's, or
 *    differs from an entry we know committed (same argument as appends);
 *  - leadership of our term claimed by a second node: Election Safety.
 * Entries we compacted away are not checked (their terms are gone); all of
 * them are committed, and the node answers such an append with its commit
 * index without touching its log.
 * So a refusal can only hit a forged or corrupt request, and the replica
 * stays as it was instead of stepping into a term (or following a "leader")
 * and then failing loudly on an impossible truncation. The loud assertions
 * of the log stay for states the core would reach by itself.
 */
import type { RaftLog } from "./log.ts";
import { INDEX_LIMIT, type Message } from "./types.ts";

/** What the check reads of its node. */
export interface GuardView {
  term: number;
  leaderId: string | null;
  log: RaftLog;
}

/** Messages only a leader sends. */
export function isLeaderMessage(m: Message): boolean {
  return m.type === "appendEntries" || m.type === "heartbeat" || m.type === "timeoutNow" ||
    m.type === "installSnapshot";
}

/** Why `m` contradicts what the node knows, or null when it may be stepped. */
export function contradiction(m: Message, v: GuardView): string | null {
  if (isLeaderMessage(m) && m.term === v.term && v.leaderId !== null && v.leaderId !== m.from) {
    return "second_leader_of_term";
  }
  const { log } = v;
  if (m.type === "installSnapshot") {
    if (m.snapshotTerm > m.term || m.snapshotIndex === 0) return "not_a_leader_log";
    if (m.snapshotIndex >= INDEX_LIMIT) return "index_out_of_range";
    return differsFromCommitted(log, m.snapshotIndex, m.snapshotTerm)
      ? "contradicts_committed"
      : null;
  }
  if (m.type !== "appendEntries") return null;
  let [index, term] = [m.prevLogIndex, m.prevLogTerm];
  if (term > m.term || (index === 0 && term !== 0)) return "not_a_leader_log";
  for (const e of m.entries) {
    if (e.index !== index + 1 || e.term < term || e.term > m.term) return "not_a_leader_log";
    [index, term] = [e.index, e.term];
  }
  if (index >= INDEX_LIMIT) return "index_out_of_range";
  if (differsFromCommitted(log, m.prevLogIndex, m.prevLogTerm)) return "contradicts_committed";
  for (const e of m.entries) {
    if (e.index > log.committed) break;
    if (differsFromCommitted(log, e.index, e.term)) return "overwrites_committed";
  }
  return null;
}

/** True when we know the entry at `index` committed with another term (compacted ones are unknown). */
function differsFromCommitted(log: RaftLog, index: number, term: number): boolean {
  if (index > log.committed || index < log.snapshotIndex) return false;
  return log.term(index) !== term;
}
