/**
 * Draws one stroke through a gateway and prints `{"index":N}` once it is acked. The TLS test
 * runs it as its own process because only a process started with `--cert` (or DENO_CERT)
 * trusts a local CA for `wss://`: a WebSocket takes no HTTP client.
 *
 *   deno run --allow-net=127.0.0.1 --cert ca.pem tests/integration/testdata/wss_draw.ts URL ID
 */
import { GatewayClient } from "../../../gateway/client.ts";
import { testStroke } from "../../testing/local_cluster.ts";

const [url, id] = Deno.args;
const client = await GatewayClient.connect(url, { board: "tls" });
await client.hello(20_000);
const index = await client.draw(testStroke(id));
console.log(JSON.stringify({ index, violations: client.violations }));
await client.close();
