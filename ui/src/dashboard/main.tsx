/** Entry point of the dashboard: where the gateway is, then its `/cluster/events` stream. */
import { render } from "preact";
import { gatewayUrlFor } from "../client_config.ts";
import { Dashboard } from "./dashboard.tsx";
import { refreshProcesses } from "./controls.ts";
import { addSample, controlsEnabled, type DashboardSample, eventsUrlFor, feed } from "./state.ts";

const config = await fetch("/config.json", { cache: "no-store" }).then((r) => r.json()).catch(
  () => ({}),
);
controlsEnabled.value = config?.controls === true;
const gateway = gatewayUrlFor(
  typeof config?.gatewayUrl === "string" ? config.gatewayUrl : null,
  new URL(location.href),
);

// EventSource reconnects by itself (the gateway sends `retry: 1000`), also to a restarted gateway.
const events = new EventSource(eventsUrlFor(gateway));
events.addEventListener(
  "cluster",
  (e) => addSample(JSON.parse((e as MessageEvent).data) as DashboardSample),
);
events.onerror =
  () => (feed.value = events.readyState === EventSource.CLOSED ? "lost" : "connecting");
// What the supervisor runs (paused, stopped) changes under the dashboard too (chaos, a terminal).
if (controlsEnabled.value) setInterval(() => void refreshProcesses(), 2000);

render(<Dashboard />, document.getElementById("dashboard")!);
