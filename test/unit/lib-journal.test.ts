import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Journal, type CorruptRecord, type RecordPosition } from "../../nodes/lib/common/Journal";
import { fileHandlePrototype } from "../support/DiskFault";
import { tempDir } from "../support/tempDir";

const open = (dir: string, replayed: unknown[] = []) =>
  Journal.open<{ n: number }>(
    dir,
    (record) => replayed.push(record),
    () => undefined,
    () => undefined,
    { deferMs: 60_000 },
  );

describe("Journal: deferred syncs", () => {
  it("a deferred record is in the file once written, and synced by the next record's sync", async () => {
    const dir = tempDir("alarm-mail-journal-");
    const journal = await open(dir);
    let written = false;
    let synced = false;
    const deferred = journal.append({ n: 1 }, { defer: true, written: () => (written = true) });
    void deferred.then(() => (synced = true));
    await new Promise<void>((resolve) => {
      const check = () => (written ? resolve() : setImmediate(check));
      check();
    });
    assert.match(readFileSync(join(dir, "journal-00000001.log"), "utf8"), /"n":1/, "written before it is synced");
    assert.equal(synced, false, "its sync waits (deferMs is a minute here)");
    await journal.append({ n: 2 });
    await deferred;
    assert.equal(synced, true, "the next record's sync covered it");
    await journal.close();
    const replayed: unknown[] = [];
    await (await open(dir, replayed)).close();
    assert.deepEqual(replayed, [{ n: 1 }, { n: 2 }]);
  });

  it("close syncs a deferred record that nothing else would have", async () => {
    const dir = tempDir("alarm-mail-journal-");
    const journal = await open(dir);
    const deferred = journal.append({ n: 1 }, { defer: true });
    await journal.close();
    assert.deepEqual(await deferred, {
      segment: 1,
      offset: 0,
      length: readFileSync(join(dir, "journal-00000001.log")).length,
    });
  });
});

describe("Journal: close", () => {
  it("leaves no deferred-sync timer behind to keep the process alive", async () => {
    const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;
    const journal = await open(tempDir("alarm-mail-journal-"));
    const before = timers();
    let written = false;
    const deferred = journal.append({ n: 1 }, { defer: true, written: () => (written = true) });
    while (!written) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(timers(), before + 1, "the deferred record waits on a timer (a minute here)");
    await journal.close();
    await deferred;
    assert.equal(timers(), before, "close synced the record and dropped its timer");
  });
});

describe("Journal: group commit", () => {
  it("never runs two syncs at once: the records written during a sync share the next one", async () => {
    const dir = tempDir("alarm-mail-journal-");
    const journal = await open(dir);
    const proto = (await fileHandlePrototype()) as unknown as { datasync: () => Promise<void> };
    const original = proto.datasync;
    let running = 0;
    let most = 0;
    let syncs = 0;
    proto.datasync = async function (this: unknown) {
      running += 1;
      syncs += 1;
      most = Math.max(most, running);
      try {
        // A slow disk: every record of the burst below is written while this sync runs.
        await new Promise((resolve) => setTimeout(resolve, 20));
        return await original.call(this);
      } finally {
        running -= 1;
      }
    };
    try {
      // One record a turn of the event loop, as msgs reach a node.
      const appends: Array<Promise<RecordPosition>> = [];
      await new Promise<void>((resolve) => {
        const next = () => {
          appends.push(journal.append({ n: appends.length }));
          if (appends.length < 50) setImmediate(next);
          else resolve();
        };
        next();
      });
      await Promise.all(appends);
    } finally {
      proto.datasync = original;
    }
    assert.equal(most, 1, "one sync at a time");
    assert.ok(syncs <= 3, `${syncs} syncs for 50 records written during the first one's 20 ms`);
    await journal.close();
    const replayed: unknown[] = [];
    await (await open(dir, replayed)).close();
    assert.equal(replayed.length, 50, "every record synced is there after a reopen");
  });
});

describe("Journal: preallocated segments", () => {
  const SEGMENT = 8 * 1024;
  const openPreallocated = (
    dir: string,
    replayed: unknown[] = [],
    corrupt: CorruptRecord[] = [],
    rotated: number[] = [],
  ) =>
    Journal.open<{ n: number; text?: string }>(
      dir,
      (record) => replayed.push(record),
      (damage) => corrupt.push(damage),
      (segment) => rotated.push(segment),
      { segmentBytes: SEGMENT, preallocate: true },
    );
  const files = (dir: string) =>
    readdirSync(dir)
      .filter((name) => name.endsWith(".log"))
      .sort()
      .map((name) => `${name} ${statSync(join(dir, name)).size}`);

  it("writes records over a segment of zeros, reports their bytes, and replays them", async () => {
    const dir = tempDir("alarm-mail-journal-");
    const journal = await openPreallocated(dir);
    const first = await journal.append({ n: 1 });
    const second = await journal.append({ n: 2 });
    assert.deepEqual(files(dir), [`journal-00000001.log ${SEGMENT}`], "the file is the segment's size from the start");
    const data = readFileSync(join(dir, "journal-00000001.log"));
    const recordBytes = first.length + second.length;
    assert.match(data.subarray(0, recordBytes).toString(), /^[0-9a-f]{8} \{"n":1\}\n[0-9a-f]{8} \{"n":2\}\n$/);
    assert.ok(data.subarray(recordBytes).equals(Buffer.alloc(SEGMENT - recordBytes)), "zeros after the records");
    assert.equal(await journal.segmentSize(1), recordBytes, "the records' bytes, not the file's");
    await journal.close();
    const replayed: unknown[] = [];
    const corrupt: CorruptRecord[] = [];
    const again = await openPreallocated(dir, replayed, corrupt);
    assert.deepEqual(replayed, [{ n: 1 }, { n: 2 }]);
    assert.deepEqual(corrupt, [], "the zeros are not damage");
    assert.equal(await again.segmentSize(1), recordBytes);
    await again.close();
  });

  it("deletes a segment that took no record, at close and at the next open", async () => {
    const dir = tempDir("alarm-mail-journal-");
    const idle = await openPreallocated(dir);
    await idle.close();
    assert.deepEqual(files(dir), [], "an open and close with nothing written leaves nothing");
    // A crash after the zeros were written and before any record: the next open finds a segment of zeros only.
    writeFileSync(join(dir, "journal-00000001.log"), Buffer.alloc(SEGMENT));
    const replayed: unknown[] = [];
    const corrupt: CorruptRecord[] = [];
    const journal = await openPreallocated(dir, replayed, corrupt);
    assert.deepEqual([replayed, corrupt], [[], []]);
    const kept = await journal.append({ n: 1 });
    await journal.close();
    assert.deepEqual(files(dir), [`journal-00000002.log ${kept.length}`]);
  });

  it("cuts a segment's file to its records at close, and at the next open one a crash left with its zeros", async () => {
    // Every start of the outbox (each deploy) begins a segment: a segment's worth of zeros each would fill the disk.
    const dir = tempDir("alarm-mail-journal-");
    const journal = await openPreallocated(dir);
    const first = await journal.append({ n: 1 });
    // As a kill -9 would leave it: the record, then the segment's zeros.
    const crashed = readFileSync(join(dir, "journal-00000001.log"));
    await journal.close();
    assert.deepEqual(files(dir), [`journal-00000001.log ${first.length}`], "cut at close");
    writeFileSync(join(dir, "journal-00000001.log"), crashed);
    const replayed: unknown[] = [];
    const again = await openPreallocated(dir, replayed);
    assert.deepEqual(replayed, [{ n: 1 }]);
    assert.equal(files(dir)[0], `journal-00000001.log ${first.length}`, "cut at open");
    const second = await again.append({ n: 2 });
    await again.close();
    assert.deepEqual(files(dir), [`journal-00000001.log ${first.length}`, `journal-00000002.log ${second.length}`]);
  });

  it("a record cut short by a power cut is reported torn, and the records before it are kept", async () => {
    const dir = tempDir("alarm-mail-journal-");
    const journal = await openPreallocated(dir);
    await journal.append({ n: 1 });
    const cut = await journal.append({ n: 2, text: "x".repeat(100) });
    await journal.close();
    const file = join(dir, "journal-00000001.log");
    const data = readFileSync(file);
    // Its last 50 bytes never reached the disk: they are still the segment's zeros.
    data.fill(0, cut.offset + cut.length - 50, cut.offset + cut.length);
    writeFileSync(file, data);
    const replayed: unknown[] = [];
    const corrupt: CorruptRecord[] = [];
    const again = await openPreallocated(dir, replayed, corrupt);
    assert.deepEqual(replayed, [{ n: 1 }]);
    assert.deepEqual(
      corrupt.map((c) => [c.reason, c.offset]),
      [["torn", cut.offset]],
    );
    await again.append({ n: 3 });
    await again.close();
    assert.deepEqual(
      files(dir).map((f) => f.split(" ")[0]),
      ["journal-00000001.log", "journal-00000002.log"],
      "nothing written after the damage: the next record went to a new segment",
    );
  });

  it("a zero byte inside a record is damage to that record only", async () => {
    const dir = tempDir("alarm-mail-journal-");
    const journal = await openPreallocated(dir);
    await journal.append({ n: 1 });
    const hit = await journal.append({ n: 2 });
    await journal.append({ n: 3 });
    await journal.close();
    const file = join(dir, "journal-00000001.log");
    const data = readFileSync(file);
    data[hit.offset + 12] = 0;
    writeFileSync(file, data);
    const replayed: unknown[] = [];
    const corrupt: CorruptRecord[] = [];
    await (await openPreallocated(dir, replayed, corrupt)).close();
    assert.deepEqual(replayed, [{ n: 1 }, { n: 3 }]);
    assert.deepEqual(
      corrupt.map((c) => c.reason),
      ["checksum"],
    );
  });

  it("a write lost in a power cut while a later one reached the disk: the gap is reported, the record after it replays", async () => {
    const dir = tempDir("alarm-mail-journal-");
    const journal = await openPreallocated(dir);
    await journal.append({ n: 1 });
    const lost = await journal.append({ n: 2 });
    await journal.append({ n: 3 });
    await journal.close();
    const file = join(dir, "journal-00000001.log");
    const data = readFileSync(file);
    // The page cache wrote the third record's page and not the second's: the segment's zeros are still there.
    data.fill(0, lost.offset, lost.offset + lost.length);
    writeFileSync(file, data);
    const replayed: { n: number }[] = [];
    const positions: RecordPosition[] = [];
    const corrupt: CorruptRecord[] = [];
    const again = await Journal.open<{ n: number }>(
      dir,
      (record, position) => {
        replayed.push(record);
        positions.push(position);
      },
      (damage) => corrupt.push(damage),
      () => undefined,
      { segmentBytes: SEGMENT, preallocate: true },
    );
    assert.deepEqual(replayed, [{ n: 1 }, { n: 3 }], "the third record is whole on disk");
    assert.deepEqual(
      corrupt.map((c) => [c.reason, c.offset]),
      [["torn", lost.offset]],
    );
    assert.deepEqual(await again.read(positions[1]), { n: 3 }, "its position reads it back");
    await again.close();
    const later: unknown[] = [];
    const reported: CorruptRecord[] = [];
    await (await openPreallocated(dir, later, reported)).close();
    assert.deepEqual([later, reported], [[{ n: 1 }, { n: 3 }], []], "the same at the next start, reported once");
  });

  it("fills segments in turn, the next one made while the active one fills, and replays them all", async () => {
    const dir = tempDir("alarm-mail-journal-");
    const rotated: number[] = [];
    const journal = await openPreallocated(dir, [], [], rotated);
    const text = "y".repeat(1000);
    for (let n = 1; n <= 30; n++) await journal.append({ n, text });
    assert.deepEqual(rotated, [1, 2, 3], "a segment closes once its records pass its size");
    assert.equal(journal.activeSegment, 4);
    for (const segment of rotated) assert.ok((await journal.segmentSize(segment)) >= SEGMENT);
    await journal.close();
    const replayed: Array<{ n: number }> = [];
    const corrupt: CorruptRecord[] = [];
    await (await openPreallocated(dir, replayed, corrupt)).close();
    assert.deepEqual(
      replayed.map((r) => r.n),
      Array.from({ length: 30 }, (_, i) => i + 1),
    );
    assert.deepEqual(corrupt, []);
  });

  it("clear drops every record, in the segment being prepared too, and goes on in a new segment", async () => {
    const dir = tempDir("alarm-mail-journal-");
    const journal = await openPreallocated(dir);
    for (let n = 1; n <= 6; n++) await journal.append({ n, text: "z".repeat(1000) });
    await journal.clear();
    for (const name of readdirSync(dir)) {
      const data = readFileSync(join(dir, name));
      // The segment after the cleared ones may already be in the making: zeros, no record.
      assert.ok(data.equals(Buffer.alloc(data.length)), `${name} holds no record`);
    }
    await journal.append({ n: 7 });
    await journal.close();
    const replayed: unknown[] = [];
    await (await openPreallocated(dir, replayed)).close();
    assert.deepEqual(replayed, [{ n: 7 }]);
  });
});

describe("Journal: clear", () => {
  for (const preallocate of [false, true]) {
    it(`keeps the records appended while it deletes the files${preallocate ? " (preallocated)" : ""}`, async () => {
      // A digest buffer clears its journal when its last item is taken, while the next msg may arrive.
      const dir = tempDir("alarm-mail-journal-");
      const options = { segmentBytes: 8 * 1024, preallocate };
      const open = (replayed: unknown[] = []) =>
        Journal.open<{ n: number }>(
          dir,
          (record) => replayed.push(record),
          () => undefined,
          () => undefined,
          options,
        );
      const journal = await open();
      await journal.append({ n: 0 });
      // Appended before the clear, in one turn: the first is being written, the second waits its turn. Both go.
      const dropped = [journal.append({ n: -1 }), journal.append({ n: -2 })];
      const cleared = journal.clear();
      const appends: Array<Promise<RecordPosition | Error>> = [];
      // One record a turn of the event loop, for as long as the clear takes.
      let done = false;
      void cleared.finally(() => (done = true));
      for (let n = 1; !done || n < 3; n++) {
        appends.push(journal.append({ n }).catch((err: Error) => err));
        await new Promise((resolve) => setImmediate(resolve));
      }
      await cleared;
      await Promise.all(dropped);
      const positions = await Promise.all(appends);
      const expected = positions.map((_, i) => ({ n: i + 1 }));
      assert.deepEqual(
        positions.filter((p) => p instanceof Error),
        [],
        "no record refused",
      );
      for (const [i, position] of positions.entries()) {
        assert.deepEqual(
          await journal.read(position as RecordPosition),
          expected[i],
          "read back where it was said to be",
        );
      }
      await journal.close();
      const replayed: unknown[] = [];
      await (await open(replayed)).close();
      assert.deepEqual(replayed, expected, "all there after a reopen, and nothing from before the clear");
    });
  }
});
