/** The seed's log line: `[replica1] term=3 state=LEADER event=entry_committed index=47`. */
import { formatLine } from "../common/log.ts";
import type { RaftEvent, Role } from "./raft/types.ts";

const STATE_NAMES: Record<Role, string> = {
  leader: "LEADER",
  follower: "FOLLOWER",
  candidate: "CANDIDATE",
  preCandidate: "CANDIDATE",
};

/** Formats an event; fields counted in ticks are printed in milliseconds. */
export function formatEvent(
  id: string,
  role: Role,
  term: number,
  e: RaftEvent,
  tickMs: number,
): string {
  const fields = Object.entries(e).map(([k, v]) =>
    k.endsWith("Ticks") ? [k.slice(0, -5), `${(v as number) * tickMs}ms`] : [k, v]
  );
  return formatLine(id, { term, state: STATE_NAMES[role], ...Object.fromEntries(fields) });
}

/** Writes one event of this replica, with its current term and state, in the seed's form. */
export type Say = (
  event: string,
  fields?: Record<string, string | number | boolean>,
  stream?: "out" | "err",
) => void;

/** A `Say` for replica `id`; `now` tells its role and term at the time of the line. */
export function replicaSay(
  id: string,
  tickMs: number,
  now: () => { role: Role; term: number },
): Say {
  return (event, fields = {}, stream = "out") => {
    const { role, term } = now();
    const line = formatEvent(id, role, term, { event, ...fields }, tickMs);
    if (stream === "err") console.error(line);
    else console.log(line);
  };
}
