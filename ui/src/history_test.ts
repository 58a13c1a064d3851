import assert from "node:assert/strict";
import fc from "fast-check";
import type { BoardEntry, Stroke } from "../../protocol/mod.ts";
import { mergeEntries, pictureAt, restorePlan, timeline } from "./history.ts";

function stroke(id: string, group?: string, by?: string, at?: number): Stroke {
  const s: Stroke = { id, x0: 0, y0: 0, x1: 1, y1: 1, color: "#000000", width: 2 };
  if (group !== undefined) s.group = group;
  if (by !== undefined) s.by = by;
  if (at !== undefined) s.at = at;
  return s;
}

/** The entries with the plan's ops appended, as the log would hold them. */
function applied(entries: BoardEntry[], plan: ReturnType<typeof restorePlan>): BoardEntry[] {
  const out = [...entries];
  let index = entries.at(-1)?.index ?? 0;
  plan.restore.forEach((targets, i) =>
    out.push({ index: ++index, restore: { id: `r${i}`, targets } })
  );
  plan.erase.forEach((targets, i) => out.push({ index: ++index, erase: { id: `e${i}`, targets } }));
  return out;
}

const ids = (strokes: Stroke[]) => strokes.map((s) => s.id);

Deno.test("history: a stroke without authorship takes its group's first", () => {
  const steps = timeline([
    { index: 1, stroke: stroke("a1", "ga", "Ada", 1000) },
    { index: 2, stroke: stroke("a2", "ga") },
    { index: 3, erase: { id: "x", targets: ["ga"], by: "Bo", at: 2000 } },
  ]);
  assert.deepEqual(steps.map((s) => [s.kind, s.by, s.at]), [
    ["stroke", "Ada", 1000],
    ["stroke", "Ada", 1000],
    ["erase", "Bo", 2000],
  ]);
});

Deno.test("history: restoring a past state undoes a later clear and erases what came after", () => {
  const entries: BoardEntry[] = [
    { index: 1, stroke: stroke("a1", "ga") },
    { index: 2, stroke: stroke("a2", "ga") },
    { index: 3, stroke: stroke("b1", "gb") },
    { index: 4, clear: { id: "c" } },
    { index: 5, stroke: stroke("d1", "gd") },
  ];
  assert.deepEqual(ids(pictureAt(entries, 3)), ["a1", "a2", "b1"]);
  assert.deepEqual(ids(pictureAt(entries, 5)), ["d1"]);
  const plan = restorePlan(entries, 3);
  assert.deepEqual(plan, { restore: [["c"]], erase: [["gd"]] });
  const after = applied(entries, plan);
  assert.deepEqual(ids(pictureAt(after, after.length)), ["a1", "a2", "b1"]);
});

Deno.test("history: restoring any past state gives exactly that picture (random histories)", () => {
  const groups = ["g0", "g1", "g2", "g3"];
  const op = fc.oneof(
    fc.record({
      kind: fc.constant("stroke" as const),
      group: fc.constantFrom(...groups, undefined),
    }),
    fc.record({
      kind: fc.constantFrom("erase" as const, "restore" as const),
      targets: fc.array(
        fc.oneof(
          fc.constantFrom(...groups),
          fc.nat(30).map((n) => `s${n}`),
          fc.nat(30).map((n) => `c${n}`),
        ),
        { minLength: 1, maxLength: 3 },
      ),
    }),
    fc.record({ kind: fc.constant("clear" as const) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 30 }), fc.nat(), (ops, pick) => {
      const entries: BoardEntry[] = ops.map((o, i) => {
        const index = i + 1;
        if (o.kind === "stroke") return { index, stroke: stroke(`s${index}`, o.group) };
        if (o.kind === "clear") return { index, clear: { id: `c${index}` } };
        return o.kind === "erase"
          ? { index, erase: { id: `o${index}`, targets: o.targets } }
          : { index, restore: { id: `o${index}`, targets: o.targets } };
      });
      const count = entries.length === 0 ? 0 : pick % (entries.length + 1);
      const after = applied(entries, restorePlan(entries, count));
      assert.deepEqual(ids(pictureAt(after, after.length)), ids(pictureAt(entries, count)));
    }),
    { numRuns: 500 },
  );
});

Deno.test("history: strokes and ops kept apart merge back in index order", () => {
  const merged = mergeEntries([stroke("a"), stroke("b"), stroke("c")], [1, 3, 6], [
    { index: 2, clear: { id: "x" } },
    { index: 4, erase: { id: "y", targets: ["a"] } },
    { index: 7, restore: { id: "z", targets: ["a"] } },
  ]);
  assert.deepEqual(merged.map((e) => e.index), [1, 2, 3, 4, 6, 7]);
});
