/**
 * Cursor latency bench: starts the real stack (three replicas, the gateway,
 * the UI server, headless Chromium), lets Ada move her pointer N times
 * (default 50) and prints how long until Bob's page painted each position:
 * p50, p95 and max in ms. Nothing is asserted: figures depend on the machine
 * (the contract is that peers' cursors show within 200 ms).
 *
 *   deno run -A ui/cursor_bench.ts [N]
 */
import { startBoardStack } from "../tests/testing/board_page.ts";
import { MAX_MOVES, measureCursorLatency } from "../tests/testing/cursor_latency.ts";

const n = Number(Deno.args[0] ?? 50);
if (!Number.isSafeInteger(n) || n <= 0 || n > MAX_MOVES) {
  console.error(`cursor_bench: N must be an integer in 1..${MAX_MOVES}, got "${Deno.args[0]}"`);
  Deno.exit(1);
}
const stack = await startBoardStack("cursor_bench_");
try {
  const r = await measureCursorLatency(stack, n);
  const ms = (v: number) => Math.round(v * 10) / 10;
  console.log(JSON.stringify(
    {
      ...r,
      min: ms(r.min),
      p50: ms(r.p50),
      p95: ms(r.p95),
      max: ms(r.max),
      clockSkew: ms(r.clockSkew),
    },
    null,
    2,
  ));
} finally {
  await stack.stop();
}
