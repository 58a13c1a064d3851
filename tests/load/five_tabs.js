/**
 * The seed's "open 5 browser tabs and draw simultaneously", as a k6 script. Five VUs join one
 * fresh board; each draws like a hand (segments at ~60/s in strokes of 20-90 segments, short
 * pauses), waits for every ack, then announces how many strokes it committed in a last marker
 * stroke. Each tab checks it received exactly that many strokes from every other tab, so all
 * five end with the same picture (`tab_converged`).
 *
 *   ~/go/bin/k6 run tests/load/five_tabs.js      (or: deno task load)
 *
 * Env: GATEWAY_URL (ws://127.0.0.1:8080/ws), DRAW_SECONDS (30), BOARD (default: new per run).
 */
import { connect, draw, hangUp, newBook, newRunId, sendStroke, settle } from "./board_client.js";
// k6's modules exist only inside k6, and `deno check .` resolves every `import` in the repo:
// `require` (which k6 also offers) keeps them out of Deno's module graph.
const exec = require("k6/execution");
const { Rate } = require("k6/metrics");
const { clearInterval, setInterval } = require("k6/timers");

const TABS = 5;
const DRAW_SECONDS = Number(__ENV.DRAW_SECONDS || 30);
const ACK_WAIT_MS = 15_000;
const PEER_WAIT_MS = 20_000;
const MARKER = "done-";

/** A person drawing: 20-90 segments per stroke at ~60/s, 0.2-1.2 s between strokes. */
const HAND = {
  segmentsPerSec: 60,
  burst: [20, 90],
  pauseMs: [200, 1200],
  drawMs: DRAW_SECONDS * 1000,
};

const tabConverged = new Rate("tab_converged");

export const options = {
  scenarios: {
    tabs: {
      executor: "per-vu-iterations",
      vus: TABS,
      iterations: 1,
      maxDuration: `${DRAW_SECONDS + 90}s`,
    },
  },
  thresholds: {
    // Targets for this 2-core box with everything (3 replicas, gateway, k6) on it; see README.
    ack_latency: ["p(95)<100", "p(99)<250"],
    hello_latency: ["p(95)<1000"],
    strokes_acked: ["count>0"], // a Rate with no samples passes: make sure the tabs drew
    stroke_acked: ["rate==1"],
    error_rate: ["rate==0"],
    protocol_violations: ["count==0"],
    tab_converged: ["rate==1"],
  },
};

/** One fresh board and id prefix per run, so reruns never collide with old strokes. */
export function setup() {
  const runId = newRunId();
  return { runId, board: __ENV.BOARD || `tabs-${runId}` };
}

/** One tab: draw, settle, announce, then compare what every other tab announced. */
export default function (data) {
  const tab = `t${exec.vu.idInTest}`;
  const book = newBook(`${data.runId}.${tab}.`);
  const received = new Map(); // peer tab → its strokes streamed to us
  const claimed = new Map(); // peer tab → strokes it says it committed
  const onStroke = (entry) => {
    // Ids are `${runId}.${tab}.${counter}`, the marker `${runId}.${tab}.done-${count}`.
    const [run, who, n] = entry.stroke.id.split(".");
    if (run !== data.runId || who === tab) return;
    if (n.startsWith(MARKER)) claimed.set(who, Number(n.slice(MARKER.length)));
    else received.set(who, (received.get(who) || 0) + 1);
  };
  let judged = false; // tab_converged gets exactly one sample per tab, whatever happens
  const judge = (converged) => {
    if (!judged) tabConverged.add(converged);
    judged = true;
  };
  const conn = connect({
    board: data.board,
    book,
    onStroke,
    onHello: () => draw(conn, book, HAND, () => settle(conn, book, ACK_WAIT_MS, announce)),
    onClose: () => judge(false), // after a verdict (hang-up) this changes nothing
  });
  const announce = () => {
    if (conn.closed) return judge(false);
    const committed = book.ackIndex.size;
    sendStroke(conn, book, {
      id: `${data.runId}.${tab}.${MARKER}${committed}`,
      x0: 0,
      y0: 0,
      x1: 0,
      y1: 0,
      color: "#000000",
      width: 1,
    });
    awaitPeers(() => settle(conn, book, ACK_WAIT_MS, () => hangUp(conn)));
  };
  const awaitPeers = (then) => {
    const deadlineMs = Date.now() + PEER_WAIT_MS;
    const poll = setInterval(() => {
      const peersDone = claimed.size === TABS - 1 &&
        [...claimed].every(([who, count]) => received.get(who) === count);
      if (!peersDone && !conn.closed && Date.now() < deadlineMs) return;
      clearInterval(poll);
      if (!peersDone) {
        console.warn(`${tab} differs: received ${[...received]} claimed ${[...claimed]}`);
      }
      judge(peersDone);
      then();
    }, 100);
  };
}
