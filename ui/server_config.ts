/** Configuration of the UI server, read from the environment and checked. */

/** The checked configuration. */
export interface UiConfig {
  port: number;
  /** GATEWAY_URL when set; null lets the page derive it from its own host. */
  gatewayUrl: string | null;
}

/** Parses UI_PORT (default 3000; 0 picks a free port) and GATEWAY_URL; errors are one line. */
export function parseUiConfig(
  env: { UI_PORT?: string; GATEWAY_URL?: string },
): { ok: true; value: UiConfig } | { ok: false; error: string } {
  const portText = env.UI_PORT ?? "3000";
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || !Number.isSafeInteger(port) || port > 65535) {
    return { ok: false, error: `UI_PORT must be a port number 0-65535, got "${portText}"` };
  }
  const gatewayUrl = env.GATEWAY_URL?.trim() || null;
  if (gatewayUrl !== null) {
    let url: URL | null = null;
    try {
      url = new URL(gatewayUrl);
    } catch {
      // reported below
    }
    if (!url || (url.protocol !== "ws:" && url.protocol !== "wss:")) {
      return { ok: false, error: `GATEWAY_URL must be a ws:// or wss:// URL, got "${gatewayUrl}"` };
    }
  }
  return { ok: true, value: { port, gatewayUrl } };
}
