/**
 * Majority arithmetic, in one place: elections, commit and check-quorum all
 * ask the same question of the same voters (this node and its peers).
 */

/** Votes needed among `voters` (this node included). */
export function majority(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

/** Outcome of an election among `voters`, given the answers so far (this node's own included). */
export function electionResult(
  votes: ReadonlyMap<string, boolean>,
  voters: number,
): "won" | "lost" | "pending" {
  let granted = 0;
  for (const v of votes.values()) if (v) granted++;
  if (granted >= majority(voters)) return "won";
  if (votes.size - granted >= majority(voters)) return "lost";
  return "pending";
}

/** The highest index held by a majority, given each voter's match index (this node's included). */
export function quorumIndex(matches: readonly number[]): number {
  const sorted = [...matches].sort((a, b) => b - a);
  return sorted[majority(matches.length) - 1];
}

/** True when `active` voters out of `voters` (this node included) still form a majority. */
export function hasQuorum(active: number, voters: number): boolean {
  return active >= majority(voters);
}
