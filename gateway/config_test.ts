/** Configuration parsing, and `deno task gateway`'s command line as a real process. */
import assert from "node:assert/strict";
import { ConfigError, envFrom } from "../common/config.ts";
import { loadConfig } from "./config.ts";
import { FakeCluster } from "../tests/testing/fake_cluster.ts";
import { taskCommand } from "../tests/testing/supervisor.ts";

const envOf = (vars: Record<string, string>) => envFrom(vars);

Deno.test("defaults follow the contract", () => {
  assert.deepEqual(loadConfig(envOf({})), {
    port: 8080,
    replicaUrls: ["http://127.0.0.1:9001", "http://127.0.0.1:9002", "http://127.0.0.1:9003"],
    clusterToken: undefined,
    logLevel: "info",
    tls: null,
  });
});

Deno.test("replica URLs are trimmed and normalized; an empty token means none", () => {
  const config = loadConfig(envOf({
    REPLICA_URLS: " http://replica1:9001/ ,http://replica2:9002,,https://r3.example/base/",
    CLUSTER_TOKEN: "",
    GATEWAY_PORT: "9999",
    LOG_LEVEL: "DEBUG",
  }));
  assert.deepEqual(config.replicaUrls, [
    "http://replica1:9001",
    "http://replica2:9002",
    "https://r3.example/base",
  ]);
  assert.equal(config.clusterToken, undefined);
  assert.equal(config.port, 9999);
  assert.equal(config.logLevel, "debug");
});

Deno.test("bad configuration is a ConfigError naming the variable", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ GATEWAY_PORT: "80a" }, /GATEWAY_PORT/],
    [{ GATEWAY_PORT: "0" }, /GATEWAY_PORT/],
    [{ GATEWAY_PORT: "70000" }, /GATEWAY_PORT/],
    [{ REPLICA_URLS: " , " }, /REPLICA_URLS/],
    [{ REPLICA_URLS: "replica1:9001" }, /REPLICA_URLS/],
    [{ REPLICA_URLS: "ftp://replica1:9001" }, /REPLICA_URLS/],
    [{ REPLICA_URLS: "http://a:1,http://a:1/" }, /twice/],
    [{ REPLICA_URLS: "http://a:1?x=1" }, /query/],
    [{ CLUSTER_TOKEN: "two words" }, /CLUSTER_TOKEN/],
    [{ LOG_LEVEL: "loud" }, /LOG_LEVEL/],
  ];
  for (const [vars, message] of cases) {
    assert.throws(
      () => loadConfig(envOf(vars)),
      (e) => e instanceof ConfigError && message.test(e.message),
    );
  }
});

/** `deno task gateway`'s own command line, so its permissions are what gets tested. */
function gatewayCommand(env: Record<string, string>): Deno.Command {
  const task = taskCommand("gateway"); // its VAR=value prefix too (the malloc settings)
  assert.equal(task.args[0], "run");
  return new Deno.Command(Deno.execPath(), {
    args: task.args,
    cwd: new URL("..", import.meta.url),
    env: { ...task.env, ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  });
}

Deno.test("the gateway process exits 1 with one line on bad configuration", async () => {
  const envs: Record<string, string>[] = [
    { GATEWAY_PORT: "nope" },
    { REPLICA_URLS: "::" },
    { LOG_LEVEL: "x" },
    // Files are read with the task's own permissions: a refusal would be a different line.
    { CLUSTER_TOKEN_FILE: "/nonexistent/token" },
    { TLS_CERT: "/nonexistent/cert.pem", TLS_KEY: "/nonexistent/key.pem" },
  ];
  for (const env of envs) {
    const out = await gatewayCommand(env).output();
    const stderr = new TextDecoder().decode(out.stderr).trim().split("\n")
      .filter((l) => !/Permissions in the config file is an experimental/.test(l));
    assert.equal(out.code, 1, stderr.join("\n"));
    assert.equal(stderr.length, 1, stderr.join("\n"));
    assert.match(
      stderr[0],
      /^gateway: (GATEWAY_PORT|REPLICA_URLS|LOG_LEVEL|CLUSTER_TOKEN_FILE: cannot read "\/nonexistent\/token": no such file|TLS_CERT: cannot read)/,
    );
  }
});

Deno.test("the gateway process serves /healthz and /status and stops on SIGTERM", async () => {
  const fake = FakeCluster.start({ token: "t0k" });
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port; // free a moment ago; the gateway takes it next
  probe.close();
  const child = gatewayCommand({
    GATEWAY_PORT: String(port),
    REPLICA_URLS: fake.urls.join(","),
    CLUSTER_TOKEN: "t0k",
  }).spawn();
  try {
    let status;
    for (let i = 0; i < 200 && status?.leaderId !== "replica1"; i++) {
      await new Promise((r) => setTimeout(r, 50));
      status = await fetch(`http://127.0.0.1:${port}/status`).then((r) => r.json(), () => null);
    }
    assert.equal(status?.leaderId, "replica1");
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
  } finally {
    child.kill("SIGTERM");
    const out = await child.output();
    await fake.close();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.match(stdout, /\[gateway\] event=listening port=\d+/);
    assert.match(stdout, /\[gateway\] event=leader_changed leader=replica1 term=1/);
  }
});
