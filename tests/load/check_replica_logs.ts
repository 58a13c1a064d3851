/**
 * After a load run: reads every replica's committed log (`GET /entries`, paged) and checks that
 * the logs agree entry for entry up to the lowest commit index, that indexes run 1, 2, 3… without
 * gaps, and that no stroke id was committed twice. Prints a one-line summary per replica, exits 1
 * on any disagreement.
 *
 *   deno run --allow-net=127.0.0.1 --allow-env tests/load/check_replica_logs.ts
 *
 * Env: REPLICA_URLS (the three local replicas), CLUSTER_TOKEN (when the cluster uses one).
 */
import { type EntriesResponse, isStrokeEntry, type LogEntry } from "../../protocol/mod.ts";
import { ReplicaClient } from "../../replica/client.ts";

const URLS = (Deno.env.get("REPLICA_URLS") ??
  "http://127.0.0.1:9001,http://127.0.0.1:9002,http://127.0.0.1:9003").split(",");
const client = new ReplicaClient(Deno.env.get("CLUSTER_TOKEN"));

/** The committed log of one replica (the client checks that indexes are contiguous). */
function readLog(url: string): Promise<EntriesResponse> {
  return client.allEntries(url, { timeoutMs: 10_000 });
}

/** Stroke ids committed more than once, with their indexes. */
function duplicateIds(entries: LogEntry[]): Map<string, number[]> {
  const seen = new Map<string, number[]>();
  for (const e of entries) {
    if (!isStrokeEntry(e)) continue;
    const list = seen.get(e.stroke.id);
    if (list) list.push(e.index);
    else seen.set(e.stroke.id, [e.index]);
  }
  return new Map([...seen].filter(([, indexes]) => indexes.length > 1));
}

/** JSON with keys sorted: replicas may build the same entry with its keys in another order. */
function canonical(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v) =>
      typeof v === "object" && v !== null && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a < b ? -1 : 1))
        : v,
  );
}

const logs = await Promise.all(URLS.map(readLog));
let failed = false;
const common = Math.min(...logs.map((l) => l.entries.length));
for (const [i, { entries, commitIndex }] of logs.entries()) {
  const strokes = entries.filter(isStrokeEntry);
  const boards = new Set(strokes.map((e) => e.stroke.board ?? "default"));
  const dups = duplicateIds(entries);
  console.log(
    `${URLS[i]}: commitIndex=${commitIndex} entries=${entries.length} strokes=${strokes.length} ` +
      `boards=${boards.size} duplicateIds=${dups.size}`,
  );
  for (const [id, indexes] of [...dups].slice(0, 5)) console.log(`  ${id} at ${indexes}`);
  if (dups.size > 0) failed = true;
}
for (let k = 0; k < common; k++) {
  const first = canonical(logs[0].entries[k]);
  const other = logs.findIndex((l) => canonical(l.entries[k]) !== first);
  if (other !== -1) {
    console.log(`logs differ at index ${k + 1}: ${URLS[0]} vs ${URLS[other]}`);
    failed = true;
    break;
  }
}
console.log(`${failed ? "FAIL" : "OK"}: ${common} entries compared on ${URLS.length} replicas`);
if (failed) Deno.exit(1);
