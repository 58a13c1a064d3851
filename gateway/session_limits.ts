/** Per-client limits and the WebSocket close codes the gateway uses. */
import { MAX_CURSORS_PER_SECOND } from "../protocol/mod.ts";

/** Per-client limits; sizes in bytes, times in milliseconds. */
export interface SessionLimits {
  maxMessageBytes: number;
  /** Strokes are streamed only while the socket buffers less than this. */
  sendHighWaterBytes: number;
  /** Any send beyond this closes the socket at once. */
  maxBufferedBytes: number;
  /** A client stuck above the high-water mark this long is closed (it resumes with `since`). */
  slowClientTimeoutMs: number;
  drainCheckMs: number;
  maxEntriesPerMessage: number;
  messagesPerSec: number;
  messageBurst: number;
  /** Refused messages allowed before a flooding client is closed. */
  refusalsPerSec: number;
  refusalBurst: number;
  /** Cursor messages fanned out per second (CONTRACT.md: at most 30); more are dropped. */
  cursorsPerSec: number;
  cursorBurst: number;
  /** Dropped cursors allowed before a client that floods them is closed. */
  droppedCursorsPerSec: number;
  droppedCursorBurst: number;
  /** A presence message to a client whose socket buffers more than this is dropped, not queued. */
  presenceHighWaterBytes: number;
}

/** Defaults for production. */
export const DEFAULT_LIMITS: SessionLimits = {
  maxMessageBytes: 64 * 1024,
  sendHighWaterBytes: 1024 * 1024,
  maxBufferedBytes: 8 * 1024 * 1024,
  slowClientTimeoutMs: 5000,
  drainCheckMs: 50,
  maxEntriesPerMessage: 500,
  messagesPerSec: 500,
  messageBurst: 1000,
  refusalsPerSec: 500,
  refusalBurst: 2000,
  cursorsPerSec: MAX_CURSORS_PER_SECOND,
  cursorBurst: MAX_CURSORS_PER_SECOND,
  // A page that sends a cursor per animation frame (60-144 a second) is careless, not
  // abusive: only ten times the allowed rate, sustained, closes the socket.
  droppedCursorsPerSec: 10 * MAX_CURSORS_PER_SECOND,
  droppedCursorBurst: 300,
  presenceHighWaterBytes: 64 * 1024,
};

/** WebSocket close codes used here (RFC 6455 section 7.4.1). */
export const CloseCode = {
  goingAway: 1001,
  policy: 1008,
  tooBig: 1009,
  internal: 1011,
  tryAgainLater: 1013,
} as const;
