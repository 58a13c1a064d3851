/**
 * Restarts replicas one at a time, followers first and the leader last (it
 * hands leadership over on SIGTERM), each caught up with the leader's commit
 * index before the next goes. Used by `deno task dev` and measured by the
 * bench, so the figure in the README is this very procedure.
 */
import type { StatusResponse } from "../../protocol/mod.ts";

/** A replica that can be restarted and asked for its status. */
export interface Restartable {
  id: string;
  /** SIGTERM, wait for exit, start again. */
  restart(): Promise<void>;
  status(): Promise<StatusResponse | null>;
}

/** Rolls through `replicas`; reports each step through `log`. */
export async function rollingRestart(
  replicas: Restartable[],
  log: (line: string) => void,
  catchUpTimeoutMs = 20_000,
): Promise<void> {
  const states = await Promise.all(replicas.map((r) => r.status()));
  const order = replicas.map((r, i) => ({ r, leader: states[i]?.state === "leader" }))
    .sort((a, b) => Number(a.leader) - Number(b.leader)).map((x) => x.r);
  for (const r of order) {
    const sts = await Promise.all(replicas.map((x) => x.status()));
    const leaderCommit = Math.max(
      0,
      ...sts.map((s) => (s?.state === "leader" ? s.commitIndex : 0)),
    );
    const t0 = performance.now();
    await r.restart();
    const deadline = Date.now() + catchUpTimeoutMs;
    for (;;) {
      const st = await r.status();
      if (st && st.leaderId && st.commitIndex >= leaderCommit) break;
      if (Date.now() > deadline) {
        log(`${r.id} did not catch up within ${catchUpTimeoutMs} ms; continuing`);
        break;
      }
      await new Promise((res) => setTimeout(res, 20));
    }
    log(`${r.id} reloaded and caught up in ${(performance.now() - t0).toFixed(0)} ms`);
  }
}
