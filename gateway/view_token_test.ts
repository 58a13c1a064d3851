/** View tokens: any gateway of the cluster opens them; nothing else does. */
import assert from "node:assert/strict";
import { ViewTokens } from "./view_token.ts";

Deno.test("a view token opens on every gateway with the cluster token, and only there", async () => {
  const a = new ViewTokens("cluster-secret");
  const b = new ViewTokens("cluster-secret");
  const token = await a.seal("team.room-1");
  assert.equal(await b.open(token), "team.room-1");
  assert.notEqual(await a.seal("team.room-1"), token, "a fresh IV each time");
  assert.ok(!token.includes("room"));
  assert.equal(await new ViewTokens("other").open(token), null);
  assert.equal(await new ViewTokens().open(token), null, "no token: a random key");
  const bytes = token.split("");
  bytes[20] = bytes[20] === "A" ? "B" : "A";
  assert.equal(await a.open(bytes.join("")), null, "altered");
  for (const junk of ["", "!!!", "A", "A".repeat(300), token.slice(0, 20)]) {
    assert.equal(await a.open(junk), null, junk.slice(0, 20));
  }
});
