/** Entry point of the drawing page. */
import { render } from "preact";
import { setSender } from "./board_actions.ts";
import { boardNameFor, fetchConfiguredGateway, gatewayUrlFor } from "./client_config.ts";
import { App } from "./components/app.tsx";
import { connect } from "./connection.ts";
import { installTestHooks } from "./test_hooks.ts";

installTestHooks();
const page = new URL(location.href);
const gatewayUrl = gatewayUrlFor(await fetchConfiguredGateway(), page);
const connection = connect(gatewayUrl, boardNameFor(page));
setSender((msg) => {
  if (msg.type === "stroke") connection.send(msg.stroke);
});

render(<App />, document.getElementById("app")!);
