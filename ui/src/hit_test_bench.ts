/** The eraser's hit test on a 100,000-segment board: the linear scan against the grid. */
import type { Stroke } from "../../protocol/mod.ts";
import * as bs from "./board_state.ts";
import { boardHits, hitTargets } from "./hit_test.ts";

const board = bs.createBoardState();
let seed = 1;
const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
for (let i = 1; i <= 100_000; i++) {
  const x = rnd() * 20_000, y = rnd() * 20_000;
  const s: Stroke = { id: `s${i}`, x0: x, y0: y, x1: x + 8, y1: y + 5, color: "#000000", width: 4 };
  bs.applyCommitted(board, [{ index: i, stroke: s }]);
}
const p = { x: 10_000, y: 10_000 };
boardHits(board, p, 8); // builds the grid outside the timing

Deno.bench("hit test, linear scan", { group: "eraser", baseline: true }, () => {
  hitTargets(board.committed, p, 8);
});
Deno.bench("hit test, grid", { group: "eraser" }, () => {
  boardHits(board, p, 8);
});
