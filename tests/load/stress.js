/**
 * Stress: drawers ramp up to STRESS_VUS (200) on BOARDS (20) boards and draw twice as fast as a
 * person, in sessions of 8-15 s: the first session of a VU replays the whole board, later ones
 * resume after the last index seen; each waits for all its acks before it hangs up. Alongside,
 * a few churners drop their connection mid-stroke, reconnect with `since` = the last index they
 * saw and resend what was not acked (same ids): the replay must resume exactly after `since`,
 * and every resent stroke be acked once, at the index it was first committed at. About 95 s.
 *
 *   ~/go/bin/k6 run tests/load/stress.js
 *
 * Env: GATEWAY_URL (ws://127.0.0.1:8080/ws), STRESS_VUS (200), BOARDS (20),
 * SEGMENTS_PER_SEC (120; stay well under the gateway's 500 messages/s per client).
 */
import {
  connect,
  draw,
  hangUp,
  newBook,
  newRunId,
  pickIn,
  resendPending,
  settle,
} from "./board_client.js";
// k6's modules exist only inside k6, and `deno check .` resolves every `import` in the repo:
// `require` (which k6 also offers) keeps them out of Deno's module graph.
const exec = require("k6/execution");
const { setTimeout } = require("k6/timers");

const STRESS_VUS = Number(__ENV.STRESS_VUS || 200);
const BOARDS = Number(__ENV.BOARDS || 20);
const SEGMENTS_PER_SEC = Number(__ENV.SEGMENTS_PER_SEC || 120);
const CHURNERS = 4;
const ACK_WAIT_MS = 20_000;

/** A fast hand: long strokes at SEGMENTS_PER_SEC with short pauses. */
function fastHand(drawMs) {
  return { segmentsPerSec: SEGMENTS_PER_SEC, burst: [30, 120], pauseMs: [100, 500], drawMs };
}

export const options = {
  scenarios: {
    drawers: {
      executor: "ramping-vus",
      exec: "drawer",
      startVUs: 0,
      stages: [
        { duration: "15s", target: Math.ceil(STRESS_VUS / 5) },
        { duration: "20s", target: Math.ceil(STRESS_VUS / 2) },
        { duration: "20s", target: STRESS_VUS },
        { duration: "15s", target: STRESS_VUS },
        { duration: "10s", target: 0 },
      ],
      gracefulRampDown: "40s",
    },
    churners: {
      executor: "constant-vus",
      exec: "churner",
      vus: CHURNERS,
      duration: "80s",
      gracefulStop: "40s",
    },
  },
  thresholds: {
    // Targets for this 2-core box with everything (3 replicas, gateway, k6) on it; see README.
    ack_latency: ["p(95)<1000", "p(99)<2000"],
    "ack_latency{scenario:churners}": ["p(95)<1000"],
    hello_latency: ["p(95)<2000"],
    strokes_acked: ["count>0"], // a Rate with no samples passes: make sure VUs drew
    stroke_acked: ["rate==1"],
    error_rate: ["rate==0"],
    protocol_violations: ["count==0"],
  },
};

/** A fresh run id: boards and stroke ids never collide with an earlier run. */
export function setup() {
  return { runId: newRunId() };
}

function boardOf(data, vu) {
  return `stress-${data.runId}-b${vu % BOARDS}`;
}

/** Last committed index this VU saw; its next session resumes after it, as the UI does. */
let lastSeen = 0;

/** A tab session: replay after `lastSeen`, draw fast for 8-15 s, wait for every ack, leave. */
export function drawer(data) {
  const vu = exec.vu.idInTest;
  const book = newBook(`${data.runId}.d${vu}.${exec.vu.iterationInScenario}.`);
  book.lastIndex = lastSeen;
  const hand = fastHand(pickIn([8000, 15000]));
  const conn = connect({
    board: boardOf(data, vu),
    since: lastSeen,
    book,
    onHello: () =>
      draw(conn, book, hand, () =>
        settle(conn, book, ACK_WAIT_MS, () => {
          lastSeen = book.lastIndex;
          hangUp(conn);
        })),
  });
}

/** Draw, drop the socket mid-stroke, reconnect with `since`, resend the unacked, settle. */
export function churner(data) {
  const vu = exec.vu.idInTest;
  const board = boardOf(data, vu);
  const book = newBook(`${data.runId}.c${vu}.${exec.vu.iterationInScenario}.`);
  const resume = () => {
    const again = connect({
      board,
      since: book.lastIndex,
      book,
      onHello: () => {
        resendPending(again, book);
        draw(
          again,
          book,
          fastHand(pickIn([500, 1500])),
          () =>
            settle(again, book, ACK_WAIT_MS, () => {
              lastSeen = book.lastIndex;
              hangUp(again);
            }),
        );
      },
    });
  };
  book.lastIndex = lastSeen;
  const first = connect({
    board,
    since: lastSeen,
    book,
    onHello: () => {
      draw(first, book, fastHand(60_000), () => {});
      setTimeout(() => hangUp(first), pickIn([500, 3000]));
    },
    // Hung up on purpose or dropped: either way a client comes back and resumes.
    onClose: resume,
  });
}
