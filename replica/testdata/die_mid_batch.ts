/**
 * Applies one batch of 10 strokes, then dies (exit 9, no cleanup) in the
 * middle of a second, large batch: enough entries that SQLite spills pages of
 * the open transaction to the WAL before the process ends.
 */
import { StateDb } from "../state_db.ts";
import type { LogEntry } from "../../protocol/mod.ts";

const stroke = (index: number): LogEntry => ({
  index,
  term: 1,
  stroke: { id: `s${index}`, x0: index, y0: 0, x1: 1, y1: 1, color: "#000000", width: 1 },
});

const db = new StateDb(Deno.args[0]);
db.apply(Array.from({ length: 10 }, (_, i) => stroke(i + 1)));
const batch = Array.from({ length: 50_000 }, (_, i) => stroke(i + 11));
const last = batch[batch.length - 1];
Object.defineProperty((last as { stroke: object }).stroke, "id", { get: () => Deno.exit(9) });
db.apply(batch);
