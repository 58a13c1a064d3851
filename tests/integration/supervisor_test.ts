/**
 * A process that supervises children leaves none behind when it ends without stopping them:
 * a quiet child (one that never writes, so no broken pipe ends it) would otherwise keep its
 * port and files for the next run.
 */
import assert from "node:assert/strict";
import { eventually } from "../testing/supervisor.ts";

const SCRIPT = new URL("./testdata/leave_child.ts", import.meta.url).pathname;

function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT"); // a signal that changes nothing: only whether it can be sent
    return true;
  } catch {
    return false;
  }
}

for (const ending of ["exit", "throw"]) {
  Deno.test(`supervisor: children are killed when the parent ends by ${ending}`, async () => {
    const out = await new Deno.Command("deno", { args: ["run", "-A", SCRIPT, ending] }).output();
    const pid = Number(new TextDecoder().decode(out.stdout).match(/pid (\d+)/)?.[1]);
    assert.ok(
      pid > 0,
      `the script printed its child's pid: ${new TextDecoder().decode(out.stderr)}`,
    );
    try {
      await eventually(() => !alive(pid), 10_000, `child ${pid} gone after its parent's ${ending}`);
    } finally {
      if (alive(pid)) Deno.kill(pid, "SIGKILL");
    }
  });
}
