/** Configuration: defaults per the contract, and one clear line for every bad value. */
import assert from "node:assert/strict";
import { ConfigError, loadConfig, parsePeer } from "./config.ts";

Deno.test("defaults follow the contract", () => {
  const c = loadConfig({});
  assert.equal(c.replicaId, "replica1");
  assert.equal(c.port, 9001);
  assert.deepEqual(c.peers.map((p) => p.id), ["replica2", "replica3"]);
  assert.equal(c.dataDir, ".data/replica1");
  assert.deepEqual([c.electionTimeoutMinMs, c.electionTimeoutMaxMs, c.heartbeatIntervalMs], [
    500,
    800,
    150,
  ]);
  assert.equal(c.clusterToken, null);
});

Deno.test("peer ids come from id=URL, a replicaN host, or a 900N port", () => {
  assert.deepEqual(parsePeer("r7=http://10.0.0.7:7000"), { id: "r7", url: "http://10.0.0.7:7000" });
  assert.deepEqual(parsePeer("http://replica2:9002"), {
    id: "replica2",
    url: "http://replica2:9002",
  });
  assert.deepEqual(parsePeer("http://127.0.0.1:9003"), {
    id: "replica3",
    url: "http://127.0.0.1:9003",
  });
  assert.throws(() => parsePeer("http://example:80"), ConfigError);
});

Deno.test("bad values are refused with a ConfigError naming the variable", () => {
  const bad: Record<string, string>[] = [
    { PORT: "abc" },
    { PORT: "70000" },
    { ELECTION_TIMEOUT_MIN: "900", ELECTION_TIMEOUT_MAX: "800" },
    { HEARTBEAT_INTERVAL: "600" },
    { REPLICA_ID: "bad id" },
    { PEERS: "not a url" },
    { PEERS: "http://127.0.0.1:9001" },
    { REPLICA_ID: "replica9" },
  ];
  for (const env of bad) assert.throws(() => loadConfig(env), ConfigError, JSON.stringify(env));
});

Deno.test({
  name: "the process exits 1 with one line on bad configuration",
  sanitizeResources: false,
}, async () => {
  const out = await new Deno.Command("deno", {
    args: ["run", "--allow-env", "--allow-read", "--allow-write", "--allow-net", "replica/main.ts"],
    cwd: new URL("..", import.meta.url).pathname,
    env: { PORT: "nope" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr).trim();
  assert.equal(out.code, 1);
  assert.equal(err.split("\n").length, 1, err);
  assert.match(err, /^replica: PORT must be a positive integer/);
});
