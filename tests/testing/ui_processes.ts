/**
 * Real processes for UI tests and the perf harness: the esbuild bundle, the
 * UI server on a free port, and headless Chromium from /usr/bin/chromium.
 */
import { type Browser, chromium } from "playwright-core";
import { Proc, taskArgs } from "./supervisor.ts";

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

/** Starts the UI server (the `ui:serve` task) on a free port, through the supervisor. */
export async function startUiServer(env: Record<string, string>): Promise<UiServer> {
  let announce: (port: string) => void = () => {};
  const listening = new Promise<string>((resolve) => announce = resolve);
  const seen: string[] = [];
  const proc = new Proc({
    name: "ui",
    task: "ui:serve",
    env: { UI_PORT: "0", ...env },
    onLine: (line) => {
      seen.push(line);
      const m = line.match(/listening on http:\/\/localhost:(\d+)/);
      if (m) announce(m[1]);
    },
  });
  proc.start();
  const port = await Promise.race([
    listening,
    proc.exited.then(() => {
      throw new Error(`ui server exited before listening: ${seen.join("\n")}`);
    }),
  ]);
  return { url: `http://127.0.0.1:${port}`, stop: () => proc.stop() };
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
