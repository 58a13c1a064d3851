/** Configuration of the UI server, read from the environment and checked. */
import { type Env, port, url } from "../common/config.ts";

/** The checked configuration. */
export interface UiConfig {
  port: number;
  /** GATEWAY_URL when set; null lets the page derive it from its own host. */
  gatewayUrl: string | null;
  /** CONTROL_URL: the supervisor's control endpoint, set only when dashboard controls are on. */
  controlUrl?: string;
}

/** UI_PORT (default 3000; 0 picks a free port), GATEWAY_URL, CONTROL_URL; one-line ConfigError. */
export function loadUiConfig(env: Env): UiConfig {
  const gateway = env("GATEWAY_URL");
  const control = env("CONTROL_URL");
  return {
    port: port(env, "UI_PORT", 3000, true),
    gatewayUrl: gateway === undefined ? null : url(gateway, "GATEWAY_URL", ["ws", "wss"]),
    ...(control === undefined ? {} : { controlUrl: url(control, "CONTROL_URL", ["http"]) }),
  };
}
