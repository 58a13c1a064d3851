/** Where the page finds its gateway and which board it shows. */
import { isBoardName } from "../../protocol/stroke.ts";

/** The gateway's default port (CONTRACT.md). */
export const GATEWAY_PORT = 8080;

/**
 * The gateway URL: the server's GATEWAY_URL when set, else the gateway port on
 * the host this page came from, so the page works from any machine that can
 * reach the cluster (compose, a remote VM) without configuration.
 */
export function gatewayUrlFor(configured: string | null, page: URL): string {
  if (configured) return configured;
  const scheme = page.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${page.hostname}:${GATEWAY_PORT}/ws`;
}

/** The board named in the page's `?board=` query, or "default". */
export function boardNameFor(page: URL): string {
  const name = page.searchParams.get("board");
  return name !== null && isBoardName(name) ? name : "default";
}

/** Reads `/config.json` from the UI server; an unreachable or odd answer means "not configured". */
export async function fetchConfiguredGateway(): Promise<string | null> {
  try {
    const res = await fetch("/config.json", { cache: "no-store" });
    const body: unknown = await res.json();
    const url = (body as { gatewayUrl?: unknown })?.gatewayUrl;
    return typeof url === "string" && url !== "" ? url : null;
  } catch {
    return null;
  }
}
