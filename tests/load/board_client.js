/**
 * A k6 WebSocket client of the gateway (see CONTRACT.md): it joins a board, draws segments in
 * bursts the way a hand moves a pointer, and records what the contract promises. Every stroke
 * gets an ack; committed strokes arrive in strictly increasing index order, each once; an own
 * stroke is streamed at the index its ack named; a resent id is acked at its first index.
 *
 * Shared by five_tabs.js and stress.js. Runs inside k6 (k6/websockets), not Deno.
 */
// k6's modules exist only inside k6, and `deno check .` resolves every `import` in the repo:
// `require` (which k6 also offers) keeps them out of Deno's module graph.
const { WebSocket } = require("k6/websockets");
const { clearInterval, setInterval, setTimeout } = require("k6/timers");
const { Counter, Rate, Trend } = require("k6/metrics");

/** Gateway endpoint; only 127.0.0.1 may be targeted from this machine. */
export const GATEWAY_URL = __ENV.GATEWAY_URL || "ws://127.0.0.1:8080/ws";

/** Custom metrics; their names are what the thresholds and the README refer to. */
export const metrics = {
  /** Send → ack of the same id (committed on a majority). */
  ackLatency: new Trend("ack_latency", true),
  /** Socket opened → `hello` received. */
  helloLatency: new Trend("hello_latency", true),
  strokesSent: new Counter("strokes_sent"),
  strokesAcked: new Counter("strokes_acked"),
  /** Strokes sent again (same id) after a reconnect. */
  strokesResent: new Counter("strokes_resent"),
  /** One sample per sent stroke once its fate is known: true = acked. */
  strokeAcked: new Rate("stroke_acked"),
  /** Per outcome: an ack (false); an error message, socket error or unasked-for close (true). */
  errors: new Rate("error_rate"),
  /** Committed strokes of other clients received live (after `hello`). */
  fromOthers: new Counter("strokes_from_others"),
  /** Committed strokes received in the replay that follows `hello`. */
  replayed: new Counter("strokes_replayed"),
  /** How late the drawing timer fired: k6's own event loop falling behind (client saturation). */
  drawTimerLag: new Trend("draw_timer_lag", true),
  /** Broken promises of the contract (order, repeats, index mismatch, unknown acks). */
  violations: new Counter("protocol_violations"),
};

const COLORS = ["#e63946", "#1d3557", "#457b9d", "#2a9d8f", "#f4a261", "#6a4c93"];
const MAX_LOGGED_PER_VU = 5;
let loggedProblems = 0;

/** Logs the first few problems of a VU; the counters carry the rest. */
function report(what, detail) {
  if (loggedProblems++ < MAX_LOGGED_PER_VU) console.warn(`${what}: ${detail}`);
}

function violation(what) {
  metrics.violations.add(1);
  report("protocol violation", what);
}

function randInt(min, max) {
  return min + Math.floor(Math.random() * (max - min + 1));
}

/** A uniformly random integer in [range[0], range[1]]. */
export function pickIn(range) {
  return randInt(range[0], range[1]);
}

/**
 * What one VU knows about its own strokes during an iteration (it outlives a reconnect):
 * strokes waiting for an ack, and the index each acked or streamed stroke got.
 */
export function newBook(idPrefix) {
  return {
    idPrefix,
    counter: 0,
    /** id → {stroke, sentMs} */
    pending: new Map(),
    /** id → index from the ack */
    ackIndex: new Map(),
    /** id → index from the stream */
    streamIndex: new Map(),
    /** Acked ids not yet seen on the stream. */
    unseen: new Set(),
    /** Highest committed index streamed to this VU (the `since` for a reconnect). */
    lastIndex: 0,
  };
}

/**
 * Opens one connection to `board` resuming after `since`; `onHello(conn)` runs once `hello`
 * arrives, `onStroke(entry)` for each committed stroke, `onClose(conn)` when the socket closes.
 */
export function connect({ board, since = 0, book, onHello, onStroke, onClose }) {
  const openedMs = Date.now();
  const ws = new WebSocket(`${GATEWAY_URL}?board=${board}&since=${since}`);
  const conn = { ws, board, closing: false, closed: false, helloIndex: null, lastIndex: since };
  ws.addEventListener("message", (e) => {
    let msg;
    try {
      msg = JSON.parse(e.data);
    } catch {
      return violation(`unparsable message ${String(e.data).slice(0, 80)}`);
    }
    handle(conn, book, msg, { onStroke });
    if (msg.type === "hello" && onHello) {
      metrics.helloLatency.add(Date.now() - openedMs);
      onHello(conn);
    }
  });
  ws.addEventListener("error", (e) => {
    metrics.errors.add(true);
    report("socket error", e.error);
  });
  ws.addEventListener("close", () => {
    conn.closed = true;
    if (!conn.closing) {
      metrics.errors.add(true);
      report("unexpected close", board);
    }
    if (onClose) onClose(conn);
  });
  return conn;
}

/** Closes on purpose (not counted as an error). */
export function hangUp(conn) {
  conn.closing = true;
  conn.ws.close();
}

function handle(conn, book, msg, { onStroke }) {
  switch (msg.type) {
    case "hello":
      conn.helloIndex = msg.commitIndex;
      return;
    case "strokes":
      for (const entry of msg.entries) onEntry(conn, book, entry, onStroke);
      return;
    case "ack":
      return onAck(book, msg);
    case "error":
      metrics.errors.add(true);
      report("error message", JSON.stringify(msg));
      if (book.pending.delete(msg.id)) metrics.strokeAcked.add(false);
      return;
    default:
      // `cluster` and any message type added later (the contract grows additively): not ours.
      return;
  }
}

function onEntry(conn, book, entry, onStroke) {
  if (entry.index <= conn.lastIndex) {
    violation(`index ${entry.index} after ${conn.lastIndex} on ${conn.board}`);
  }
  conn.lastIndex = entry.index;
  if (entry.index > book.lastIndex) book.lastIndex = entry.index;
  const id = entry.stroke.id;
  if (book.ackIndex.has(id) || book.pending.has(id) || book.streamIndex.has(id)) {
    const known = book.ackIndex.get(id) ?? book.streamIndex.get(id);
    if (known !== undefined && known !== entry.index) {
      violation(`own stroke ${id} streamed at ${entry.index}, known at ${known}`);
    }
    book.streamIndex.set(id, entry.index);
    book.unseen.delete(id);
  } else if (conn.helloIndex !== null && entry.index > conn.helloIndex) {
    if (!id.startsWith(book.idPrefix)) metrics.fromOthers.add(1);
  } else {
    metrics.replayed.add(1);
  }
  if (onStroke) onStroke(entry);
}

function onAck(book, msg) {
  const p = book.pending.get(msg.id);
  if (!p) return violation(`ack for ${msg.id}, which is not waiting for one`);
  book.pending.delete(msg.id);
  metrics.ackLatency.add(Date.now() - p.sentMs);
  metrics.strokesAcked.add(1);
  metrics.strokeAcked.add(true);
  metrics.errors.add(false);
  const known = book.ackIndex.get(msg.id) ?? book.streamIndex.get(msg.id);
  if (known !== undefined && known !== msg.index) {
    violation(`ack of ${msg.id} at ${msg.index}, first committed at ${known}`);
  }
  book.ackIndex.set(msg.id, msg.index);
  if (!book.streamIndex.has(msg.id)) book.unseen.add(msg.id);
}

/** Sends one stroke and starts waiting for its ack. */
export function sendStroke(conn, book, stroke) {
  book.pending.set(stroke.id, { stroke, sentMs: Date.now() });
  metrics.strokesSent.add(1);
  conn.ws.send(JSON.stringify({ type: "stroke", stroke }));
}

/** Sends again (same ids) the strokes a dropped connection left without an ack. */
export function resendPending(conn, book) {
  for (const p of book.pending.values()) {
    p.sentMs = Date.now();
    metrics.strokesResent.add(1);
    conn.ws.send(JSON.stringify({ type: "stroke", stroke: p.stroke }));
  }
}

function nextId(book) {
  return `${book.idPrefix}${book.counter++}`;
}

/**
 * Draws gestures of `hand.burst` segments at `hand.segmentsPerSec`, pausing `hand.pauseMs`
 * between them, for `hand.drawMs`; then calls `done` (also when the socket dropped, not when
 * it was hung up on purpose).
 */
export function draw(conn, book, hand, done) {
  const endMs = Date.now() + hand.drawMs;
  const gesture = () => {
    if (conn.closing) return; // hung up on purpose: whoever did so decides what comes next
    if (conn.closed || Date.now() >= endMs) return done();
    let left = pickIn(hand.burst);
    let x = randInt(0, 1600);
    let y = randInt(0, 900);
    const color = COLORS[randInt(0, COLORS.length - 1)];
    const width = randInt(1, 8);
    const periodMs = 1000 / hand.segmentsPerSec;
    let lastTickMs = Date.now();
    const timer = setInterval(() => {
      const nowMs = Date.now();
      metrics.drawTimerLag.add(Math.max(0, nowMs - lastTickMs - periodMs));
      lastTickMs = nowMs;
      if (conn.closed || conn.closing || left-- <= 0) {
        clearInterval(timer);
        setTimeout(gesture, pickIn(hand.pauseMs));
        return;
      }
      const x1 = x + randInt(-12, 12);
      const y1 = y + randInt(-12, 12);
      sendStroke(conn, book, { id: nextId(book), x0: x, y0: y, x1, y1, color, width });
      x = x1;
      y = y1;
    }, periodMs);
  };
  gesture();
}

/**
 * Waits until every sent stroke is acked and streamed back, at most `timeoutMs`; strokes still
 * without an ack then count as not acked. Calls `then` (with the socket still open if it was).
 */
export function settle(conn, book, timeoutMs, then) {
  const deadlineMs = Date.now() + timeoutMs;
  const poll = setInterval(() => {
    const settled = book.pending.size === 0 && book.unseen.size === 0;
    if (!settled && !conn.closed && Date.now() < deadlineMs) return;
    clearInterval(poll);
    for (const id of book.pending.keys()) report("no ack", id);
    for (let i = 0; i < book.pending.size; i++) metrics.strokeAcked.add(false);
    book.pending.clear();
    // A socket that dropped already counted as an error; an open one owes us these strokes.
    if (!conn.closed) {
      for (const id of book.unseen) violation(`acked stroke ${id} never streamed back`);
    }
    book.unseen.clear();
    then();
  }, 50);
}

/** A short random id for this run, so reruns never reuse stroke ids or boards. */
export function newRunId() {
  return `${Date.now().toString(36)}${randInt(0, 1295).toString(36)}`;
}
