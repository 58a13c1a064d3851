import assert from "node:assert/strict";
import { createHandler } from "./server.ts";
import { ConfigError, envFrom } from "../common/config.ts";
import { loadUiConfig } from "./server_config.ts";
import { boardNameFor, gatewayUrlFor } from "./src/client_config.ts";

Deno.test("UI config", async (t) => {
  const load = (vars: Record<string, string | undefined>) => loadUiConfig(envFrom(vars));
  await t.step("defaults and valid values; an empty variable counts as unset", () => {
    assert.deepEqual(load({}), { port: 3000, gatewayUrl: null });
    assert.deepEqual(load({ UI_PORT: "" }), { port: 3000, gatewayUrl: null });
    assert.deepEqual(load({ UI_PORT: "0", GATEWAY_URL: "wss://gw.example/ws" }), {
      port: 0,
      gatewayUrl: "wss://gw.example/ws",
    });
  });
  await t.step("bad values give one-line errors", () => {
    for (
      const env of [{ UI_PORT: "70000" }, { UI_PORT: "3e3" }, { GATEWAY_URL: "http://x/ws" }, {
        GATEWAY_URL: "nope",
      }]
    ) {
      assert.throws(
        () => load(env),
        (e) => e instanceof ConfigError && !e.message.includes("\n"),
        JSON.stringify(env),
      );
    }
  });
  await t.step("the page derives the gateway from its own host when unset", () => {
    assert.equal(gatewayUrlFor(null, new URL("http://10.1.2.3:3000/")), "ws://10.1.2.3:8080/ws");
    assert.equal(
      gatewayUrlFor(null, new URL("https://board.example/")),
      "wss://board.example:8080/ws",
    );
    assert.equal(gatewayUrlFor(null, new URL("http://[::1]:3000/")), "ws://[::1]:8080/ws");
    assert.equal(gatewayUrlFor("ws://gw:9/ws", new URL("http://x/")), "ws://gw:9/ws");
    assert.equal(boardNameFor(new URL("http://x/?board=team-1")), "team-1");
    assert.equal(boardNameFor(new URL("http://x/?board=a%20b")), "default");
  });
});

Deno.test("UI server routes", async () => {
  const handle = createHandler({ port: 0, gatewayUrl: "ws://gw:8080/ws" });
  const get = (path: string, method = "GET") => handle(new Request(`http://ui${path}`, { method }));
  const config = await get("/config.json");
  assert.deepEqual(await config.json(), { gatewayUrl: "ws://gw:8080/ws" });
  const page = await get("/");
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type") ?? "", /text\/html/);
  assert.match(await page.text(), /<script type="module" src="\/app.js">/);
  assert.equal((await get("/../deno.json")).status, 404);
  await (await get("/nope")).body?.cancel();
  assert.equal((await get("/", "POST")).status, 405);
});
