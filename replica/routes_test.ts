/** The replica's routes in-process (`app.request`): an impossible state stops the replica. */
import assert from "node:assert/strict";
import { envFrom } from "../common/config.ts";
import { loadConfig } from "./config.ts";
import type { Driver } from "./driver.ts";
import { PeerDirectory } from "./peers.ts";
import { RaftInvariantError } from "./raft/types.ts";
import { replicaApp } from "./routes.ts";
import { SnapshotReceiver } from "./snapshot/receiver.ts";

Deno.test("a RaftInvariantError raised while answering an RPC is fatal, not a 500 that passes", async () => {
  const cfg = loadConfig(envFrom({ PEERS: "b=http://127.0.0.1:1" }));
  const peers = new PeerDirectory(
    { id: cfg.replicaId, url: cfg.advertiseUrl },
    cfg.peers,
    () => Promise.resolve(null),
    () => {},
    () => {},
    1000,
  );
  const broken = {
    handleRpc: () => {
      throw new RaftInvariantError("term going back from 5 to 4");
    },
  } as unknown as Driver;
  const fatal: unknown[] = [];
  const receiver = await SnapshotReceiver.open(await Deno.makeTempDir());
  const app = replicaApp(cfg, broken, peers, receiver, {
    say: () => {},
    fatal: (e: unknown) => fatal.push(e),
  });
  const res = await app.request("/heartbeat", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ term: 1, leaderId: "b", leaderCommit: 0 }),
  });
  await res.body?.cancel();
  assert.equal(fatal.length, 1, "the replica must stop");
  assert.match(String(fatal[0]), /term going back/);
});
