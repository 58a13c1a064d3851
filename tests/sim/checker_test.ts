import assert from "node:assert/strict";
import type { LogEntry } from "../../replica/raft/types.ts";
import { Checker } from "./checker.ts";

const stroke = (index: number, term: number, id: string): LogEntry => ({
  index,
  term,
  stroke: { id, x0: 0, y0: 0, x1: 1, y1: 1, color: "#000000", width: 1 },
});

Deno.test("checker: two leaders of one term", () => {
  const c = new Checker();
  c.leaderElected("n1", 2, []);
  c.leaderElected("n1", 2, []); // the same leader again is fine
  assert.throws(() => c.leaderElected("n2", 2, []), /election-safety: n2 and n1 both lead term 2/);
});

Deno.test("checker: one (index, term) with two payloads or two predecessors", () => {
  const c = new Checker();
  const a = [stroke(1, 1, "a"), stroke(2, 2, "b")];
  c.entriesWritten("n1", a, a);
  assert.throws(
    () => c.entriesWritten("n2", [stroke(1, 1, "x")], [stroke(1, 1, "x")]),
    /log-matching/,
  );
  const b = [stroke(1, 2, "c"), stroke(2, 2, "b")];
  assert.throws(
    () => c.entriesWritten("n3", b, b.slice(1)),
    /log-matching: n3 has .* after term 2/,
  );
});

Deno.test("checker: committed entries must agree, appear in later leaders and keep their acks", () => {
  const c = new Checker();
  const log = [stroke(1, 1, "a"), stroke(2, 1, "b")];
  c.committedUpTo("n1", 1, log, 1, 2);
  c.acknowledge(2, "b");
  assert.throws(() => c.applied("n2", 3, stroke(2, 3, "z")), /state-machine-safety/);
  // A leader of a later term lacking entry 2 breaks leader completeness...
  assert.throws(() => c.leaderElected("n3", 2, [log[0]]), /leader-completeness/);
  // ...but a late leader of the commit's own term is not bound by it.
  c.leaderElected("n2", 1, [log[0]]);
  assert.throws(() => c.acknowledge(1, "b"), /acknowledged-lost/);
});
