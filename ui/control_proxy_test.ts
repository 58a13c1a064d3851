import assert from "node:assert/strict";
import { proxyControl } from "./control_proxy.ts";

Deno.test("control proxy: off unless configured, own origin only, passes the token through", async () => {
  const seen: { path: string; auth: string | null; method: string }[] = [];
  const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const u = new URL(req.url);
    seen.push({
      path: u.pathname + u.search,
      auth: req.headers.get("authorization"),
      method: req.method,
    });
    return Response.json({ ok: true }, { status: req.headers.get("authorization") ? 200 : 401 });
  });
  const control = `http://127.0.0.1:${upstream.addr.port}`;
  const req = (path: string, init: RequestInit = {}) => new Request(`http://ui:3000${path}`, init);
  try {
    const off = await proxyControl(req("/control/replicas"), null);
    assert.equal(off.status, 404);
    assert.match((await off.json()).error, /controls are off/);
    const foreign = await proxyControl(
      req("/control/kill?target=replica1", {
        method: "POST",
        headers: { origin: "http://evil.example" },
      }),
      control,
    );
    assert.equal(foreign.status, 403);
    await foreign.body?.cancel();
    assert.equal((await proxyControl(req("/control/x", { method: "PUT" }), control)).status, 405);
    const opaque = await proxyControl(
      req("/control/replicas", { headers: { origin: "null" } }),
      control,
    );
    assert.equal(opaque.status, 403, "a sandboxed page's null origin is foreign");
    await opaque.body?.cancel();
    assert.deepEqual(seen, [], "refused requests never reach the endpoint");
    const ok = await proxyControl(
      req("/control/kill?target=replica1", {
        method: "POST",
        headers: { authorization: "Bearer abc", origin: "http://ui:3000", host: "ui:3000" },
      }),
      control,
    );
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    const noToken = await proxyControl(req("/control/replicas"), control);
    assert.equal(noToken.status, 401, "the endpoint's answer comes back as it is");
    await noToken.body?.cancel();
    assert.deepEqual(seen, [
      { path: "/kill?target=replica1", auth: "Bearer abc", method: "POST" },
      { path: "/replicas", auth: null, method: "GET" },
    ]);
  } finally {
    await upstream.shutdown();
  }
});
