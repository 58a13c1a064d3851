/**
 * Clients that keep drawing (each stroke after the last one's ack) through a
 * fault, and the checks that follow it: the longest stretch without an ack,
 * and every acked stroke exactly once, the same on every stream.
 */
import assert from "node:assert/strict";
import { testStroke } from "./local_cluster.ts";
import type { GatewayClient } from "../../gateway/client.ts";

/** Strokes being drawn by several clients until `stop()`. */
export interface Drawing {
  /** Ids sent so far, in sending order. */
  sent: string[];
  /** `performance.now()` of every ack. */
  ackedAt: number[];
  /** Lets every client finish its current stroke, then resolves. */
  stop(): Promise<void>;
}

/** Starts every client drawing sequentially; ids are `c<i>-<n>`. */
export function startDrawing(clients: GatewayClient[]): Drawing {
  const sent: string[] = [];
  const ackedAt: number[] = [];
  let drawing = true;
  const drawers = clients.map(async (client, c) => {
    for (let i = 0; drawing; i++) {
      const id = `c${c}-${i}`;
      sent.push(id);
      client.sendStroke(testStroke(id, i));
      await client.waitForAcks([id], 30_000);
      ackedAt.push(performance.now());
    }
  });
  return {
    sent,
    ackedAt,
    async stop() {
      drawing = false;
      await Promise.all(drawers);
    },
  };
}

/**
 * The longest stretch of [t0, t1] without an ack. Gaps, not the first ack
 * after t0: that one may belong to a stroke committed before the fault.
 */
export function longestGapMs(ackedAt: number[], t0: number, t1: number): number {
  const marks = [t0, ...ackedAt.filter((t) => t > t0 && t < t1).sort((a, b) => a - b), t1];
  return Math.max(...marks.slice(1).map((t, i) => t - marks[i]));
}

/** Every sent stroke reached every client once, at the same index, and acks agree. */
export async function assertSameStreams(clients: GatewayClient[], sent: string[]): Promise<void> {
  const streams = await Promise.all(clients.map((c) => c.waitForStrokes(sent, 20_000)));
  const reference = streams[0].map((e) => `${e.index}:${e.stroke.id}`);
  assert.equal(new Set(streams[0].map((e) => e.stroke.id)).size, reference.length, "a repeat");
  assert.equal(reference.length, sent.length, "each sent stroke exactly once");
  for (const s of streams.slice(1)) {
    assert.deepEqual(s.map((e) => `${e.index}:${e.stroke.id}`), reference);
  }
  const byId = new Map(streams[0].map((e) => [e.stroke.id, e.index]));
  for (const c of clients) {
    for (const [id, index] of c.acks()) assert.equal(byId.get(id), index, `ack of ${id}`);
  }
}
