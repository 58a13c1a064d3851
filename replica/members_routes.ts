/**
 * The membership API (CONTRACT.md, "Membership"): `GET /members`, and on the
 * leader `POST /members` (add a replica: a learner first, a voter once the
 * core promoted it) and `DELETE /members/{id}`. Each change goes through the
 * core's `proposeMembers` (one server at a time, see raft/membership.ts);
 * this module checks the request, asks the new replica who it is, and waits
 * until the change is committed. One change at a time per leader: a second
 * request while one is waiting gets 409.
 */
import type { Hono } from "hono";
import { isBaseUrl, isObject, isReplicaId, type Member } from "../protocol/mod.ts";
import type { ReplicaConfig } from "./config.ts";
import type { Driver } from "./driver.ts";
import type { ReplicaClient } from "./client.ts";
import { MembershipError } from "./raft/membership.ts";
import { NotLeaderError } from "./raft/types.ts";
import type { Say } from "./log_line.ts";
import { readJson } from "./read_body.ts";

/** Longest wait for a new member to catch up and be promoted (a large history ships first). */
export const PROMOTION_TIMEOUT_MS = 120_000;
/** Longest wait for a removal, or for the leader's first commit of its term, to commit. */
const COMMIT_TIMEOUT_MS = 10_000;
const POLL_MS = 10;
const MAX_BODY_BYTES = 4096;

/** What the routes need besides the driver. */
export interface MembersDeps {
  cfg: ReplicaConfig;
  driver: Driver;
  /** Asks a URL for its `/status` (open, no token needed). */
  client: ReplicaClient;
  /** Where a member id is reached, for leader hints. */
  urlOf(id: string | null): string | null;
  say: Say;
}

class Refusal extends Error {
  constructor(readonly status: 400 | 404 | 409 | 421 | 502 | 503 | 504, message: string) {
    super(message);
  }
}

/** Adds the membership routes to `app`. */
export function membersRoutes(app: Hono, deps: MembersDeps): void {
  const { driver } = deps;
  let busy = false;

  const view = () => {
    const st = driver.node.status();
    return { members: st.members, configIndex: st.configIndex };
  };

  /** Runs one change at a time; refusals become their status and `{error}` (plus a leader hint). */
  const change = async (run: () => Promise<Response | void>): Promise<Response> => {
    if (busy) {
      return Response.json({ error: "another membership change is in progress" }, { status: 409 });
    }
    busy = true;
    try {
      return await run() ?? Response.json(view());
    } catch (e) {
      if (!(e instanceof Refusal)) throw e;
      const st = driver.node.status();
      const hint = e.status === 421 || e.status === 503
        ? { leaderId: st.leaderId, leaderUrl: deps.urlOf(st.leaderId) }
        : {};
      return Response.json({ error: e.message, ...hint }, { status: e.status });
    } finally {
      busy = false;
    }
  };

  app.get("/members", (c) => c.json(view()));

  app.post("/members", async (c) => {
    const body = await readJson(c.req.raw, MAX_BODY_BYTES);
    if (!body.ok) return c.json({ error: body.error }, body.status);
    const b = body.value;
    if (!isObject(b) || !isBaseUrl(b.url)) {
      return c.json(
        { error: "body must be {url} with an http(s) base URL (and optionally id)" },
        400,
      );
    }
    if (b.id !== undefined && !isReplicaId(b.id)) {
      return c.json({ error: "id must be 1-64 chars of [A-Za-z0-9_-]" }, 400);
    }
    const url = b.url.replace(/\/+$/, "");
    const wanted = b.id as string | undefined;
    return await change(async () => {
      leaderOrRefuse(driver);
      const members = driver.node.members();
      checkIdentified(members);
      if (members.some((m) => m.url === url)) throw new Refusal(409, `${url} is already a member`);
      const st = await deps.client.status(url, { timeoutMs: deps.cfg.electionTimeoutMinMs * 2 });
      if (!st) throw new Refusal(502, `cannot reach a replica at ${url} (GET /status failed)`);
      if (wanted !== undefined && st.replicaId !== wanted) {
        throw new Refusal(400, `${url} answers as ${st.replicaId}, not ${wanted}`);
      }
      const id = st.replicaId;
      if (!isReplicaId(id)) throw new Refusal(502, `${url} gave no valid replica id`);
      if (members.some((m) => m.id === id)) throw new Refusal(409, `${id} is already a member`);
      const started = Date.now();
      await propose(deps, [...members, { id, url, voter: false }]);
      deps.say("member_adding", { id, url });
      await waitUntil(deps, PROMOTION_TIMEOUT_MS, () => {
        const now = driver.node.members().find((m) => m.id === id);
        if (!now) throw new Refusal(409, `${id} was removed while it was being added`);
        return now.voter && committed(driver);
      }, `${id} is a learner still catching up; it becomes a voter once caught up`);
      deps.say("member_added", { id, url, ms: Date.now() - started });
    });
  });

  app.delete("/members/:id", async (c) => {
    const id = c.req.param("id");
    if (!isReplicaId(id)) return c.json({ error: "id must be 1-64 chars of [A-Za-z0-9_-]" }, 400);
    return await change(async () => {
      leaderOrRefuse(driver);
      const members = driver.node.members();
      if (!members.some((m) => m.id === id)) throw new Refusal(404, `${id} is not a member`);
      if (id === deps.cfg.replicaId) return await handOverAndForward(deps, c.req.raw, id);
      checkIdentified(members);
      await propose(deps, members.filter((m) => m.id !== id));
      await waitUntil(
        deps,
        COMMIT_TIMEOUT_MS,
        () => !driver.node.members().some((m) => m.id === id) && committed(driver),
        `the removal of ${id} did not commit in time`,
      );
      deps.say("member_removed", { id });
    });
  });
}

function leaderOrRefuse(driver: Driver): void {
  const st = driver.node.status();
  if (st.role === "leader") return;
  if (st.leaderId) throw new Refusal(421, `not the leader; try ${st.leaderId}`);
  throw new Refusal(503, "no leader known");
}

/** Configurations name members by id: every PEERS URL must have said who it is first. */
function checkIdentified(members: readonly Member[]): void {
  const unnamed = members.find((m) => !isReplicaId(m.id));
  if (unnamed) {
    throw new Refusal(409, `the replica at ${unnamed.url} has not said who it is yet; retry later`);
  }
}

/** The change's entry at the committed configuration (the one in force is committed). */
function committed(driver: Driver): boolean {
  const st = driver.node.status();
  return st.configIndex <= st.commitIndex;
}

/** Proposes `members`, waiting (bounded) for the leader's first commit of its term. */
async function propose(deps: MembersDeps, members: Member[]): Promise<void> {
  const deadline = Date.now() + COMMIT_TIMEOUT_MS;
  for (;;) {
    try {
      deps.driver.node.proposeMembers(members);
      deps.driver.flush();
      return;
    } catch (e) {
      if (e instanceof NotLeaderError) leaderOrRefuse(deps.driver);
      if (!(e instanceof MembershipError)) throw e;
      if (e.code === "invalid") throw new Refusal(400, e.message);
      if (e.code === "in_progress") throw new Refusal(409, `a change is in progress: ${e.message}`);
      if (Date.now() > deadline) throw new Refusal(503, e.message);
      await sleep(POLL_MS);
    }
  }
}

/** Polls `done` until it holds; refuses when leadership is lost or time runs out. */
async function waitUntil(
  deps: MembersDeps,
  timeoutMs: number,
  done: () => boolean,
  late: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (deps.driver.node.status().role !== "leader") {
      throw new Refusal(503, "leadership was lost; the change may still complete (GET /members)");
    }
    if (Date.now() > deadline) throw new Refusal(504, late);
    await sleep(POLL_MS);
  }
}

/**
 * The leader removes itself: it hands leadership to the most up-to-date
 * voter, then relays the request to it, which removes the old leader as any
 * other member.
 */
async function handOverAndForward(deps: MembersDeps, req: Request, id: string): Promise<Response> {
  const { driver, cfg } = deps;
  if (!await driver.transferLeadership(cfg.electionTimeoutMaxMs * 2)) {
    throw new Refusal(503, "could not hand leadership over; retry");
  }
  let leader = driver.node.status().leaderId;
  const deadline = Date.now() + cfg.electionTimeoutMaxMs * 2;
  while ((leader === null || leader === id) && Date.now() < deadline) {
    await sleep(POLL_MS);
    leader = driver.node.status().leaderId;
  }
  const url = deps.urlOf(leader);
  if (!leader || leader === id || !url) throw new Refusal(503, "no new leader known yet; retry");
  const headers: Record<string, string> = {};
  if (cfg.clusterToken) headers.authorization = `Bearer ${cfg.clusterToken}`;
  const res = await fetch(`${url}/members/${id}`, {
    method: "DELETE",
    headers,
    signal: AbortSignal.any([AbortSignal.timeout(COMMIT_TIMEOUT_MS * 2), req.signal]),
  }).catch(() => null);
  if (!res) throw new Refusal(503, `the new leader ${leader} did not answer; retry`);
  return new Response(await res.text(), {
    status: res.status,
    headers: { "content-type": res.headers.get("content-type") ?? "application/json" },
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
