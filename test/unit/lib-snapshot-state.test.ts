import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeEach, describe, it } from "node:test";
import { SnapshotFile } from "../../nodes/lib/common/SnapshotFile";
import { SnapshotState, type SnapshotFault } from "../../nodes/lib/common/SnapshotState";
import { tempDir } from "../support/tempDir";

/** A decoder as the nodes' are: it refuses a text it cannot trust, with the reason. */
function decode(text: string): { count: number } {
  const data = JSON.parse(text) as unknown;
  if (typeof data !== "object" || data === null || typeof (data as { count?: unknown }).count !== "number") {
    throw new Error("no count");
  }
  return data as { count: number };
}

describe("SnapshotState: a node's state file and the faults a person must know of", () => {
  let dir = "";
  let path = "";
  let said: Array<[SnapshotFault, string] | "mended"> = [];
  const state = () =>
    new SnapshotState(
      new SnapshotFile(path),
      { fault: (fault, reason) => said.push([fault, reason]), mended: () => said.push("mended") },
      () => 1234,
    );
  beforeEach(() => {
    dir = tempDir("alarm-mail-snapshot-state-");
    path = join(dir, "node.json");
    said = [];
  });

  it("no file yet is a clean start, not a fault", () => {
    const snapshot = state();
    assert.equal(snapshot.load(decode), undefined);
    assert.deepEqual(said, []);
    assert.equal(snapshot.faulty, false);
  });

  it("reads back what it wrote", async () => {
    const snapshot = state();
    assert.equal(await snapshot.write(() => JSON.stringify({ count: 3 })), true);
    assert.deepEqual(state().load(decode), { count: 3 });
    assert.deepEqual(said, []);
  });

  it("a file it cannot decode is set aside for a post-mortem and said, and the node starts clean", async () => {
    writeFileSync(path, "{ half a snaps");
    const snapshot = state();
    assert.equal(snapshot.load(decode), undefined);
    assert.equal(said.length, 1);
    const [fault, reason] = said[0] as [SnapshotFault, string];
    assert.equal(fault, "snapshot-unreadable");
    assert.match(reason, /JSON/);
    assert.equal(snapshot.faulty, true);
    await snapshot.file.settled();
    assert.equal(existsSync(path), false);
    assert.equal(readFileSync(`${path}.corrupt-1234`, "utf8"), "{ half a snaps");
  });

  it("a decoded file the decoder refuses is set aside too, with the decoder's reason", async () => {
    writeFileSync(path, JSON.stringify({ other: 1 }));
    const snapshot = state();
    assert.equal(snapshot.load(decode), undefined);
    assert.deepEqual(said, [["snapshot-unreadable", "no count"]]);
    await snapshot.file.settled();
    assert.deepEqual(readdirSync(dir), ["node.json.corrupt-1234"]);
  });

  it("a file it cannot read is said and left where it is", () => {
    mkdirSync(path);
    const snapshot = state();
    assert.equal(snapshot.load(decode), undefined);
    assert.equal(said.length, 1);
    assert.equal((said[0] as [SnapshotFault, string])[0], "snapshot-unreadable");
    assert.equal(snapshot.faulty, true);
    assert.deepEqual(readdirSync(dir), ["node.json"]);
  });

  it("a refused write is said and stays a fault until a write works, which mends it once", async () => {
    // The state file's folder is a file: no write can work until it is gone.
    const blocked = join(dir, "blocked");
    writeFileSync(blocked, "");
    path = join(blocked, "node.json");
    const snapshot = state();
    assert.equal(await snapshot.write(() => JSON.stringify({ count: 1 })), false);
    assert.equal(await snapshot.write(() => JSON.stringify({ count: 2 })), false);
    assert.deepEqual(
      said.map((entry) => (entry === "mended" ? entry : entry[0])),
      ["snapshot-unwritable", "snapshot-unwritable"],
    );
    assert.equal(snapshot.faulty, true);
    rmSync(blocked);
    assert.equal(await snapshot.write(() => JSON.stringify({ count: 3 })), true);
    assert.equal(await snapshot.write(() => JSON.stringify({ count: 4 })), true);
    assert.equal(said.at(-1), "mended");
    assert.equal(said.filter((entry) => entry === "mended").length, 1, "mended once, not at every write");
    assert.equal(snapshot.faulty, false);
    assert.deepEqual(state().load(decode), { count: 4 });
  });

  it("a fault met elsewhere (a close that could not remove the file) makes it faulty with its reason", () => {
    const snapshot = state();
    snapshot.fault("snapshot-unwritable", new Error("EROFS"));
    snapshot.fault("snapshot-unreadable", "not an Error");
    assert.deepEqual(said, [
      ["snapshot-unwritable", "EROFS"],
      ["snapshot-unreadable", "not an Error"],
    ]);
    assert.equal(snapshot.faulty, true);
  });
});
