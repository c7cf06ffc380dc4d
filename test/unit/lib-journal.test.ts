import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Journal } from "../../nodes/lib/common/Journal";

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
    const dir = mkdtempSync(join(tmpdir(), "alarm-mail-journal-"));
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
    const dir = mkdtempSync(join(tmpdir(), "alarm-mail-journal-"));
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
