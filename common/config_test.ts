/** The shared parsers: a token from a file, loopback hosts, TLS files, each bad case one line. */
import assert from "node:assert/strict";
import { ConfigError, envFrom, isLoopbackHost, tls, token } from "./config.ts";

const oneLine = (message: RegExp) => (e: unknown) =>
  e instanceof ConfigError && !e.message.includes("\n") && message.test(e.message);

Deno.test("CLUSTER_TOKEN_FILE: the file's first line is the token; bad files are one line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wb-token-" });
  try {
    await Deno.writeTextFile(`${dir}/token`, "s3cret-token\n");
    assert.equal(token(envFrom({ CLUSTER_TOKEN_FILE: `${dir}/token` })), "s3cret-token");
    assert.equal(token(envFrom({ CLUSTER_TOKEN: "direct" })), "direct");
    assert.equal(token(envFrom({})), null);
    assert.throws(
      () => token(envFrom({ CLUSTER_TOKEN: "a", CLUSTER_TOKEN_FILE: `${dir}/token` })),
      oneLine(/not both/),
    );
    assert.throws(
      () => token(envFrom({ CLUSTER_TOKEN_FILE: `${dir}/missing` })),
      oneLine(/CLUSTER_TOKEN_FILE: cannot read ".*missing": no such file/),
    );
    await Deno.writeTextFile(`${dir}/empty`, "\n");
    assert.throws(
      () => token(envFrom({ CLUSTER_TOKEN_FILE: `${dir}/empty` })),
      oneLine(/holds no token/),
    );
    await Deno.writeTextFile(`${dir}/spaced`, "two words\n");
    assert.throws(
      () => token(envFrom({ CLUSTER_TOKEN_FILE: `${dir}/spaced` })),
      oneLine(/CLUSTER_TOKEN_FILE must be printable ASCII/),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loopback hosts are localhost, 127.0.0.0/8 and ::1, nothing else", () => {
  for (const h of ["localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]", "LOCALHOST"]) {
    assert.ok(isLoopbackHost(h), h);
  }
  for (const h of ["0.0.0.0", "::", "10.0.0.5", "192.168.1.2", "replica1", "128.0.0.1", "::2"]) {
    assert.ok(!isLoopbackHost(h), h);
  }
});

Deno.test("TLS_CERT and TLS_KEY: both or neither, readable PEM files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wb-tls-" });
  try {
    const cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    const key = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n";
    await Deno.writeTextFile(`${dir}/cert.pem`, cert);
    await Deno.writeTextFile(`${dir}/key.pem`, key);
    assert.equal(tls(envFrom({})), null);
    assert.deepEqual(
      tls(envFrom({ TLS_CERT: `${dir}/cert.pem`, TLS_KEY: `${dir}/key.pem` })),
      { cert, key },
    );
    assert.throws(() => tls(envFrom({ TLS_CERT: `${dir}/cert.pem` })), oneLine(/go together/));
    assert.throws(
      () => tls(envFrom({ TLS_CERT: `${dir}/key.pem`, TLS_KEY: `${dir}/key.pem` })),
      oneLine(/not a PEM certificate/),
    );
    assert.throws(
      () => tls(envFrom({ TLS_CERT: `${dir}/cert.pem`, TLS_KEY: `${dir}/cert.pem` })),
      oneLine(/not a PEM private key/),
    );
    assert.throws(
      () => tls(envFrom({ TLS_CERT: `${dir}/nope.pem`, TLS_KEY: `${dir}/key.pem` })),
      oneLine(/TLS_CERT: cannot read/),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
