import assert from "node:assert/strict";
import fs, { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Journal, type CorruptRecord, type JournalOptions, type RecordPosition } from "../../nodes/lib/common/Journal";
import { DiskFault, fileHandlePrototype } from "../support/DiskFault";
import { tempDir } from "../support/tempDir";

/** A journal of numbered records in `dir`: what its replay finds goes to `replayed`, the damage it meets to `corrupt`. */
const openJournal = (dir: string, replayed: number[] = [], corrupt: CorruptRecord[] = [], options?: JournalOptions) =>
  Journal.open<{ n: number }>(
    dir,
    (record) => replayed.push(record.n),
    (c) => corrupt.push(c),
    () => undefined,
    options,
  );

describe("Journal after a write that failed (ENOSPC from a wrapped write)", () => {
  const dir = tempDir("alarm-mail-journal-fault-");
  let fault: DiskFault;
  after(() => fault.uninstall());

  it("refuses the record, and the records after it are read back where they are, also after a restart", async () => {
    fault = await new DiskFault(dir).install().installHandles();
    const journal = await openJournal(dir);
    const first = await journal.append({ n: 1 });
    fault.mode = "full";
    await assert.rejects(journal.append({ n: 2 }), /ENOSPC/);
    fault.mode = "ok";
    const third = await journal.append({ n: 3 });
    assert.deepEqual(await journal.read(first), { n: 1 });
    assert.deepEqual(await journal.read(third), { n: 3 }, "its position is where it was written");
    await journal.close();

    const replayed: Array<[number, RecordPosition]> = [];
    const corrupt: CorruptRecord[] = [];
    const again = await Journal.open<{ n: number }>(
      dir,
      (record, position) => replayed.push([record.n, position]),
      (c) => corrupt.push(c),
      () => undefined,
    );
    assert.deepEqual(
      replayed.map(([n]) => n),
      [1, 3],
    );
    assert.deepEqual(corrupt, []);
    assert.deepEqual(await again.read(replayed[1][1]), { n: 3 });
    await again.close();
  });
});

/** A journal of preallocated segments in `dir`, replaying into `replayed` and reporting damage into `corrupt`. */
const openPreallocated = (dir: string, segmentBytes: number, replayed: number[], corrupt: CorruptRecord[]) =>
  openJournal(dir, replayed, corrupt, { segmentBytes, preallocate: true });

describe("Journal with preallocated segments on a full disk (ENOSPC from a wrapped write)", () => {
  const dir = tempDir("alarm-mail-journal-full-");
  let fault: DiskFault;
  after(() => fault.uninstall());

  it("refuses the record while no segment can be made, leaves no half-made one, and goes on once there is room", async () => {
    fault = await new DiskFault(dir).install().installHandles();
    // Full from the start: the segment being made at open cannot be written either.
    fault.mode = "full";
    const open = (replayed: number[] = [], corrupt: CorruptRecord[] = []) =>
      openPreallocated(dir, 64 * 1024, replayed, corrupt);
    const journal = await open();
    await assert.rejects(journal.append({ n: 1 }), /ENOSPC/);
    await assert.rejects(journal.append({ n: 2 }), /ENOSPC/);
    assert.deepEqual(
      readdirSync(dir).filter((name) => name.endsWith(".log")),
      [],
      "no segment left behind by the attempts",
    );
    fault.mode = "ok";
    await journal.append({ n: 3 });
    await journal.close();
    const replayed: number[] = [];
    const corrupt: CorruptRecord[] = [];
    await (await open(replayed, corrupt)).close();
    assert.deepEqual([replayed, corrupt], [[3], []]);
  });
});

describe("Journal: a disk with less room than a preallocated segment", () => {
  const dir = tempDir("alarm-mail-journal-room-");
  let fault: DiskFault;
  after(() => fault.uninstall());

  it("takes records in a segment that grows as it is written, and replays them", async () => {
    fault = await new DiskFault(dir).install().installHandles();
    // Room for many records, not for a segment's zeros.
    fault.room = 16 * 1024;
    const open = (replayed: number[] = [], corrupt: CorruptRecord[] = []) =>
      openPreallocated(dir, 256 * 1024, replayed, corrupt);
    const journal = await open();
    await journal.append({ n: 1 });
    await journal.append({ n: 2 });
    await journal.close();
    fault.room = undefined;
    const replayed: number[] = [];
    const corrupt: CorruptRecord[] = [];
    await (await open(replayed, corrupt)).close();
    assert.deepEqual([replayed, corrupt], [[1, 2], []]);
  });
});

describe("Journal: a disk that fills in the middle of a burst", () => {
  const dir = tempDir("alarm-mail-journal-burst-");
  let fault: DiskFault;
  after(() => fault.uninstall());

  it("replays after a restart exactly the records whose append resolved, and reports no damage", async () => {
    fault = await new DiskFault(dir).install().installHandles();
    const open = (replayed: number[] = [], corrupt: CorruptRecord[] = []) => openJournal(dir, replayed, corrupt);
    const journal = await open();
    const first = await journal.append({ n: 1 });
    // Records of one size: room for two more and a few bytes of a third.
    fault.room = first.length * 3 + 5;
    const outcomes = await Promise.all(
      [2, 3, 4, 5].map((n) =>
        journal.append({ n }).then(
          () => n,
          () => -n,
        ),
      ),
    );
    fault.room = undefined;
    await journal.append({ n: 6 });
    await journal.close();
    // The first append is a write of its own and the three after it one write, which the disk cut short.
    assert.deepEqual(outcomes, [2, -3, -4, -5]);
    const replayed: number[] = [];
    const corrupt: CorruptRecord[] = [];
    await (await open(replayed, corrupt)).close();
    assert.deepEqual(replayed, [1, 2, 6], "a record its caller was told failed does not come back");
    assert.deepEqual(corrupt, [], "the part of the refused write is not left to be reported as damage");
  });
});

describe("Journal: a write that makes no progress", () => {
  it("refuses the record rather than retrying forever on the event loop, and goes on", async () => {
    const dir = tempDir("alarm-mail-journal-zero-");
    const journal = await openJournal(dir);
    await journal.append({ n: 1 });
    const writeSync = fs.writeSync;
    let calls = 0;
    // A write that returns 0 bytes, as a misbehaving file system may; bounded, so that the old loop ends the test.
    (fs as { writeSync: unknown }).writeSync = (fd: number, ...rest: unknown[]) => {
      if (fd <= 2) return (writeSync as (...args: unknown[]) => number)(fd, ...rest);
      calls += 1;
      if (calls > 1000) throw new Error("still retrying");
      return 0;
    };
    let refused: unknown;
    try {
      refused = await journal.append({ n: 2 }).catch((err: unknown) => err);
    } finally {
      (fs as { writeSync: unknown }).writeSync = writeSync;
    }
    assert.ok(refused instanceof Error && refused.message !== "still retrying", String(refused));
    assert.equal(calls, 1);
    await journal.append({ n: 3 });
    await journal.close();
    const replayed: number[] = [];
    const corrupt: CorruptRecord[] = [];
    await (await openJournal(dir, replayed, corrupt)).close();
    assert.deepEqual([replayed, corrupt], [[1, 3], []]);
  });
});

describe("Journal: a damaged record", () => {
  it("is reported once, not again at every restart, and the records after it still replay", async () => {
    const dir = tempDir("alarm-mail-journal-damage-");
    const journal = await openJournal(dir);
    await journal.append({ n: 1 });
    const second = await journal.append({ n: 2 });
    await journal.append({ n: 3 });
    await journal.close();
    const file = join(dir, "journal-00000001.log");
    const data = readFileSync(file);
    data[second.offset + 12] ^= 0xff; // one flipped byte: the CRC no longer matches
    writeFileSync(file, data);

    const open = async () => {
      const corrupt: CorruptRecord[] = [];
      const replayed: number[] = [];
      const j = await openJournal(dir, replayed, corrupt);
      await j.close();
      return { corrupt, replayed };
    };
    const first = await open();
    assert.deepEqual(
      first.corrupt.map((c) => [c.offset, c.reason]),
      [[second.offset, "checksum"]],
    );
    assert.deepEqual(first.replayed, [1, 3]);
    const again = await open();
    assert.deepEqual(again.corrupt, [], "said once");
    assert.deepEqual(again.replayed, [1, 3]);
  });
});

describe("Journal: a sync that fails", () => {
  it("refuses the records it covered and those written after them, none comes back, and later records are kept", async () => {
    const dir = tempDir("alarm-mail-journal-eio-");
    const open = (replayed: number[] = []) => openJournal(dir, replayed);
    const journal = await open();
    const proto = (await fileHandlePrototype()) as unknown as { datasync: () => Promise<void> };
    const datasync = proto.datasync;
    let syncs = 0;
    proto.datasync = async function (this: unknown) {
      syncs += 1;
      // A slow disk, so that records are written while each sync runs; the second one fails, as a disk error does.
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (syncs === 2) throw Object.assign(new Error("EIO: i/o error, datasync"), { code: "EIO" });
      return datasync.call(this);
    };
    const outcomes: Array<Promise<number>> = [];
    try {
      for (let n = 1; n <= 40; n++) {
        outcomes.push(
          journal.append({ n }).then(
            () => n,
            () => -n,
          ),
        );
        await new Promise((resolve) => setImmediate(resolve));
      }
      await Promise.all(outcomes);
      outcomes.push(journal.append({ n: 41 }).then(() => 41));
      await Promise.all(outcomes);
    } finally {
      proto.datasync = datasync;
    }
    await journal.close();
    const results = await Promise.all(outcomes);
    const kept = results.filter((n) => n > 0);
    assert.ok(kept.length < results.length, "the failed sync refused records");
    assert.equal(results.at(-1), 41, "a record after the failure is kept");
    const replayed: number[] = [];
    await (await open(replayed)).close();
    assert.deepEqual(replayed, kept, "exactly the records whose append resolved");
  });

  it("amid deferred records and rotations: one sync at a time, and what resolved is exactly what replays", async () => {
    const dir = tempDir("alarm-mail-journal-eio-");
    const options = { segmentBytes: 100, deferMs: 2 };
    const rotated: number[] = [];
    const journal = await Journal.open<{ n: number }>(
      dir,
      () => undefined,
      () => undefined,
      (segment) => rotated.push(segment),
      options,
    );
    const proto = (await fileHandlePrototype()) as unknown as { datasync: () => Promise<void> };
    const datasync = proto.datasync;
    let syncs = 0;
    let running = 0;
    let most = 0;
    proto.datasync = async function (this: unknown) {
      syncs += 1;
      running += 1;
      most = Math.max(most, running);
      try {
        await new Promise((resolve) => setTimeout(resolve, 1));
        // Every fourth sync fails: in a group, at a rotation, at the cut of a segment after an earlier failure.
        if (syncs % 4 === 0) throw Object.assign(new Error("EIO: i/o error, datasync"), { code: "EIO" });
        return await datasync.call(this);
      } finally {
        running -= 1;
      }
    };
    const outcomes: Array<Promise<[number, RecordPosition | undefined]>> = [];
    try {
      for (let n = 1; n <= 120; n++) {
        outcomes.push(
          journal.append({ n }, { defer: n % 2 === 0 }).then(
            (position): [number, RecordPosition] => [n, position],
            (): [number, undefined] => [-n, undefined],
          ),
        );
        // A few records a millisecond, so that syncs, failures and rotations take turns with the writes.
        if (n % 3 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      }
      await Promise.all(outcomes);
    } finally {
      proto.datasync = datasync;
    }
    const results = await Promise.all(outcomes);
    const kept = results.filter(([n]) => n > 0);
    for (const [n, position] of kept) assert.deepEqual(await journal.read(position as RecordPosition), { n });
    await journal.close();
    assert.equal(most, 1, "never two syncs at once");
    assert.ok(rotated.length > 0 && kept.length < results.length, "rotations and refused records both happened");
    const replayed: number[] = [];
    await (
      await Journal.open<{ n: number }>(
        dir,
        (record) => replayed.push(record.n),
        () => undefined,
        () => undefined,
        options,
      )
    ).close();
    assert.deepEqual(
      replayed,
      kept.map(([n]) => n),
    );
  });
});
