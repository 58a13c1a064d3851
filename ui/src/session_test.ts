import assert from "node:assert/strict";
import { displayName, freshTabId, rememberName, tabId, userId } from "./session.ts";
import { memoryStore } from "./undo_stack.ts";

Deno.test("session", async (t) => {
  await t.step("the user id is made once and then kept", () => {
    const store = memoryStore();
    const id = userId(store);
    assert.match(id, /^[0-9a-f]{32}$/);
    assert.equal(userId(store), id);
    assert.notEqual(userId(memoryStore()), id, "another browser, another user");
    store.setItem("whiteboard.userId", "tampered<>");
    assert.notEqual(userId(store), "tampered<>");
  });

  await t.step("the tab id survives a reload; a duplicated tab gets a fresh one", () => {
    const tabStore = memoryStore();
    const id = tabId(tabStore);
    assert.equal(tabId(tabStore), id);
    const fresh = freshTabId(tabStore);
    assert.notEqual(fresh, id);
    assert.equal(tabId(tabStore), fresh);
  });

  await t.step("display name: ?name= wins and is kept, else the remembered one", () => {
    const store = memoryStore();
    const page = (q: string) => new URL(`http://host/?${q}`);
    assert.equal(displayName(page(""), store), null);
    rememberName("  Guest 1234 ", store);
    assert.equal(displayName(page("board=x"), store), "Guest 1234");
    assert.equal(displayName(page("name=Ada"), store), "Ada");
    assert.equal(displayName(page(""), store), "Ada");
    assert.equal(displayName(page(`name=${"x".repeat(60)}`), store)?.length, 40);
  });
});
