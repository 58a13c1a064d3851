/** Entry point of the drawing page. */
import { render } from "preact";
import { boardNameFor, fetchConfiguredGateway, gatewayUrlFor } from "./client_config.ts";
import { App } from "./components/app.tsx";
import { connect } from "./connection.ts";
import type { Segment } from "./segmenter.ts";
import { addOwnStroke, currentColor, currentWidth } from "./store.ts";
import { newClientId, segmentToStroke } from "./strokes.ts";
import { installTestHooks } from "./test_hooks.ts";

installTestHooks();
const page = new URL(location.href);
const gatewayUrl = gatewayUrlFor(await fetchConfiguredGateway(), page);
const connection = connect(gatewayUrl, boardNameFor(page));
const clientId = newClientId();
let strokeCounter = 0;

/** Each finished segment shows at once as pending, then goes to the gateway. */
function onSegment(seg: Segment): void {
  const id = `${clientId}:${++strokeCounter}`;
  const stroke = segmentToStroke(seg, id, currentColor.peek(), currentWidth.peek());
  if (addOwnStroke(stroke)) connection.send(stroke);
}

render(<App onSegment={onSegment} />, document.getElementById("app")!);
