import assert from "node:assert/strict";
import type { OutMessage } from "./board_state.ts";
import { memoryBackend, Outbox, type OutboxBackend, recordKey } from "./outbox.ts";

const msg = (id: string): OutMessage => ({
  type: "stroke",
  stroke: { id, x0: 0, y0: 0, x1: 1, y1: 1, color: "#e63946", width: 4 },
});

/** A backend that counts transactions. */
function counting(inner = memoryBackend()) {
  const writes: { puts: number; deletes: number }[] = [];
  const backend: OutboxBackend = {
    write(puts, deletes) {
      writes.push({ puts: puts.length, deletes: deletes.length });
      return inner.write(puts, deletes);
    },
    list: (b) => inner.list(b),
  };
  return { backend, writes, inner };
}

Deno.test("outbox", async (t) => {
  await t.step("items made in one task go to disk in one transaction", async () => {
    const { backend, writes, inner } = counting();
    const box = new Outbox(backend, "b", "tab1");
    for (let i = 0; i < 50; i++) box.save(`s${i}`, i, msg(`s${i}`));
    await box.flush();
    assert.deepEqual(writes, [{ puts: 50, deletes: 0 }]);
    assert.equal(box.storedCount, 50);
    assert.equal(inner.records.get(recordKey("b", "s3"))?.seq, 3);
  });

  await t.step("a put removed before its flush never touches the disk", async () => {
    const { backend, writes, inner } = counting();
    const box = new Outbox(backend, "b", "tab1");
    box.save("a", 1, msg("a"));
    box.remove("a");
    await box.flush();
    assert.deepEqual(writes, []);
    box.save("b", 2, msg("b"));
    await box.flush();
    box.remove("b");
    await box.flush();
    assert.equal(inner.records.size, 0);
    assert.equal(box.storedCount, 0);
  });

  await t.step("flushes by itself", async () => {
    const { backend, inner } = counting();
    const box = new Outbox(backend, "b", "tab1");
    const flushed = new Promise<void>((r) => box.onFlushed = r);
    box.save("a", 1, msg("a"));
    await flushed;
    assert.equal(inner.records.size, 1);
  });

  await t.step("a reloaded tab gets its own items back, oldest first, with their ids", async () => {
    const disk = memoryBackend();
    const before = new Outbox(disk, "b", "tab1");
    before.save("x:2", 2, msg("x:2"));
    before.save("x:1", 1, msg("x:1"));
    before.save("op", 3, { type: "clear", id: "op" });
    await before.flush();
    const after = new Outbox(disk, "b", "tab1");
    const got = await after.adopt(() => true);
    assert.deepEqual(got.map((r) => r.seq), [1, 2, 3]);
    assert.deepEqual(got[2].msg, { type: "clear", id: "op" });
    assert.equal(after.storedCount, 3);
  });

  await t.step("items of a live tab are its own; a closed tab's are taken over", async () => {
    const disk = memoryBackend();
    const other = new Outbox(disk, "b", "other");
    other.save("o:1", 1, msg("o:1"));
    await other.flush();
    const otherBoard = new Outbox(disk, "c", "gone");
    otherBoard.save("c:1", 1, msg("c:1"));
    await otherBoard.flush();
    const me = new Outbox(disk, "b", "me");
    assert.deepEqual(await me.adopt((t) => t === "other"), []);
    const taken = await me.adopt(() => false);
    assert.deepEqual(taken.map((r) => r.key), [recordKey("b", "o:1")], "only this board");
    await me.flush();
    assert.equal(disk.records.get(recordKey("b", "o:1"))?.tab, "me", "re-tagged as ours");
  });

  await t.step("a failed write is kept for the next flush", async () => {
    const inner = memoryBackend();
    let fail = true;
    const box = new Outbox(
      {
        write: (p, d) => fail ? Promise.reject(new Error("quota")) : inner.write(p, d),
        list: (b) => inner.list(b),
      },
      "b",
      "t",
    );
    const warn = console.warn;
    console.warn = () => {};
    try {
      box.save("a", 1, msg("a"));
      await box.flush();
      assert.equal(box.storedCount, 0);
      fail = false;
      await box.flush();
      assert.equal(inner.records.size, 1);
    } finally {
      console.warn = warn;
    }
  });
});
