/** Peer ids are learnt from the peers' answers; placeholders are never sent to. */
import assert from "node:assert/strict";
import { ConfigError } from "../common/config.ts";
import { PeerDirectory, type WhoIs } from "./peers.ts";

function directory(answers: Record<string, string | null>, now = () => 0) {
  const learnt: [string, string][] = [];
  const errors: ConfigError[] = [];
  const asked: string[] = [];
  const whoIs: WhoIs = (url) => {
    asked.push(url);
    return Promise.resolve(answers[url] ?? null);
  };
  const dir = new PeerDirectory(
    { id: "me", url: "http://self:1" },
    [{ url: "http://a:1", id: null }, { url: "http://b:1", id: null }, {
      url: "http://c:1",
      id: "c",
    }],
    whoIs,
    (url, id) => learnt.push([url, id]),
    (e) => errors.push(e),
    100,
    now,
  );
  return { dir, learnt, errors, asked };
}

Deno.test("unnamed peers start as placeholders and are renamed once they answer", async () => {
  const answers: Record<string, string | null> = { "http://a:1": "alpha", "http://b:1": null };
  let t = 0;
  const { dir, learnt, asked } = directory(answers, () => t);
  assert.deepEqual(dir.keys(), ["http://a:1", "http://b:1", "c"]);
  assert.ok(dir.isPlaceholder("http://a:1") && !dir.isPeer("alpha") && dir.isPeer("c"));
  await dir.learn();
  assert.deepEqual(learnt, [["http://a:1", "alpha"]]);
  assert.ok(dir.isPeer("alpha") && !dir.isPlaceholder("http://a:1"));
  assert.equal(dir.urlOf("alpha"), "http://a:1");
  assert.equal(dir.urlOf("me"), "http://self:1");
  assert.ok(dir.isPlaceholder("http://b:1"), "b is down: still a placeholder");
  // b comes up; it is asked again only after retryMs.
  answers["http://b:1"] = "beta";
  await dir.learn();
  assert.deepEqual(asked, ["http://a:1", "http://b:1"]);
  t = 100;
  await dir.learn();
  assert.deepEqual(learnt, [["http://a:1", "alpha"], ["http://b:1", "beta"]]);
  assert.deepEqual(dir.keys().sort(), ["alpha", "beta", "c"]);
});

Deno.test("a URL that answers as this replica, or as a peer already named, is a bad configuration", async () => {
  const self = directory({ "http://a:1": "me" });
  await self.dir.learn();
  assert.match(self.errors[0]?.message ?? "", /itself/);
  assert.deepEqual(self.learnt, []);
  const twice = directory({ "http://a:1": "c" });
  await twice.dir.learn();
  assert.match(twice.errors[0]?.message ?? "", /both c/);
});

Deno.test("peerUrls: every PEERS URL and each other member's, never this replica's", () => {
  const { dir } = directory({});
  dir.followMembers(() => [
    { id: "me", url: "http://self:1", voter: true },
    { id: "c", url: "http://c-by-config:1", voter: true },
    { id: "d", url: "http://d:1", voter: false },
  ]);
  assert.deepEqual(
    [...dir.peerUrls()].sort(),
    ["http://a:1", "http://b:1", "http://c:1", "http://d:1"],
    "c is reached at its PEERS URL; d, added later, at the configuration's",
  );
});
