/**
 * `/control/*` on the UI server: the dashboard's way to the supervisor's control endpoint
 * (scripts/control.ts), which listens on 127.0.0.1 only. Offered only when the supervisor set
 * CONTROL_URL (dashboard controls on); the page sends the token the operator typed in, the
 * proxy passes it through and holds no token of its own. Requests from another origin are
 * refused before they reach the endpoint.
 */

/** Longest a control action may take (adding a member waits until it is a voter). */
const CONTROL_TIMEOUT_MS = 180_000;
const METHODS = new Set(["GET", "POST", "DELETE"]);

/** Forwards one request, or answers 404 (controls off), 403 (foreign origin), 405. */
export async function proxyControl(req: Request, controlUrl: string | null): Promise<Response> {
  const json = (error: string, status: number) => Response.json({ error }, { status });
  if (controlUrl === null) {
    return json("dashboard controls are off (start the supervisor with --controls)", 404);
  }
  const url = new URL(req.url);
  const origin = req.headers.get("origin");
  if (origin !== null && !sameOrigin(origin, url, req.headers.get("host"))) {
    return json("control requests must come from the dashboard's own origin", 403);
  }
  if (!METHODS.has(req.method)) return json("method not allowed", 405);
  await req.body?.cancel().catch(() => {}); // no control route takes a body
  const headers: Record<string, string> = {};
  const auth = req.headers.get("authorization");
  if (auth !== null) headers.authorization = auth;
  try {
    const res = await fetch(`${controlUrl}${url.pathname.slice("/control".length)}${url.search}`, {
      method: req.method,
      headers,
      signal: AbortSignal.any([req.signal, AbortSignal.timeout(CONTROL_TIMEOUT_MS)]),
    });
    return new Response(res.body, {
      status: res.status,
      headers: { "content-type": res.headers.get("content-type") ?? "application/json" },
    });
  } catch (e) {
    return json(`control endpoint unreachable: ${(e as Error).message}`, 502);
  }
}

/** Whether a request's `Origin` is the page's own (`null` and other odd values are not). */
function sameOrigin(origin: string, url: URL, host: string | null): boolean {
  try {
    const o = new URL(origin);
    return o.origin === url.origin || (host !== null && o.host === host);
  } catch {
    return false;
  }
}
