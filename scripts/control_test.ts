import assert from "node:assert/strict";
import { controlHandler, controlToken } from "./control.ts";
import { LocalCluster } from "../tests/testing/local_cluster.ts";

Deno.test("control endpoint: the token is required, bad requests change nothing", async () => {
  const dir = await Deno.makeTempDir();
  // Never started: the handler may only look at the processes, and a bad request must not start any.
  const cluster = new LocalCluster({ dir, ports: [1, 2, 3] });
  const lines: string[] = [];
  const handle = (members: boolean) =>
    controlHandler({ cluster, others: [], token: "t0k", members, log: (l) => lines.push(l) });
  const call = (h: ReturnType<typeof handle>, method: string, path: string, auth?: string) =>
    h(
      new Request(`http://c${path}`, {
        method,
        headers: auth === undefined ? {} : { authorization: auth },
      }),
    );
  const on = handle(true);
  assert.equal((await call(on, "GET", "/replicas")).status, 401);
  assert.equal((await call(on, "POST", "/kill?target=replica1", "Bearer nope")).status, 401);
  const list = await call(on, "GET", "/replicas", "Bearer t0k");
  assert.deepEqual((await list.json()).map((r: { name: string }) => r.name), [
    "replica1",
    "replica2",
    "replica3",
  ]);
  for (
    const path of [
      "/explode?target=replica1",
      "/kill?target=nobody",
      "/kill",
      "/toString?target=replica1",
    ]
  ) {
    const res = await call(on, "POST", path, "Bearer t0k");
    assert.equal(res.status, 400, path);
    assert.match((await res.json()).error, /POST \/kill/);
  }
  assert.equal((await call(on, "DELETE", "/members/nobody", "Bearer t0k")).status, 404);
  // Controls off: membership changes are not offered at all.
  const off = handle(false);
  assert.equal((await call(off, "POST", "/members", "Bearer t0k")).status, 400);
  assert.equal((await call(off, "DELETE", "/members/replica1", "Bearer t0k")).status, 400);
  assert.deepEqual(lines, [], "nothing was acted on");
  assert.ok(cluster.replicas.every((r) => !r.proc.running));
  const partition = await call(on, "POST", "/partition?target=replica2", "Bearer t0k");
  assert.match((await partition.json()).note, /approximated by a pause/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("control token: the cluster's when set, else a fresh one in a private file", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/control-token`;
  assert.equal(await controlToken("cluster-secret", file), "cluster-secret");
  const a = await controlToken(undefined, file);
  assert.match(a, /^[0-9a-f]{64}$/);
  assert.equal((await Deno.readTextFile(file)).trim(), a);
  assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
  assert.notEqual(await controlToken(undefined, file), a, "every start gets its own");
  await Deno.remove(dir, { recursive: true });
});
