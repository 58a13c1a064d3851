/**
 * `deno task demo`: the seed's demo script on the real stack, recorded. Three replica processes
 * (replica3 under `deno run --watch`, so touching a source file hot-reloads it), a gateway, the
 * UI server with the dashboard's controls on, and the supervisor's control endpoint
 * (scripts/control.ts, as `deno task start --controls` serves it), all on free loopback ports
 * with a throwaway data dir. Headless Chromium opens three board pages (three users, three
 * colours, synthetic pointer paths) and the dashboard, and the script runs:
 *
 *   1. several clients drawing          5. rapid chaos: random SIGKILLs and pauses
 *   2. the leader SIGKILLed mid-drawing 6. a partition (the control endpoint's: SIGSTOP) and heal
 *   3. a replica hot-reloaded           7. a late user opens the board
 *   4. rolling restart, one at a time
 *
 * After each step drawing pauses and the script checks what matters: a leader, every replica's
 * committed log identical, every stroke a page sent (and so every acked one) in it exactly once
 * at the index its ack named, and the three canvases' committed layers identical (SHA-256 of
 * the pixels). The narrative goes to stdout and logs/demo.log, the video (2x2: three boards
 * and the dashboard, captions burned in) to logs/demo.mp4 (gitignored), a few stills to
 * docs/demo/. Exits 1 if any check failed. `--seed N` replays the chaos step's faults.
 */
import { type Browser, type Page } from "playwright-core";
import { isStrokeEntry, type LogEntry, type StatusResponse } from "../protocol/mod.ts";
import { LocalCluster, startGateway } from "../tests/testing/local_cluster.ts";
import { rollingRestart } from "../tests/testing/rolling_restart.ts";
import { eventually, freePorts, Proc, waitForHttp } from "../tests/testing/supervisor.ts";
import { buildUi, launchChromium, startUiServer } from "../tests/testing/ui_processes.ts";
import { mulberry32 } from "../tests/testing/prng.ts";
import { controlHandler } from "./control.ts";
import {
  type BoardPage,
  circles,
  Drawer,
  openUser,
  pageState,
  settle,
  waves,
  zigzags,
} from "./demo_pages.ts";
import { Recorder, stillFrame } from "./demo_video.ts";

const REPO = new URL("../", import.meta.url).pathname;
const seedArg = Deno.args.indexOf("--seed");
const SEED = seedArg >= 0 ? Number(Deno.args[seedArg + 1]) : Date.now() % 100_000;
const VIDEO = `${REPO}logs/demo.mp4`;
const LOG = `${REPO}logs/demo.log`;
const STILLS = `${REPO}docs/demo`;
const WATCHED = "replica3";
/** Strokes every page has acked before the first fault. */
const WARMUP_ACKS = 25;

const t0 = performance.now();
const narrative: string[] = [];
const failures: string[] = [];
let recorder: Recorder | null = null;
let title = "";

/** A narrative line, stamped with the demo's clock. */
function say(line: string): void {
  const s = ((performance.now() - t0) / 1000).toFixed(1).padStart(6);
  const text = `[${s}s] ${line}`;
  console.log(text);
  narrative.push(text);
}

/** A new step: its title is the caption's first line. */
function step(n: number, text: string): void {
  title = `${n}/7  ${text}`;
  say(`== step ${title}`);
  recorder?.caption(title);
}

/** The caption's second line. */
function detail(text: string): void {
  say(text);
  recorder?.caption(`${title}\n${text}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- the stack -------------------------------------------------------------------------------

const dir = await Deno.makeTempDir({ prefix: "whiteboard_demo_" });
const cluster = new LocalCluster({ dir });
/** Lines of the watched replica: the hot reload is seen in them. */
const watchedLines: string[] = [];
{
  // replica3 runs the `replica:watch` task: the same process, restarted in place on a change.
  const r = cluster.replica(WATCHED);
  const spec = r.proc.spec;
  r.proc = new Proc({
    ...spec,
    task: "replica:watch",
    onLine: (l) => (watchedLines.push(l), spec.onLine?.(l)),
  });
}
const [gwPort, controlPort] = freePorts(2);
const token = crypto.randomUUID();
/** When the control endpoint logged each action ("kill replica2"): the moment it acted. */
const controlSeen = new Map<string, number>();
const cleanup: (() => Promise<unknown>)[] = [() => Deno.remove(dir, { recursive: true })];

say(`starting: 3 replicas (${WATCHED} under --watch), gateway, UI server, control endpoint`);
await Promise.all([cluster.start(), buildUi()]);
cleanup.push(() => cluster.stop());
const gateway = startGateway(gwPort, cluster.urls());
cleanup.push(() => gateway.kill());
const control = Deno.serve(
  { hostname: "127.0.0.1", port: controlPort, onListen: () => {} },
  controlHandler({
    cluster,
    others: [gateway],
    token,
    members: true,
    log: (l) => (controlSeen.set(l, performance.now()), say(`control endpoint: ${l}`)),
  }),
);
cleanup.push(() => control.shutdown());
const ui = await startUiServer({
  GATEWAY_URL: `ws://127.0.0.1:${gwPort}/ws`,
  CONTROL_URL: `http://127.0.0.1:${controlPort}`,
});
cleanup.push(() => ui.stop());
await waitForHttp(`http://127.0.0.1:${gwPort}/healthz`, 30_000);
const browser: Browser = await launchChromium();
cleanup.push(() => browser.close());

async function shutdown(): Promise<void> {
  for (const f of cleanup.reverse()) await f().catch((e) => console.error("cleanup:", e));
}

/** Calls the supervisor's control endpoint, as `deno task chaos` and the dashboard do. */
async function controlCall(action: string, target: string): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${controlPort}/${action}?target=${target}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}` },
  });
  const body = await res.json();
  if (!res.ok) throw new Error(`control ${action} ${target}: ${body.error}`);
}

const statuses = async () =>
  Object.fromEntries(
    await Promise.all(cluster.replicas.map(async (r) => [r.id, await cluster.status(r.id)])),
  ) as Record<string, StatusResponse | null>;

/** "replica1 leader t3 c120, replica2 follower ..." */
async function roles(): Promise<string> {
  const sts = await statuses();
  return Object.entries(sts).map(([id, s]) =>
    s ? `${id} ${s.state} t${s.term} c${s.commitIndex}` : `${id} down`
  ).join(", ");
}

/** `/status` of `id`, asked until it answers (a loaded machine may miss one call). */
const statusOf = (id: string) =>
  eventually(() => cluster.status(id), 15_000, `${id} answering /status`);

/** Waits until `id` follows a leader and has its commit index; returns the ms it took. */
async function caughtUp(id: string, timeoutMs = 30_000): Promise<number> {
  const start = performance.now();
  const leader = await cluster.waitForLeader(timeoutMs);
  const target = (await statusOf(leader.id)).commitIndex;
  await eventually(
    async () => {
      const s = await cluster.status(id);
      return s !== null && s.leaderId !== null && s.commitIndex >= target;
    },
    timeoutMs,
    `${id} catching up to ${target}`,
  );
  return Math.round(performance.now() - start);
}

// ---- pages -----------------------------------------------------------------------------------

const users = [
  { name: "page 1 (red waves)", color: "#e63946", width: 4, path: waves },
  { name: "page 2 (blue circles)", color: "#457b9d", width: 8, path: circles },
  { name: "page 3 (green zigzags)", color: "#2a9d8f", width: 2, path: zigzags },
];
await cluster.waitForLeader(30_000);
const boards: BoardPage[] = [];
for (const u of users) boards.push(await openUser(browser, ui.url, u.color, u.width, say));
const drawers = boards.map((b, i) => new Drawer(b, users[i].path));

const dash: Page = await (await browser.newContext({ viewport: { width: 1200, height: 750 } }))
  .newPage();
await dash.goto(`${ui.url}/dashboard`);
await dash.fill("#control-token", token);
await dash.click('[data-testid="unlock"]');
await dash.waitForFunction(
  () => (document.querySelector('[data-testid="leader"]')?.textContent ?? "").startsWith("replica"),
  undefined,
  { timeout: 30_000 },
);

recorder = new Recorder(await Deno.makeTempDir({ prefix: "whiteboard_demo_frames_" }), [
  ...boards.map((b, i) => ({ page: b.page, label: users[i].name })),
  { page: dash, label: "dashboard (/dashboard, controls unlocked)" },
]);
cleanup.push(() => Deno.remove(recorder!.dir, { recursive: true }));
await recorder.start();
/** Moments of the video kept as stills in docs/demo/. */
const stills: { name: string; at: number }[] = [];
const still = (name: string) => stills.push({ name, at: recorder!.seconds });

const startDrawing = () => drawers.forEach((d) => d.start());
const stopDrawing = () => Promise.all(drawers.map((d) => d.stop()));
const ackedOn = (b: BoardPage) => b.trace.acks.size;

// ---- the check after every step ----------------------------------------------------------------

/**
 * Drawing paused (and resumed after, unless `resume` is false): pages settle; every replica is up with the same committed log; every stroke
 * sent is in it exactly once at the index its ack named; all canvases show the same pixels.
 */
async function check(label: string, resume = true): Promise<void> {
  detail("check: pages settle, then replicas' logs, acks and canvases are compared");
  await stopDrawing();
  try {
    await settle(boards, 60_000);
    const leader = await cluster.waitForLeader(30_000);
    let sts: (StatusResponse | null)[] = [];
    await eventually(
      async () => {
        sts = await Promise.all(cluster.replicas.map((r) => cluster.status(r.id)));
        return sts.every((s) => s !== null && s.commitIndex === sts[0]!.commitIndex);
      },
      30_000,
      "every replica at the same commit index",
    ).catch((e) => {
      throw new Error(`${e.message}: ${JSON.stringify(sts.map((s) => s?.commitIndex))}`);
    });
    const logs: LogEntry[][] = await Promise.all(
      cluster.replicas.map((r) => cluster.entries(r.id)),
    );
    const json = logs.map((l) => l.map((e) => JSON.stringify(e)));
    for (const [i, l] of json.entries()) {
      const diff = l.findIndex((e, k) => e !== json[0][k]);
      if (l.length !== json[0].length || diff >= 0) {
        throw new Error(
          `${cluster.replicas[i].id}'s log differs from replica1's (lengths ${l.length}/${
            json[0].length
          }, first difference at ${diff})`,
        );
      }
    }
    const strokes = logs[0].filter(isStrokeEntry);
    const count = new Map<string, number>();
    const indexOf = new Map<string, number>();
    for (const e of strokes) {
      count.set(e.stroke.id, (count.get(e.stroke.id) ?? 0) + 1);
      indexOf.set(e.stroke.id, e.index);
    }
    const doubled = [...count].filter(([, n]) => n > 1).map(([id]) => id);
    if (doubled.length) throw new Error(`${doubled.length} strokes committed twice: ${doubled[0]}`);
    let sent = 0, acked = 0;
    for (const b of boards) {
      for (const id of b.trace.sent.keys()) {
        sent++;
        if (!count.has(id)) throw new Error(`stroke ${id} was sent but is in no log: lost`);
      }
      for (const [id, ack] of b.trace.acks) {
        acked++;
        if (indexOf.get(id) !== ack.index) {
          throw new Error(`ack of ${id} named ${ack.index}, the log has it at ${indexOf.get(id)}`);
        }
      }
      if (b.trace.conflictingAcks.length) throw new Error("a stroke was acked with two indexes");
    }
    if (strokes.length !== sent) {
      throw new Error(`the log has ${strokes.length} strokes, the pages sent ${sent}`);
    }
    const pages = await Promise.all(boards.map(pageState));
    for (const [i, p] of pages.entries()) {
      if (p.committedCount !== strokes.length) {
        throw new Error(`${users[i].name} shows ${p.committedCount} of ${strokes.length} strokes`);
      }
      if (p.digest !== pages[0].digest) throw new Error(`${users[i].name}'s canvas differs`);
      if (p.overlayInk !== 0) throw new Error(`${users[i].name} still shows pending ink`);
    }
    detail(
      `check passed: ${acked} acked strokes each once on all 3 replicas, logs identical ` +
        `(${logs[0].length} entries), 3 canvases identical`,
    );
    say(`  leader ${leader.id}; canvas sha256 ${pages[0].digest}`);
  } catch (e) {
    const msg = `${label}: ${(e as Error).message}`;
    failures.push(msg);
    detail(`CHECK FAILED ${msg}`);
  }
  await sleep(1200); // long enough to read in the video
  if (resume) startDrawing();
}

/** Resolves once every page has `n` more acks than now. */
async function moreAcks(n: number, timeoutMs = 60_000): Promise<void> {
  const base = boards.map(ackedOn);
  await eventually(
    () => boards.every((b, i) => ackedOn(b) >= base[i] + n),
    timeoutMs,
    `${n} more acks on every page`,
  );
}

// ---- the script ------------------------------------------------------------------------------

try {
  step(1, "Three users draw on one board");
  detail(`cluster: ${await roles()}`);
  startDrawing();
  await moreAcks(WARMUP_ACKS);
  detail(`drawing: ${boards.map(ackedOn).join(" / ")} strokes acked per page`);
  await check("several clients drawing");

  step(2, "The leader is SIGKILLed mid-drawing (kill button on the dashboard)");
  {
    await moreAcks(10);
    const old = await cluster.waitForLeader(30_000);
    const term = (await statusOf(old.id)).term;
    await eventually(() => drawers.every((d) => d.penDown), 5_000, "pens down").catch(() => {});
    detail(
      `killing leader ${old.id} (term ${term}) while ${
        drawers.filter((d) => d.penDown).length
      } pens are down`,
    );
    try {
      await dash.locator(`[data-testid="kill-${old.id}"]`).click({ timeout: 5_000 });
      await dash.locator('[data-testid="control-message"]', { hasText: `kill ${old.id}: done` })
        .waitFor({ timeout: 10_000 });
    } catch {
      say("(the dashboard's kill button did not answer: killing through the control endpoint)");
      await controlCall("kill", old.id);
    }
    if (cluster.replica(old.id).proc.running) throw new Error(`${old.id} is still running`);
    const killAt = controlSeen.get(`kill ${old.id}`)!;
    const next = await cluster.waitForLeader(15_000, [old.id]);
    const electedMs = Math.round(performance.now() - killAt);
    const nextTerm = (await statusOf(next.id)).term;
    await eventually(
      () =>
        boards.every((b) => [...b.trace.acks].some(([id]) => b.trace.sent.get(id)!.atMs > killAt)),
      30_000,
      "every page acked after the kill",
    );
    const firstAck = Math.min(
      ...boards.flatMap((b) =>
        [...b.trace.acks].filter(([id]) => b.trace.sent.get(id)!.atMs > killAt).map(([, a]) =>
          a.atMs
        )
      ),
    );
    detail(
      `new leader ${next.id} in term ${nextTerm} (seen ${electedMs} ms after the kill); ` +
        `first stroke drawn after the kill acked at +${Math.round(firstAck - killAt)} ms`,
    );
    await dash.waitForFunction(
      (id) => document.querySelector('[data-testid="leader"]')?.textContent === id,
      next.id,
      { timeout: 15_000 },
    ).then(() => say(`the dashboard shows ${next.id} leading`)).catch(() =>
      say("(the dashboard did not show the new leader within 15 s)")
    );
    still("2-new-leader");
    await moreAcks(15);
    await controlCall("start", old.id);
    detail(`${old.id} restarted: caught up in ${await caughtUp(old.id)} ms as a follower`);
  }
  await check("leader killed");

  step(3, `Hot reload: a source file touched, ${WATCHED} (deno run --watch) restarts in place`);
  {
    const before = (await cluster.status(WATCHED))?.state ?? "down";
    const seen = watchedLines.length;
    const at = performance.now();
    const acksBefore = boards.map(ackedOn);
    const now = new Date();
    await Deno.utime(`${REPO}replica/main.ts`, now, now);
    detail(`touched replica/main.ts; ${WATCHED} was ${before}`);
    await eventually(
      () => watchedLines.slice(seen).some((l) => /Restarting! File change detected/.test(l)),
      15_000,
      "deno --watch restarting",
    );
    await sleep(300);
    const ms = await caughtUp(WATCHED);
    const back = Math.round(performance.now() - at);
    const during = boards.reduce((n, b, i) => n + ackedOn(b) - acksBefore[i], 0);
    await moreAcks(10);
    detail(
      `${WATCHED} reloaded in place (same pid ${cluster.replica(WATCHED).proc.pid}), caught up ` +
        `${back} ms after the touch; ${during} strokes acked meanwhile`,
    );
    say(`  of which ${ms} ms catching up after it answered again`);
    say(`cluster: ${await roles()}`);
  }
  await check("hot reload");

  step(4, "Rolling restart, one replica at a time, the leader last (as deno task dev does)");
  await rollingRestart(
    cluster.replicas.map((r) => ({
      id: r.id,
      restart: async () => {
        if (r.id === WATCHED) {
          // Under --watch the script's exit leaves the watcher waiting for a change: end it.
          const seen = watchedLines.length;
          r.proc.signal("SIGTERM");
          await eventually(
            () => watchedLines.slice(seen).some((l) => /Process finished/.test(l)),
            10_000,
            "graceful exit",
          ).catch(() => {});
          await r.proc.kill();
        } else await r.proc.stop();
        r.proc.start();
      },
      status: () => cluster.status(r.id),
    })),
    (line) => detail(line),
  );
  await moreAcks(10);
  detail(`after the roll: ${await roles()}`);
  await check("rolling restart");

  step(5, `Rapid chaos: random SIGKILLs and pauses for a few seconds (seed ${SEED})`);
  {
    const rand = mulberry32(SEED);
    const end = performance.now() + 9_000;
    let faults = 0;
    while (performance.now() < end) {
      const r = cluster.replicas[Math.floor(rand() * cluster.replicas.length)];
      const kill = rand() < 0.5;
      const holdMs = 400 + Math.floor(rand() * 1200);
      const role = (await cluster.status(r.id))?.state ?? "down";
      detail(`${kill ? "SIGKILL" : "pause (SIGSTOP)"} ${r.id} (${role}) for ${holdMs} ms`);
      await controlCall(kill ? "kill" : "pause", r.id);
      faults++;
      await sleep(holdMs);
      await controlCall(kill ? "start" : "resume", r.id);
      await sleep(200 + Math.floor(rand() * 600));
      if (faults === 3) still("5-chaos");
    }
    const leader = await cluster.waitForLeader(30_000);
    await moreAcks(10);
    detail(`${faults} faults in 9 s; leader now ${leader.id}; ${await roles()}`);
  }
  await check("rapid chaos");

  step(6, "Partition: the leader cut off (control endpoint: SIGSTOP), then healed");
  {
    const old = await cluster.waitForLeader(30_000);
    const term = (await statusOf(old.id)).term;
    const at = performance.now();
    await controlCall("partition", old.id);
    detail(`${old.id}, leader of term ${term}, cut off (paused); the majority has to elect`);
    const next = await cluster.waitForLeader(15_000, [old.id]);
    const ms = Math.round(performance.now() - at);
    await moreAcks(15);
    still("6-partition");
    detail(
      `majority elected ${next.id} (term ${(await statusOf(next.id)).term}) in ${ms} ms ` +
        `and commits; ${old.id} stays cut off`,
    );
    await sleep(1500);
    await controlCall("heal", old.id);
    const back = await caughtUp(old.id);
    const s = await statusOf(old.id);
    detail(
      `healed: ${old.id} is ${s?.state} of term ${s?.term} (leader ${s?.leaderId}), ` +
        `caught up in ${back} ms`,
    );
    if (s?.state === "leader" && s.term === term) {
      failures.push("the healed old leader still leads");
    }
  }
  await check("partition and heal");

  step(7, "A late user opens the board: the whole history, the same picture");
  {
    await stopDrawing();
    const late = await openUser(browser, ui.url, "#8338ec", 4, say);
    await settle([...boards, late], 60_000);
    const [a, l] = await Promise.all([pageState(boards[0]), pageState(late)]);
    if (a.digest !== l.digest || a.committedCount !== l.committedCount) {
      failures.push(
        `late page: ${l.committedCount} strokes, digest differs: ${a.digest !== l.digest}`,
      );
      detail("CHECK FAILED the late page differs from page 1");
    } else {
      detail(
        `late page: ${l.committedCount} strokes, canvas identical to the others ` +
          `(sha256 ${l.digest.slice(0, 12)}…)`,
      );
    }
    await late.page.context().close();
    startDrawing();
  }
  await check("final", false);
  await sleep(800);
} catch (e) {
  failures.push(`the script stopped: ${(e as Error).stack ?? e}`);
  say(`FAILED: ${(e as Error).message}`);
}

// ---- the video and the report --------------------------------------------------------------

try {
  recorder.caption(
    failures.length
      ? `${failures.length} check(s) failed`
      : "All checks passed: nothing lost, nothing doubled, every canvas identical",
  );
  still("7-final");
  await sleep(1500);
  await stopDrawing();
  const seconds = await recorder.finish(VIDEO);
  const size = (await Deno.stat(VIDEO)).size;
  say(`video: ${VIDEO.slice(REPO.length)}, ${seconds.toFixed(1)} s, ${(size / 1e6).toFixed(1)} MB`);
  await Deno.mkdir(STILLS, { recursive: true });
  for (const s of stills) {
    await stillFrame(VIDEO, Math.min(s.at + 0.5, seconds - 0.2), `${STILLS}/${s.name}.jpg`);
  }
  say(`stills: ${stills.map((s) => `docs/demo/${s.name}.jpg`).join(", ")}`);
} catch (e) {
  failures.push(`video: ${(e as Error).message}`);
  say(`video FAILED: ${(e as Error).message}`);
}
say(
  failures.length
    ? `${failures.length} FAILED:\n  ${failures.join("\n  ")}`
    : `all checks passed; run time ${((performance.now() - t0) / 1000).toFixed(0)} s`,
);
await Deno.writeTextFile(LOG, narrative.join("\n") + "\n");
await shutdown();
Deno.exit(failures.length ? 1 : 0);
