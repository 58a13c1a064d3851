/**
 * Serves the drawing page: index.html, the bundle from `deno task ui:build`,
 * and /config.json telling the page where the gateway is.
 */
import { envFrom, startOrExit } from "../common/config.ts";
import { loadUiConfig, type UiConfig } from "./server_config.ts";
import { proxyControl } from "./control_proxy.ts";

const ROOT = new URL(".", import.meta.url);

/** Files the page needs: URL path to file (relative to ui/) and content type. */
const FILES: Record<string, [string, string]> = {
  "/": ["index.html", "text/html; charset=utf-8"],
  "/index.html": ["index.html", "text/html; charset=utf-8"],
  "/app.css": ["app.css", "text/css; charset=utf-8"],
  "/app.js": ["dist/app.js", "text/javascript; charset=utf-8"],
  "/perf.html": ["perf.html", "text/html; charset=utf-8"],
  "/perf.js": ["dist/perf.js", "text/javascript; charset=utf-8"],
  "/app.js.map": ["dist/app.js.map", "application/json"],
  "/perf.js.map": ["dist/perf.js.map", "application/json"],
  "/dashboard": ["dashboard.html", "text/html; charset=utf-8"],
  "/dashboard.css": ["dashboard.css", "text/css; charset=utf-8"],
  "/dashboard.js": ["dist/dashboard.js", "text/javascript; charset=utf-8"],
  "/dashboard.js.map": ["dist/dashboard.js.map", "application/json"],
};

/** The page talks only to its own origin and to a gateway anywhere (ws, and http for /status). */
const CSP = "default-src 'self'; connect-src 'self' ws: wss: http: https:; img-src 'self' data:";

/** The request handler; files are read per request so a rebuild shows up on reload. */
export function createHandler(config: UiConfig, root: URL = ROOT) {
  return async (req: Request): Promise<Response> => {
    const pathname = new URL(req.url).pathname;
    if (pathname.startsWith("/control/")) return proxyControl(req, config.controlUrl ?? null);
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    const path = pathname;
    if (path === "/config.json") {
      const controls = config.controlUrl ? { controls: true } : {};
      return Response.json({ gatewayUrl: config.gatewayUrl, ...controls }, {
        headers: { "cache-control": "no-store" },
      });
    }
    const file = FILES[path];
    if (!file) return new Response("not found\n", { status: 404 });
    let body: Uint8Array<ArrayBuffer>;
    try {
      body = await Deno.readFile(new URL(file[0], root));
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      const hint = file[0].startsWith("dist/") ? " (run `deno task ui:build`)" : "";
      return new Response(`${file[0]} is missing${hint}\n`, { status: 503 });
    }
    const headers = {
      "content-type": file[1],
      "cache-control": "no-cache",
      "content-security-policy": CSP,
      "x-content-type-options": "nosniff",
    };
    return new Response(req.method === "HEAD" ? null : body, { headers });
  };
}

if (import.meta.main) {
  await startOrExit("ui", () => {
    const config = loadUiConfig(envFrom("process"));
    const gatewayText = config.gatewayUrl ?? "derived from the page's host";
    Deno.serve({
      port: config.port,
      hostname: "0.0.0.0",
      onListen: ({ port }) =>
        console.log(`ui listening on http://localhost:${port} (gateway ${gatewayText})`),
    }, createHandler(config));
  });
}
