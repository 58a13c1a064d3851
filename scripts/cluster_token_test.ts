/** The compose token file: the environment wins, a good token is kept, a bad or missing one replaced. */
import assert from "node:assert/strict";
import { envFrom, token } from "../common/config.ts";
import { ensureToken } from "./cluster_token.ts";

Deno.test("the shared token file is written once and agrees with CLUSTER_TOKEN when set", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wb-token-" });
  const file = `${dir}/token`;
  const read = () => token(envFrom({ CLUSTER_TOKEN_FILE: file }));
  try {
    assert.match(await ensureToken(file, null), /generated/);
    const first = read();
    assert.match(first ?? "", /^[0-9a-f]{64}$/);
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
    assert.match(await ensureToken(file, null), /kept/);
    assert.equal(read(), first);
    assert.match(await ensureToken(file, "from-env"), /from the environment/);
    assert.equal(read(), "from-env");
    await Deno.writeTextFile(file, "\n");
    assert.match(await ensureToken(file, null), /generated/);
    assert.notEqual(read(), first);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
