/**
 * One HTTP request from inside a container (the image has no curl or shell):
 * the compose health checks and the partition demo use it.
 *
 *   deno run --allow-net=127.0.0.1 scripts/http_probe.ts URL [JSON_BODY] [TIMEOUT_MS]
 *
 * GET without a body, POST with one. Prints the response body; exits 0 on a
 * 2xx answer, 1 on any other status, 2 when no answer came in time. A cluster
 * token is passed as the CLUSTER_TOKEN argument after the timeout (never read
 * from the environment, so the permission stays net-only).
 */

const [url, body, timeoutText, token] = Deno.args;
if (!url) {
  console.error("usage: http_probe.ts URL [JSON_BODY] [TIMEOUT_MS] [CLUSTER_TOKEN]");
  Deno.exit(64);
}
const timeoutMs = Number(timeoutText || 2000);
const headers: Record<string, string> = body ? { "content-type": "application/json" } : {};
if (token) headers.authorization = `Bearer ${token}`;

try {
  const res = await fetch(url, {
    method: body ? "POST" : "GET",
    body: body || undefined,
    headers,
    signal: AbortSignal.timeout(timeoutMs),
  });
  console.log(await res.text());
  Deno.exit(res.ok ? 0 : 1);
} catch (e) {
  console.log(JSON.stringify({ error: String(e) }));
  Deno.exit(2);
}
