/** Configuration: defaults per the contract, plain URLs, and one clear line for every bad value. */
import assert from "node:assert/strict";
import { ConfigError, envFrom } from "../common/config.ts";
import { loadConfig, parsePeer } from "./config.ts";

const load = (vars: Record<string, string>) => loadConfig(envFrom(vars));

Deno.test("defaults follow the contract", () => {
  const c = load({});
  assert.equal(c.replicaId, "replica1");
  assert.equal(c.port, 9001);
  assert.deepEqual(c.peers.map((p) => p.url), ["http://127.0.0.1:9002", "http://127.0.0.1:9003"]);
  assert.equal(c.dataDir, ".data/replica1");
  assert.deepEqual([c.electionTimeoutMinMs, c.electionTimeoutMaxMs, c.heartbeatIntervalMs], [
    500,
    800,
    150,
  ]);
  assert.equal(c.clusterToken, null);
});

Deno.test("PEERS are plain URLs on any host and port; id=URL names one up front", () => {
  const c = load({
    REPLICA_ID: "a",
    PEERS: "http://10.0.0.5:7000, https://raft-b.internal/, c=http://[::1]:80",
    DATA_DIR: "/var/lib/board",
  });
  assert.deepEqual(c.peers, [
    { id: null, url: "http://10.0.0.5:7000" },
    { id: null, url: "https://raft-b.internal" },
    { id: "c", url: "http://[::1]" },
  ]);
  assert.equal(c.dataDir, "/var/lib/board");
  assert.deepEqual(parsePeer("r7=http://10.0.0.7:7000"), { id: "r7", url: "http://10.0.0.7:7000" });
});

Deno.test("an empty variable counts as unset", () => {
  const c = load({ PORT: "", PEERS: " ", DATA_DIR: "" });
  assert.equal(c.port, 9001);
  assert.equal(c.peers.length, 2);
  assert.equal(c.dataDir, ".data/replica1");
});

Deno.test("without a token a replica listens on loopback only; with one, on every interface", () => {
  assert.equal(load({}).listenHost, "127.0.0.1");
  assert.equal(load({ LISTEN_HOST: "::1" }).listenHost, "::1");
  assert.equal(load({ LISTEN_HOST: "localhost" }).listenHost, "localhost");
  assert.equal(load({ CLUSTER_TOKEN: "t" }).listenHost, "0.0.0.0");
  assert.equal(load({ CLUSTER_TOKEN: "t", LISTEN_HOST: "10.1.2.3" }).listenHost, "10.1.2.3");
});

Deno.test("the default ADVERTISE_URL is where the replica listens, https with TLS", () => {
  assert.equal(load({}).advertiseUrl, "http://127.0.0.1:9001");
  assert.equal(load({ CLUSTER_TOKEN: "t" }).advertiseUrl, "http://127.0.0.1:9001");
  assert.equal(load({ LISTEN_HOST: "::1", PORT: "7000" }).advertiseUrl, "http://[::1]:7000");
  assert.equal(
    load({ CLUSTER_TOKEN: "t", LISTEN_HOST: "10.1.2.3" }).advertiseUrl,
    "http://10.1.2.3:9001",
  );
  assert.equal(load({ ADVERTISE_URL: "http://r1:9001" }).advertiseUrl, "http://r1:9001");
});

Deno.test("bad values are refused with a ConfigError naming the variable", () => {
  const bad: [Record<string, string>, RegExp][] = [
    [{ PORT: "abc" }, /^PORT/],
    [{ PORT: "70000" }, /^PORT/],
    [{ ELECTION_TIMEOUT_MIN: "900", ELECTION_TIMEOUT_MAX: "800" }, /ELECTION_TIMEOUT_MAX/],
    [{ HEARTBEAT_INTERVAL: "600" }, /HEARTBEAT_INTERVAL/],
    [{ REPLICA_ID: "bad id" }, /REPLICA_ID/],
    [{ PEERS: "not a url" }, /PEERS/],
    [{ PEERS: "ftp://x:1" }, /PEERS/],
    [{ PEERS: "http://a:1,http://a:1/" }, /twice/],
    [{ PEERS: "replica1=http://a:1" }, /itself/],
    [{ PEERS: "x=http://a:1,x=http://b:1" }, /twice/],
    [{ REPLICA_ID: "replica9" }, /PEERS is required/],
    [{ CLUSTER_TOKEN: "a b" }, /CLUSTER_TOKEN/],
    [{ LISTEN_HOST: "0.0.0.0" }, /LISTEN_HOST=0\.0\.0\.0 needs CLUSTER_TOKEN/],
    [{ LISTEN_HOST: "::" }, /needs CLUSTER_TOKEN/],
    [{ LISTEN_HOST: "10.1.2.3" }, /needs CLUSTER_TOKEN/],
    [{ LISTEN_HOST: "a b", CLUSTER_TOKEN: "t" }, /LISTEN_HOST/],
  ];
  for (const [vars, message] of bad) {
    assert.throws(() => load(vars), (e) => e instanceof ConfigError && message.test(e.message));
  }
});

Deno.test({
  name: "the process exits 1 with one line on bad configuration",
  sanitizeResources: false,
}, async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "replica"],
    cwd: new URL("..", import.meta.url).pathname,
    env: { PORT: "nope", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr).trim().split("\n")
    .filter((l) => !l.startsWith("Warning Permissions in the config file"));
  assert.equal(out.code, 1);
  assert.equal(err.length, 1, err.join("\n"));
  assert.match(err[0], /^replica: PORT must be a port number/);
});
