/**
 * Cluster membership on the wire: a member as the log, the snapshot and
 * `GET /members` carry it (CONTRACT.md, "Membership"), and its decoder.
 */
import { fail, isObject, ok, type Result } from "./validate.ts";

/** A member of the cluster: its replica id, where it is reached, and whether it votes. */
export interface Member {
  id: string;
  url: string;
  voter: boolean;
  /**
   * The identity of the data dir it was made a voter with (set when a
   * learner is promoted): answers from any other disk never count for it.
   */
  disk?: string;
}

/** Replica ids and disk identities: short, printable, safe in a URL path and a log line. */
const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** A data dir's identity, as DATA_DIR/identity holds it. */
export function isDiskId(v: unknown): v is string {
  return typeof v === "string" && NAME.test(v);
}

/** Most members a configuration may list (far beyond any sensible Raft cluster). */
export const MAX_MEMBERS = 64;

/** A well-formed replica id (REPLICA_ID). */
export function isReplicaId(v: unknown): v is string {
  return typeof v === "string" && NAME.test(v);
}

/** An http(s) base URL, as PEERS and `POST /members` give them. */
export function isBaseUrl(v: unknown): v is string {
  if (typeof v !== "string" || v.length > 512) return false;
  try {
    const u = new URL(v);
    return (u.protocol === "http:" || u.protocol === "https:") && u.search === "" &&
      u.hash === "" && u.username === "" && u.password === "";
  } catch {
    return false;
  }
}

/** Validates one member and returns a copy holding only the known fields. */
export function checkMember(v: unknown): Result<Member> {
  if (!isObject(v)) return fail("member must be an object");
  if (!isReplicaId(v.id)) return fail("member.id must be 1-64 chars of [A-Za-z0-9_-]");
  if (!isBaseUrl(v.url)) return fail("member.url must be an http(s) URL");
  if (typeof v.voter !== "boolean") return fail("member.voter must be a boolean");
  if (v.disk !== undefined && !isDiskId(v.disk)) return fail("member.disk must be a disk identity");
  const m: Member = { id: v.id, url: v.url, voter: v.voter };
  if (v.disk !== undefined) m.disk = v.disk as string;
  return ok(m);
}

/** Validates a configuration: distinct ids and URLs, at least one voter. */
export function checkMembers(v: unknown): Result<Member[]> {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_MEMBERS) {
    return fail(`members must be an array of 1-${MAX_MEMBERS} members`);
  }
  const out: Member[] = [];
  for (let i = 0; i < v.length; i++) {
    const m = checkMember(v[i]);
    if (!m.ok) return fail(`members[${i}]: ${m.error}`);
    out.push(m.value);
  }
  if (new Set(out.map((m) => m.id)).size !== out.length) {
    return fail("members: an id is listed twice");
  }
  if (new Set(out.map((m) => m.url)).size !== out.length) {
    return fail("members: a URL is listed twice");
  }
  if (!out.some((m) => m.voter)) return fail("members: no voter");
  return ok(out);
}
