/** Presence (names, colours, cursors, left) and view-only sessions through the gateway (fake cluster). */
import assert from "node:assert/strict";
import { setup } from "../tests/testing/gateway_harness.ts";
import { GatewayClient, makeStroke } from "./client.ts";
import { colorFor, displayName, PRESENCE_COLORS } from "./presence.ts";
import { MAX_NAME_LENGTH } from "../protocol/mod.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("names are cleaned and cut; colours come from the palette, the same for an id", () => {
  assert.equal(displayName("  Ada \u0007Lovelace\u202e  ", "x"), "Ada Lovelace");
  assert.equal(displayName("é".repeat(100), "x"), "é".repeat(MAX_NAME_LENGTH));
  assert.equal(displayName("😀".repeat(50), "x"), "😀".repeat(MAX_NAME_LENGTH / 2));
  assert.equal(displayName("a" + "😀".repeat(50), "x").length, MAX_NAME_LENGTH - 1, "no half pair");
  assert.match(displayName(undefined, "abc"), /^Guest \d{4}$/);
  assert.equal(displayName("\u0000\t ", "abc"), displayName(undefined, "abc"));
  assert.equal(colorFor("abc"), colorFor("abc"));
  assert.ok(PRESENCE_COLORS.includes(colorFor("xyz")));
  const spread = new Set(Array.from({ length: 100 }, (_, i) => colorFor(`g-${i}`)));
  assert.ok(spread.size > PRESENCE_COLORS.length / 2, "ids spread over the palette");
});

Deno.test("cursors reach the other clients of the board with name and colour, never the log", async () => {
  const h = setup();
  const url = `ws://127.0.0.1:${h.gateway.port}/ws`;
  const extra: GatewayClient[] = [];
  try {
    const a = await GatewayClient.connect(url, { board: "p", name: "Ada" });
    extra.push(a);
    const helloA = await a.hello();
    assert.equal(helloA.name, "Ada");
    assert.ok(helloA.color && PRESENCE_COLORS.includes(helloA.color));
    assert.equal(helloA.readOnly, undefined);
    const b = await h.connect("p");
    const elsewhere = await h.connect("q");
    await b.hello();
    const logBefore = h.fake.log.length;
    a.sendCursor(10, 20);
    const seen = await b.waitFor("presence", () => b.presences()[0]);
    assert.deepEqual(seen, {
      type: "presence",
      clientId: helloA.clientId,
      name: "Ada",
      color: helloA.color,
      x: 10,
      y: 20,
    });
    // A newcomer gets the last cursor of each other client right after its hello.
    a.sendCursor(30, 40);
    await b.waitFor("second", () => b.presences()[1]);
    const late = await h.connect("p");
    const first = await late.waitFor("presence", () => late.presences()[0]);
    assert.equal(first.x, 30);
    assert.equal(late.messages[0].type, "hello", "nothing before the hello");
    await sleep(100);
    assert.equal(a.presences().length, 0, "not echoed to the sender");
    assert.equal(elsewhere.presences().length, 0, "not sent to other boards");
    assert.equal(h.fake.log.length, logBefore, "nothing proposed");
    await a.close();
    assert.equal(await b.waitFor("left", () => b.lefts()[0]), helloA.clientId);
    await late.waitFor("left", () => late.lefts()[0]);
    assert.equal(elsewhere.lefts().length, 0);
  } finally {
    await Promise.all(extra.map((c) => c.close()));
    await h.close();
  }
});

Deno.test("cursors beyond the rate are dropped; a flood closes the socket, alone", async () => {
  const h = setup({ gateway: { limits: { droppedCursorBurst: 200, droppedCursorsPerSec: 50 } } });
  try {
    const a = await h.connect("flood");
    const b = await h.connect("flood");
    const [hello] = await Promise.all([a.hello(), b.hello()]);
    for (let i = 0; i < 100; i++) a.sendCursor(i, i);
    await b.waitFor("some presence", () => b.presences().length >= 30 || undefined);
    await sleep(200);
    const got = b.presences().length;
    assert.ok(got >= 30 && got < 50, `at most the burst gets through, got ${got}`);
    assert.equal(a.ws.readyState, WebSocket.OPEN, "a burst is not abuse");
    for (let i = 0; i < 1000; i++) a.sendCursor(i, i);
    await a.closed;
    // As in abuse_test: the close frame can be lost to a reset while the flooder writes.
    const dropped = h.logLines.find((l) => l.includes(`client=${hello.clientId} `));
    assert.match(dropped ?? "", /event=client_dropped .*code=1008 reason="cursor flood"/);
    assert.equal(h.gateway.hub.clientCount, 1);
    const s = makeStroke("after");
    await b.draw(s);
  } finally {
    await h.close();
  }
});

Deno.test("a view link opens a read-only session: edits refused, presence flows", async () => {
  const h = setup();
  const base = `127.0.0.1:${h.gateway.port}`;
  const extra: GatewayClient[] = [];
  try {
    const res = await fetch(`http://${base}/boards/secret-room/view-link`);
    const { view } = await res.json();
    assert.equal(typeof view, "string");
    assert.ok(!view.includes("secret"), "the token does not show the name");
    const writer = await h.connect("secret-room");
    const drawn = makeStroke("w");
    await writer.draw(drawn);
    const viewer = await GatewayClient.connect(`ws://${base}/ws`, { view, name: "Viewer" });
    extra.push(viewer);
    const hello = await viewer.hello();
    assert.equal(hello.readOnly, true);
    assert.equal(hello.board, view, "hello shows the token, not the board");
    await viewer.waitForStrokes([drawn.id]);
    const logBefore = h.fake.log.length;
    viewer.sendStroke(makeStroke("v"));
    viewer.sendErase("ve", ["x"]);
    viewer.sendRestore("vr", ["x"]);
    viewer.sendClear("vc");
    await viewer.waitFor("4 errors", () => viewer.errors().length === 4 || undefined);
    assert.ok(viewer.errors().every((e) => e.code === "read_only"));
    assert.deepEqual(viewer.errors().map((e) => e.id).slice(1), ["ve", "vr", "vc"]);
    viewer.sendCursor(5, 6);
    const p = await writer.waitFor("viewer's cursor", () => writer.presences()[0]);
    assert.equal(p.name, "Viewer");
    await sleep(100);
    assert.equal(h.fake.log.length, logBefore, "nothing proposed");
    // The viewer keeps receiving what the writers commit.
    const more = await writer.draw(makeStroke("w2"));
    await viewer.waitFor("live strokes", () => viewer.strokes().find((e) => e.index === more));
  } finally {
    await Promise.all(extra.map((c) => c.close()));
    await h.close();
  }
});

Deno.test("a bad view token or board name is refused before the upgrade", async () => {
  const h = setup();
  const base = `127.0.0.1:${h.gateway.port}`;
  try {
    const { view } = await (await fetch(`http://${base}/boards/room/view-link`)).json();
    const flipped = view.slice(0, -2) + (view.at(-2) === "A" ? "B" : "A") + view.at(-1);
    for (
      const q of [
        `view=${flipped}`,
        "view=abc",
        `view=${"A".repeat(400)}`,
        `view=${view}&board=room`,
      ]
    ) {
      const res = await fetch(`http://${base}/ws?${q}`);
      assert.equal(res.status, 400, q);
      assert.match((await res.json()).error, /view/);
    }
    const bad = await fetch(`http://${base}/boards/no%20spaces/view-link`);
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
    // Another cluster's token does not open here.
    const other = setup({ cluster: { token: "another-cluster" } });
    try {
      const res = await fetch(`http://127.0.0.1:${other.gateway.port}/boards/room/view-link`);
      const foreign = (await res.json()).view;
      const refused = await fetch(`http://${base}/ws?view=${foreign}`);
      assert.equal(refused.status, 400);
      await refused.body?.cancel();
    } finally {
      await other.close();
    }
  } finally {
    await h.close();
  }
});
