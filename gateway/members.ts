/**
 * The membership API as its callers see it (CONTRACT.md, "Membership"): the decoder of
 * `{members, configIndex}` and the calls the gateway and `deno task members` make. Kept beside
 * the gateway (not in the replica's client) so the replica side can evolve its routes alone.
 */
import {
  checkMembers,
  fail,
  isIndex,
  isObject,
  type Member,
  ok,
  type Result,
} from "../protocol/mod.ts";
import type { CallOptions, ReplicaClient, Reply } from "../replica/client.ts";

/** `GET /members`, `POST /members` and `DELETE /members/{id}` answers. */
export interface MembersResponse {
  members: Member[];
  configIndex: number;
}

/** Validates a members answer. */
export function decodeMembers(body: unknown): Result<MembersResponse> {
  if (!isObject(body)) return fail("members answer must be an object");
  if (!isIndex(body.configIndex)) return fail("configIndex must be an index");
  const members = checkMembers(body.members);
  if (!members.ok) return members;
  return ok({ members: members.value, configIndex: body.configIndex });
}

/** `GET /members` of one replica (its view of the configuration). Throws on network failure. */
export function getMembers(
  client: Pick<ReplicaClient, "call">,
  url: string,
  opts: CallOptions = {},
): Promise<Reply<MembersResponse>> {
  return client.call(url, "/members", decodeMembers, opts);
}
