/** Entry point of the drawing page. */
import { render } from "preact";
import type { OutMessage } from "./board_state.ts";
import { setSender, useHistory } from "./board_actions.ts";
import { boardNameFor, fetchConfiguredGateway, gatewayUrlFor } from "./client_config.ts";
import { App } from "./components/app.tsx";
import { connect, type Connection } from "./connection.ts";
import { claimTab, indexedDbBackend, memoryBackend, Outbox } from "./outbox.ts";
import { displayName, freshTabId, localStore, rememberName, tabId, userId } from "./session.ts";
import * as store from "./store.ts";
import { installTestHooks } from "./test_hooks.ts";
import { readOnly, selfName } from "./ui_state.ts";
import { historyKey } from "./undo_stack.ts";

installTestHooks();
const page = new URL(location.href);
const view = page.searchParams.get("view");
const boardName = boardNameFor(page);
const name = displayName(page);
// A view link never edits: no drawing even before the gateway's hello says so.
if (view) readOnly.value = true;
else useHistory(localStore(), historyKey(userId(), boardName));

render(<App />, document.getElementById("app")!);

/**
 * Opens this tab's outbox and takes back what this tab (before a reload) or a
 * closed tab of this browser left unacked. Returns a function that takes back
 * again (on every hello: another tab may have crashed meanwhile) and hands
 * what it found to `send`.
 */
async function openOutbox(): Promise<(send: (m: OutMessage) => void) => Promise<void>> {
  const claim = await claimTab(tabId(), () => freshTabId());
  const outbox = new Outbox(indexedDbBackend() ?? memoryBackend(), boardName, claim.tab);
  const adopt = async (send: (m: OutMessage) => void) => {
    try {
      for (const r of await outbox.adopt(await claim.liveTabs())) {
        if (store.addOwn(r.msg, r.seq)) send(r.msg);
      }
    } catch (e) {
      console.warn("outbox unreadable:", e);
    }
  };
  store.attachOutbox(outbox);
  // Before the first connect: what comes back now goes out with the first hello's resend.
  await adopt(() => {});
  return adopt;
}

const adoptAgain = view ? null : await openOutbox();
const gatewayUrl = gatewayUrlFor(await fetchConfiguredGateway(), page);
let connection: Connection | null = null;
connection = connect(gatewayUrl, boardName, {
  view,
  name,
  onHello: () => {
    if (name === null && selfName.peek()) rememberName(selfName.peek()!);
    adoptAgain?.((m) => connection?.send(m));
  },
});
setSender((msg) => connection?.send(msg));
