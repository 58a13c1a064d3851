/**
 * Starts a quiet child (the UI server) through the supervisor, prints its
 * pid, then ends as the argument says without stopping it: `exit`
 * (Deno.exit) or `throw` (an uncaught error, as a script that fails).
 */
import { freePorts, Proc } from "../../testing/supervisor.ts";

const child = new Proc({ name: "ui", task: "ui:serve", env: { UI_PORT: String(freePorts(1)[0]) } });
child.start();
console.log(`pid ${child.pid}`);
await new Promise((r) => setTimeout(r, 500));
if (Deno.args[0] === "throw") throw new Error("the script fails with its child running");
Deno.exit(0);
