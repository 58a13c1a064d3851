import assert from "node:assert/strict";
import { isBoardName } from "../../protocol/stroke.ts";
import { boardUrl, httpBaseFor, newBoardName, parseBoardList, viewUrl } from "./rooms.ts";

Deno.test("httpBaseFor maps ws to http and wss to https, keeping host and port", () => {
  assert.deepEqual(httpBaseFor("ws://10.0.0.5:8080/ws"), "http://10.0.0.5:8080");
  assert.deepEqual(httpBaseFor("wss://board.example/ws"), "https://board.example");
});

Deno.test("boardUrl and viewUrl set the query and drop an old view token", () => {
  const page = new URL("http://h:8000/?board=a&view=old#x");
  assert.deepEqual(boardUrl(page, "b"), "http://h:8000/?board=b");
  assert.deepEqual(viewUrl(page, "b", "T0K"), "http://h:8000/?board=b&view=T0K");
});

Deno.test("newBoardName is a valid board name", () => {
  for (let i = 0; i < 50; i++) assert.ok(isBoardName(newBoardName()));
});

Deno.test("parseBoardList keeps well-formed rows only", () => {
  assert.deepEqual(
    parseBoardList({
      boards: [{ name: "a", entries: 3, clients: 1 }, { name: "bad name" }, { name: "b" }],
    }),
    [{ name: "a", entries: 3, clients: 1 }, { name: "b", entries: 0, clients: 0 }],
  );
  assert.deepEqual(parseBoardList(null), []);
});
