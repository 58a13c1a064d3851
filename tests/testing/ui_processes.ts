/**
 * Real processes for UI tests and the perf harness: the esbuild bundle, the
 * UI server on a free port, and headless Chromium from /usr/bin/chromium.
 */
import { type Browser, chromium } from "playwright-core";
import { taskArgs } from "./supervisor.ts";

const REPO = new URL("../../", import.meta.url).pathname;

/** Runs ui/build.ts (the `ui:build` task) and fails loudly if it does. */
export async function buildUi(): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: taskArgs("ui:build"),
    cwd: REPO,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`ui build failed: ${new TextDecoder().decode(out.stderr)}`);
}

/** A running UI server. */
export interface UiServer {
  /** http://127.0.0.1:PORT */
  url: string;
  stop(): Promise<void>;
}

/** Starts ui/server.ts with the `ui` permission set on a free port. */
export async function startUiServer(env: Record<string, string>): Promise<UiServer> {
  const child = new Deno.Command(Deno.execPath(), {
    // The `ui` task is "build && serve"; the tests build once, then serve with its permission set.
    args: ["run", "-P=ui", "ui/server.ts"],
    cwd: REPO,
    env: { UI_PORT: "0", ...env },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!/listening on http:\/\/localhost:(\d+)/.test(seen)) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`ui server exited before listening: ${seen}`);
    seen += value;
  }
  const port = seen.match(/listening on http:\/\/localhost:(\d+)/)![1];
  // Keep draining stdout so the server never blocks on a full pipe.
  const drained = (async () => {
    while (!(await lines.read()).done);
  })();
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await drained;
    },
  };
}

/** Headless Chromium, never a downloaded one. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}
