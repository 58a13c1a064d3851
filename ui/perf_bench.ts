/**
 * Perf harness runner: builds the page, serves it, opens /perf.html in
 * headless Chromium and prints what it measured for a board of N segments
 * (default 100,000). Nothing is asserted: figures depend on the machine.
 *
 *   deno run -A ui/perf_bench.ts [N]
 */
import { buildUi, launchChromium, startUiServer } from "../tests/testing/ui_processes.ts";

const n = Number(Deno.args[0] ?? 100_000);
if (!Number.isSafeInteger(n) || n <= 0) {
  console.error(`perf_bench: N must be a positive integer, got "${Deno.args[0]}"`);
  Deno.exit(1);
}
await buildUi();
const ui = await startUiServer({});
const browser = await launchChromium();
try {
  const page = await browser.newPage({
    viewport: { width: 1280, height: 800 },
    deviceScaleFactor: 2,
  });
  await page.goto(`${ui.url}/perf.html?n=${n}`);
  await page.waitForFunction(() => "__perf" in globalThis, undefined, { timeout: 300_000 });
  const result = await page.evaluate(() => (globalThis as unknown as { __perf: unknown }).__perf);
  console.log(JSON.stringify(result, null, 2));
} finally {
  await browser.close();
  await ui.stop();
}
