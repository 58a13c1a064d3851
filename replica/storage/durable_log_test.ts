import assert from "node:assert/strict";
import type { Stroke } from "../../protocol/mod.ts";
import { type HardState, type LogEntry, RaftInvariantError } from "../raft/types.ts";
import { CorruptLogError, DurableLog, LOG_FILE_NAME } from "./durable_log.ts";
import { encodeRecord, frameRecord, HEADER_BYTES } from "./record.ts";
import { SECTOR_BYTES } from "./torn_tail.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "durable_log_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function entry(index: number, term: number): LogEntry {
  const stroke = { id: `s${index}t${term}`, x0: index, y0: 1.5, x1: 20, y1: -3, color: "#1e90ff" };
  return { index, term, stroke: { ...stroke, width: 2, board: "default" } };
}

function entries(from: number, to: number, term: number): LogEntry[] {
  return Array.from({ length: to - from + 1 }, (_, i) => entry(from + i, term));
}

const hs = (term: number, votedFor = "replica2"): HardState => ({
  term,
  votedFor,
  recovering: false,
});

async function reopen(dir: string) {
  const log = await DurableLog.open(dir);
  const restored = log.restored();
  await log.close();
  return restored;
}

async function appendBytes(dir: string, bytes: Uint8Array): Promise<void> {
  const file = await Deno.open(`${dir}/${LOG_FILE_NAME}`, { append: true });
  await file.write(bytes);
  file.close();
}

const fileSize = async (dir: string) => (await Deno.stat(`${dir}/${LOG_FILE_NAME}`)).size;

Deno.test("a new or empty directory is fresh", async () => {
  await withTempDir(async (tmp) => {
    const dir = `${tmp}/not/yet/there`;
    const log = await DurableLog.open(dir);
    assert.deepEqual(log.restored(), {
      hardState: { term: 0, votedFor: "", recovering: true },
      entries: [],
      fresh: true,
      discardedBytes: 0,
    });
    assert.equal(log.lastIndex(), 0);
    assert.equal(log.sizeBytes(), 0);
    await log.close();
    assert.equal((await reopen(dir)).fresh, true, "an empty log file is still fresh");
  });
});

Deno.test("entries and hard state survive close and open", async () => {
  await withTempDir(async (dir) => {
    const log = await DurableLog.open(dir);
    log.save(hs(1), entries(1, 3, 1));
    await log.sync(true);
    log.save(hs(2, "replica3"), []);
    log.save(null, [{ index: 4, term: 2, noop: true }, entry(5, 2)]);
    await log.sync(false);
    log.save(hs(3, ""), []);
    assert.equal(log.lastIndex(), 5);
    const expectedBytes = log.sizeBytes();
    await log.close(); // flushes the hard state saved after the last sync

    assert.equal(await fileSize(dir), expectedBytes);
    const reopened = await DurableLog.open(dir);
    assert.deepEqual(reopened.restored(), {
      hardState: hs(3, ""),
      entries: [...entries(1, 3, 1), { index: 4, term: 2, noop: true }, entry(5, 2)],
      fresh: false,
      discardedBytes: 0,
    });
    assert.equal(reopened.lastIndex(), 5);
    assert.equal(reopened.sizeBytes(), expectedBytes);
    await reopened.close();
  });
});

Deno.test("a batch at or below the last index truncates the stored log first", async (t) => {
  await withTempDir(async (dir) => {
    await t.step("overwrite a suffix", async () => {
      const log = await DurableLog.open(dir);
      log.save(hs(1), entries(1, 5, 1));
      await log.sync(true);
      log.save(hs(2), entries(3, 4, 2));
      assert.equal(log.lastIndex(), 4);
      await log.sync(true);
      await log.close();
      assert.deepEqual((await reopen(dir)).entries, [...entries(1, 2, 1), ...entries(3, 4, 2)]);
    });
    await t.step("overwrite everything, twice within one sync", async () => {
      const log = await DurableLog.open(dir);
      log.restored();
      log.save(hs(3), entries(1, 3, 3));
      log.save(null, entries(2, 2, 4));
      assert.equal(log.lastIndex(), 2);
      await log.sync(true);
      await log.close();
      const restored = await reopen(dir);
      assert.deepEqual(restored.entries, [entry(1, 3), entry(2, 4)]);
      assert.deepEqual(restored.hardState, hs(3));
    });
  });
});

Deno.test("impossible calls throw and change nothing", async () => {
  await withTempDir(async (dir) => {
    const log = await DurableLog.open(dir);
    log.save(hs(1), entries(1, 2, 1));
    const sizeBytes = log.sizeBytes();
    assert.throws(() => log.save(hs(9), [entry(4, 1)]), RaftInvariantError, "gap");
    assert.throws(() => log.save(null, [entry(0, 1)]), /below 0/);
    assert.throws(() => log.save(null, [entry(3, 1), entry(5, 1)]), RaftInvariantError);
    assert.throws(() => log.save(null, [entry(3, 1), entry(2, 1)]), RaftInvariantError);
    assert.throws(() => log.save(null, [{ ...entry(3, 1), term: -1 }]), RaftInvariantError);
    const badHardState = { term: 1.5, votedFor: "x", recovering: false };
    assert.throws(() => log.save(badHardState, []), TypeError);
    assert.equal(log.lastIndex(), 2);
    assert.equal(log.sizeBytes(), sizeBytes);
    await log.close();
    assert.deepEqual(await reopen(dir), {
      hardState: hs(1),
      entries: entries(1, 2, 1),
      fresh: false,
      discardedBytes: 0,
    });
  });
});

Deno.test("restored() is handed over once and a closed log refuses work", async () => {
  await withTempDir(async (dir) => {
    const log = await DurableLog.open(dir);
    log.restored();
    assert.throws(() => log.restored(), /only once/);
    await log.close();
    assert.throws(() => log.save(null, [entry(1, 1)]), /closed/);
    await assert.rejects(log.sync(true), /closed/);
  });
});

Deno.test("overlapping sync calls run in order and lose nothing", async () => {
  await withTempDir(async (dir) => {
    const log = await DurableLog.open(dir);
    const syncs: Promise<void>[] = [];
    for (let i = 1; i <= 60; i++) {
      log.save(hs(i), [entry(i, i)]);
      if (i % 3 === 0) log.save(null, [entry(i, i + 1000)]); // rewrites the entry just saved
      syncs.push(log.sync(i % 2 === 0));
    }
    // With nothing new to write, this sync still waits for the writes before it.
    await log.sync(true);
    assert.equal(await fileSize(dir), log.sizeBytes(), "a resolved sync has written earlier saves");
    await Promise.all(syncs);
    await log.close();
    const restored = await reopen(dir);
    assert.deepEqual(restored.hardState, hs(60));
    assert.deepEqual(
      restored.entries,
      Array.from({ length: 60 }, (_, i) => entry(i + 1, (i + 1) % 3 === 0 ? i + 1001 : i + 1)),
    );
  });
});

/** Writes hard state 1 and entries 1-3 and returns the file size. */
async function threeEntries(dir: string): Promise<number> {
  const log = await DurableLog.open(dir);
  log.save(hs(1), entries(1, 3, 1));
  await log.sync(true);
  await log.close();
  return await fileSize(dir);
}

/** An entry record whose payload spans more than two sectors. */
function bigRecord(index: number): Uint8Array {
  const { stroke } = entry(index, 1) as { stroke: Stroke };
  return encodeRecord({ entry: { index, term: 1, stroke: { ...stroke, id: "x".repeat(1500) } } });
}

/** `record` as a power cut may leave it: full length, the sectors from the second on never written. */
function withUnwrittenSectors(record: Uint8Array, fileOffset: number): Uint8Array {
  const torn = record.slice();
  const secondSector = SECTOR_BYTES - (fileOffset % SECTOR_BYTES);
  torn.fill(0, secondSector);
  return torn;
}

Deno.test("a torn tail is dropped and cut off so later appends are readable", async (t) => {
  const record = encodeRecord({ entry: entry(4, 1) });
  const tails: [string, (goodBytes: number) => Uint8Array][] = [
    ["half a record", () => record.subarray(0, record.length >> 1)],
    ["a header alone", () => record.subarray(0, HEADER_BYTES)],
    ["three bytes", () => record.subarray(0, 3)],
    ["a zero-filled block", () => new Uint8Array(4096)],
    [
      "a whole record and half of the next",
      () => concatBytes(record, bigRecord(5).subarray(0, 99)),
    ],
    [
      "a record whose later sectors are zeros",
      (goodBytes) => withUnwrittenSectors(bigRecord(4), goodBytes),
    ],
    ["half a record, then zeros", () => concatBytes(record.subarray(0, 20), new Uint8Array(1000))],
  ];
  for (const [name, makeTail] of tails) {
    await t.step(name, () =>
      withTempDir(async (dir) => {
        const goodBytes = await threeEntries(dir);
        const tail = makeTail(goodBytes);
        const intact = name.startsWith("a whole record") ? [entry(4, 1)] : [];
        await appendBytes(dir, tail);
        const log = await DurableLog.open(dir);
        const restored = log.restored();
        assert.deepEqual(restored.entries, [...entries(1, 3, 1), ...intact]);
        assert.deepEqual(restored.hardState, hs(1));
        const keptBytes = goodBytes + (intact.length > 0 ? record.length : 0);
        assert.equal(restored.discardedBytes, goodBytes + tail.length - keptBytes);
        assert.equal(await fileSize(dir), keptBytes, "the tail is cut off the file");
        log.save(null, [entry(4 + intact.length, 2)]);
        await log.sync(true);
        await log.close();
        const again = await reopen(dir);
        assert.deepEqual(again.entries, [
          ...entries(1, 3, 1),
          ...intact,
          entry(4 + intact.length, 2),
        ]);
        assert.equal(again.discardedBytes, 0);
      }));
  }
});

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * Ten synced Readies, each a hard state record then an entry record; returns
 * where each record starts (the last value is the file size).
 */
async function tenReadies(
  dir: string,
): Promise<{ hardState: number[]; entry: number[]; end: number }> {
  const log = await DurableLog.open(dir);
  const hardState: number[] = [];
  const entry_: number[] = [];
  for (let i = 1; i <= 10; i++) {
    hardState.push(log.sizeBytes());
    log.save(hs(i), []);
    entry_.push(log.sizeBytes());
    log.save(null, [entry(i, i)]);
    await log.sync(true);
  }
  const end = log.sizeBytes();
  await log.close();
  return { hardState, entry: entry_, end };
}

// A torn write only ever damages the end of the last write. Damage anywhere
// else, or damage to a complete record, hides records that were fsynced
// (votes, acknowledged entries): dropping them silently could elect two
// leaders or lose a commit, so the replica refuses to start instead.
Deno.test("a damaged record that is not a torn tail is refused, naming file and offset", async (t) => {
  type Case = [string, (at: Awaited<ReturnType<typeof tenReadies>>) => [number, number]];
  const cases: Case[] = [
    ["a payload byte of an entry in the middle", (at) => [at.entry[5], HEADER_BYTES + 5]],
    ["the checksum of an entry in the middle", (at) => [at.entry[5], 5]],
    ["the length of an entry in the middle", (at) => [at.entry[5], 1]],
    ["a hard state in the middle", (at) => [at.hardState[5], HEADER_BYTES + 7]],
    ["the first record", (at) => [at.hardState[0], HEADER_BYTES + 2]],
    ["the last record's payload", (at) => [at.entry[9], HEADER_BYTES + 9]],
    ["the last record's length", (at) => [at.entry[9], 1]],
  ];
  for (const [name, where] of cases) {
    await t.step(`a flipped bit in ${name}`, () =>
      withTempDir(async (dir) => {
        const at = await tenReadies(dir);
        const [recordStart, byteInRecord] = where(at);
        const path = `${dir}/${LOG_FILE_NAME}`;
        const bytes = await Deno.readFile(path);
        bytes[recordStart + byteInRecord] ^= 0x04;
        await Deno.writeFile(path, bytes);
        await assertCorrupt(dir, recordStart, bytes);
      }));
  }
  await t.step(
    "the last record is a hard state with a flipped bit",
    () =>
      withTempDir(async (dir) => {
        await threeEntries(dir);
        const log = await DurableLog.open(dir);
        log.restored();
        const recordStart = log.sizeBytes();
        log.save(hs(7, "replica3"), []);
        await log.close();
        const path = `${dir}/${LOG_FILE_NAME}`;
        const bytes = await Deno.readFile(path);
        bytes[bytes.length - 3] ^= 0x01;
        await Deno.writeFile(path, bytes);
        await assertCorrupt(dir, recordStart, bytes);
      }),
  );
  await t.step("non-zero garbage after the last record", () =>
    withTempDir(async (dir) => {
      const goodBytes = await threeEntries(dir);
      await appendBytes(dir, Uint8Array.from({ length: 300 }, (_, i) => (i * 73 + 11) & 0xff));
      await assertCorrupt(dir, goodBytes, await Deno.readFile(`${dir}/${LOG_FILE_NAME}`));
    }));
  await t.step("zeros in the middle, valid records after", () =>
    withTempDir(async (dir) => {
      const at = await tenReadies(dir);
      const path = `${dir}/${LOG_FILE_NAME}`;
      const bytes = await Deno.readFile(path);
      bytes.fill(0, at.entry[3], at.entry[4]);
      await Deno.writeFile(path, bytes);
      await assertCorrupt(dir, at.entry[3], bytes);
    }));
});

/** Open refuses with the file and offset in a one-line message and leaves the file as it was. */
async function assertCorrupt(dir: string, offset: number, bytes: Uint8Array): Promise<void> {
  const path = `${dir}/${LOG_FILE_NAME}`;
  const error = await DurableLog.open(dir).then(
    () => assert.fail("open accepted a corrupt log"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof CorruptLogError, String(error));
  assert.equal(error.offset, offset);
  assert.ok(error.message.includes(`${path} is corrupt at byte ${offset}`), error.message);
  assert.ok(!error.message.includes("\n"), "one line");
  assert.deepEqual(await Deno.readFile(path), bytes, "nothing is cut off or rewritten");
}

Deno.test("a record that passes its checksum but contradicts the log fails loudly", async (t) => {
  const cases: [string, Uint8Array][] = [
    ["unknown record", rawRecord('{"x":1}')],
    ["not JSON", rawRecord("{nope")],
    ["entry out of order", encodeRecord({ entry: entry(7, 1) })],
    ["truncate beyond the end", encodeRecord({ truncate: 9 })],
  ];
  for (const [name, record] of cases) {
    await t.step(name, () =>
      withTempDir(async (dir) => {
        const goodBytes = await threeEntries(dir);
        await appendBytes(dir, record);
        await assert.rejects(DurableLog.open(dir), /log (file|record)/);
        assert.equal(await fileSize(dir), goodBytes + record.length, "nothing is cut off");
      }));
  }
});

/** A well-framed record with arbitrary (possibly invalid) content. */
function rawRecord(text: string): Uint8Array {
  return frameRecord(new TextEncoder().encode(text));
}

Deno.test("throughput: 10,000 entries in synced batches of 100 (printed, not asserted)", async () => {
  await withTempDir(async (dir) => {
    const log = await DurableLog.open(dir);
    const total = 10_000;
    const batch = 100;
    const startMs = performance.now();
    for (let first = 1; first <= total; first += batch) {
      log.save(hs(1), entries(first, first + batch - 1, 1));
      await log.sync(true);
    }
    const elapsedMs = performance.now() - startMs;
    const sizeBytes = log.sizeBytes();
    await log.close();
    const perSecond = Math.round(total / (elapsedMs / 1000));
    console.log(
      `  ${total} entries, ${total / batch} fdatasyncs, ${(sizeBytes / 1e6).toFixed(2)} MB ` +
        `in ${elapsedMs.toFixed(0)} ms: ${perSecond} entries/s, ` +
        `${(elapsedMs / (total / batch)).toFixed(2)} ms per synced batch`,
    );
    const reopenStartMs = performance.now();
    const restored = await reopen(dir);
    console.log(
      `  recovery of ${restored.entries.length} entries: ` +
        `${(performance.now() - reopenStartMs).toFixed(0)} ms`,
    );
    assert.equal(restored.entries.length, total);
  });
});
