/**
 * Where to compact the log: a pure decision, taken by the driver after each
 * Ready and tested on its own.
 *
 * Compacting only by the leader's own progress (keep the last `retain`
 * applied entries) thrashes under sustained writes: a follower receiving a
 * snapshot, or a little behind, finds the entries it needs next compacted
 * away and needs another snapshot, and so on. So, as etcd and hashicorp/raft
 * do, a leader keeps the entries its recently active followers still need:
 * from a follower's match index on, and, while a snapshot is on its way to a
 * follower, everything after the current snapshot point (the follower goes on
 * from the snapshot's index, which is at least that point). A follower that is
 * down is not recently active and pins nothing; one that is active but far
 * behind pins at most `maxRetained` entries: past that, it gets a snapshot.
 */
import type { FollowerProgress } from "./types.ts";

/** When and how far to compact. */
export interface CompactionLimits {
  /** Compact once this many applied entries are held past the snapshot point. */
  threshold: number;
  /** Applied entries kept even when no follower needs them. */
  retain: number;
  /** Most applied entries kept for followers (default 4 × threshold). */
  maxRetained?: number;
}

/** The default bound on entries kept for followers, in thresholds. */
export const MAX_RETAINED_THRESHOLDS = 4;

/**
 * The index to compact up to, or null to leave the log as it is.
 * `followers` is the leader's view of its followers (empty elsewhere).
 */
export function compactionIndex(
  limits: CompactionLimits,
  points: { applied: number; snapshot: number },
  followers: readonly FollowerProgress[],
): number | null {
  const { threshold, retain } = limits;
  const { applied, snapshot } = points;
  if (applied - snapshot < threshold) return null;
  let index = applied - retain;
  for (const f of followers) {
    if (!f.recentlyActive) continue;
    index = Math.min(index, f.mode === "snapshot" ? snapshot : f.matchIndex);
  }
  const maxRetained = limits.maxRetained ?? MAX_RETAINED_THRESHOLDS * threshold;
  index = Math.max(index, applied - Math.max(retain, maxRetained));
  // Each compaction rewrites the log file: move by at least what an unpinned one moves.
  return index - snapshot >= Math.max(1, threshold - retain) ? index : null;
}
