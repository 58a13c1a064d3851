/**
 * A real replica whose log file was damaged in the middle refuses to start:
 * one line naming the file and offset, a non-zero exit, the file untouched.
 * Without this, recovery took the damage for a torn tail and dropped every
 * later record, the fsynced votes and acknowledged entries among them.
 */
import assert from "node:assert/strict";
import { LocalCluster, testStroke } from "../testing/local_cluster.ts";
import { LOG_FILE_NAME } from "../../replica/storage/durable_log.ts";

Deno.test({
  name: "a replica with a flipped byte mid-log exits with one line naming file and offset",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "wb-corrupt-" });
  const lines = new Map<string, string[]>();
  const cluster = new LocalCluster({
    dir,
    onLine: (id, line) => lines.set(id, [...(lines.get(id) ?? []), line]),
  });
  try {
    await cluster.start();
    for (let i = 0; i < 20; i++) await cluster.propose([testStroke(`s${i}`, i)]);
    const leader = await cluster.waitForLeader();
    const victim = cluster.replicas.find((r) => r.id !== leader.id)!;
    await cluster.kill(victim.id, "SIGTERM");

    const path = `${victim.dataDir}/${LOG_FILE_NAME}`;
    const bytes = await Deno.readFile(path);
    bytes[bytes.length >> 1] ^= 0x20;
    await Deno.writeFile(path, bytes);
    lines.set(victim.id, []);
    await cluster.restart(victim.id);
    // Without the check the replica runs on a shortened log: give it ample time to exit.
    const status = await Promise.race([
      victim.proc.exited,
      new Promise<null>((r) => setTimeout(() => r(null), 20_000)),
    ]);
    assert.ok(status, "the replica started on a corrupt log and is still running");
    await new Promise((r) => setTimeout(r, 200)); // the last line may still be in the pipe

    assert.notEqual(status.code, 0, "the replica exited 0 on a corrupt log");
    const output = lines.get(victim.id)!.filter((l) => l.trim() !== "");
    assert.equal(output.length, 1, `expected one line, got:\n${output.join("\n")}`);
    assert.match(output[0], /^replica: log file .*raft\.log is corrupt at byte \d+: /);
    assert.ok(output[0].includes(path), output[0]);
    assert.deepEqual(await Deno.readFile(path), bytes, "the log file was changed");
  } finally {
    await cluster.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
