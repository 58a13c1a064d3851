import assert from "node:assert/strict";
import { electionResult, hasQuorum, majority, quorumIndex } from "./quorum.ts";

Deno.test("quorum: majorities of 1..5 voters", () => {
  assert.deepEqual([1, 2, 3, 4, 5].map(majority), [1, 2, 2, 3, 3]);
  assert.ok(hasQuorum(2, 3) && !hasQuorum(1, 3) && hasQuorum(3, 5) && !hasQuorum(2, 4));
});

Deno.test("quorum: an election is won, lost or pending", () => {
  const votes = (...v: boolean[]) => new Map(v.map((g, i) => [`n${i}`, g]));
  assert.equal(electionResult(votes(true), 3), "pending");
  assert.equal(electionResult(votes(true, true), 3), "won");
  assert.equal(electionResult(votes(true, false, false), 3), "lost");
  assert.equal(electionResult(votes(true, false, false), 5), "pending");
  assert.equal(electionResult(votes(true, false, false, false), 5), "lost");
});

Deno.test("quorum: the commit index is the highest index a majority holds", () => {
  assert.equal(quorumIndex([5]), 5);
  assert.equal(quorumIndex([5, 3, 9]), 5);
  assert.equal(quorumIndex([1, 7, 7, 2, 9]), 7);
  assert.equal(quorumIndex([4, 4, 0, 0]), 0);
});
