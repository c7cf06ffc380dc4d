import assert from "node:assert/strict";
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { crc32 } from "node:zlib";
import type { AlarmEvent } from "../../nodes/lib/alarm/AlarmEngine";
import {
  ackComments,
  HISTORY_COMMENT_MAX,
  historyRecord,
  type HistoryRecord,
} from "../../nodes/lib/alarm/AlarmHistory";
import { HistoryStore, type HistoryDamage } from "../../nodes/lib/alarm/HistoryStore";
import { tempDir } from "../support/tempDir";

const DAY = 86_400_000;
const START = Date.UTC(2026, 0, 10, 12);

function record(at: number, id = "LT-201-H", event: HistoryRecord["event"] = "trigger"): HistoryRecord {
  return { at, event, id, label: "Basin 2 level high", priority: 2, state: "unacked", value: 9, user: null };
}

/** An alarm as an engine event carries it, with the fields a history line takes. */
const alarmView = { id: "LT-201-H", label: "Basin 2 level high", priority: 2, state: "acked", value: 9 };

const fresh = () => tempDir("alarm-history-");

describe("HistoryStore: a block's events on disk, one file a day", () => {
  it("keeps where an ack came from, and reads lines written before acks said it", async () => {
    const dir = fresh();
    const now = () => START;
    const store = new HistoryStore(dir, { days: 35, maxEvents: 1000, now });
    const ack: HistoryRecord = { ...record(START + 1, "LT-201-H", "ack"), user: "ana@plant.example", ackVia: "link" };
    store.add(record(START));
    store.add(ack);
    await store.close();
    const again = new HistoryStore(dir, { days: 35, maxEvents: 1000, now });
    assert.deepEqual(await again.list(), [record(START), ack]);
    await again.close();
    const lines = readFileSync(join(dir, "2026-01-10.log"), "utf8").trim().split("\n");
    assert.equal((JSON.parse(lines[0].slice(9)) as unknown[]).length, 8, "other events keep the older, shorter line");
    assert.equal((JSON.parse(lines[1].slice(9)) as unknown[])[8], "link");
  });

  it("keeps an ack's comment, bounded, and still reads lines of 8 and 9 fields written before comments were kept", async () => {
    const dir = fresh();
    const now = () => START;
    const store = new HistoryStore(dir, { days: 35, maxEvents: 1000, now });
    const commented = historyRecord(
      {
        at: START + 2,
        event: "ack",
        alarm: { ...alarmView, ackVia: "link" },
        user: "Chris Night",
      } as unknown as AlarmEvent,
      `  valve\r\nclosed ${"é".repeat(600)}`,
    );
    assert.equal(commented.comment, `valve closed ${"é".repeat(HISTORY_COMMENT_MAX - 13)}`, "one line, 500 at most");
    const noVia: HistoryRecord = { ...record(START + 3, "LT-201-H", "ack"), comment: "from elsewhere" };
    store.add(noVia);
    store.add(commented);
    await store.close();
    const file = join(dir, "2026-01-10.log");
    const [first] = readFileSync(file, "utf8").trim().split("\n");
    assert.deepEqual((JSON.parse(first.slice(9)) as unknown[]).slice(8), [null, "from elsewhere"]);
    // Lines as the two older versions wrote them, after the new ones: every one of them loads.
    const old8 = JSON.stringify([START + 4, "trigger", "LT-201-H", "Basin 2 level high", 2, "unacked", 9, null]);
    const old9 = JSON.stringify([START + 5, "ack", "LT-201-H", "Basin 2 level high", 2, "acked", 9, "ana", "mail"]);
    for (const json of [old8, old9]) appendFileSync(file, `${crc32(json).toString(16).padStart(8, "0")} ${json}\n`);
    const again = new HistoryStore(dir, { days: 35, maxEvents: 1000, now });
    const read = await again.list();
    await again.close();
    assert.deepEqual(
      read.map((r) => [r.event, r.ackVia, r.comment]),
      [
        ["ack", undefined, "from elsewhere"],
        ["ack", "link", commented.comment],
        ["trigger", undefined, undefined],
        ["ack", "mail", undefined],
      ],
    );
    assert.equal(
      historyRecord({ at: START, event: "trigger", alarm: alarmView } as unknown as AlarmEvent, "x").comment,
      undefined,
      "an ack's only",
    );
  });

  it("keeps events across a reopen, one file per UTC day, read back in order and by range", async () => {
    const dir = fresh();
    const now = () => START + 2 * DAY;
    const store = new HistoryStore(dir, { days: 35, maxEvents: 1000, now });
    const times = [START, START + 1000, START + DAY, START + DAY + 5, START + 2 * DAY];
    for (const at of times) store.add(record(at));
    await store.close();
    assert.deepEqual(readdirSync(dir).sort(), ["2026-01-10.log", "2026-01-11.log", "2026-01-12.log"]);

    const again = new HistoryStore(dir, { days: 35, maxEvents: 1000, now });
    assert.deepEqual(
      (await again.list()).map((r) => r.at),
      times,
    );
    assert.deepEqual(
      (await again.list(START + 1000, START + DAY + 5)).map((r) => r.at),
      [START + 1000, START + DAY],
    );
    assert.deepEqual(await again.list(START, START + 1), [record(START)], "every field comes back");
    assert.equal(again.size, 5);
    await again.close();
  });

  it("reads pending events before they reach the disk", async () => {
    const store = new HistoryStore(fresh(), { days: 35, maxEvents: 1000, flushMs: 60_000, now: () => START });
    store.add(record(START));
    assert.deepEqual(
      (await store.list()).map((r) => r.at),
      [START],
    );
    await store.close();
  });

  it("deletes whole days older than `days`, at the start and as new days come", async () => {
    const dir = fresh();
    let now = START;
    const store = new HistoryStore(dir, { days: 2, maxEvents: 1000, now: () => now });
    for (let d = 0; d < 3; d++) store.add(record(START + d * DAY));
    now = START + 2 * DAY;
    await store.flush();
    assert.equal(readdirSync(dir).length, 3, "today and the two days before");
    now = START + 3 * DAY;
    store.add(record(now));
    await store.flush();
    assert.deepEqual(readdirSync(dir).sort(), ["2026-01-11.log", "2026-01-12.log", "2026-01-13.log"]);
    await store.close();
    const later = new HistoryStore(dir, { days: 2, maxEvents: 1000, now: () => START + 10 * DAY });
    await later.opened();
    assert.deepEqual(readdirSync(dir), []);
    await later.close();
  });

  it("bounds the count: reads give the newest maxEvents, the disk holds at most a tenth more", async () => {
    const dir = fresh();
    const store = new HistoryStore(dir, { days: 35, maxEvents: 20, now: () => START + DAY });
    for (let i = 0; i < 21; i++) store.add(record(START + i));
    await store.flush();
    assert.equal(store.size, 20);
    assert.deepEqual(
      (await store.list()).map((r) => r.at - START),
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    assert.equal(readFileSync(join(dir, "2026-01-10.log"), "utf8").split("\n").length - 1, 21, "within the slack");
    for (let i = 21; i < 25; i++) store.add(record(START + DAY + i));
    await store.flush();
    const kept = readdirSync(dir)
      .map((name) => readFileSync(join(dir, name), "utf8").split("\n").length - 1)
      .reduce((a, b) => a + b);
    assert.equal(kept, 20, "cut back to maxEvents once past the slack");
    assert.deepEqual(
      (await store.list()).map((r) => r.at - START),
      [...Array.from({ length: 16 }, (_, i) => i + 5), DAY + 21, DAY + 22, DAY + 23, DAY + 24],
    );
    await store.close();
  });

  it("cuts a torn tail at the start and skips a damaged line, saying where", async () => {
    const dir = fresh();
    const store = new HistoryStore(dir, { days: 35, maxEvents: 100, now: () => START });
    store.add(record(START));
    store.add(record(START + 1));
    await store.close();
    const file = join(dir, "2026-01-10.log");
    const lines = readFileSync(file, "utf8").split("\n");
    writeFileSync(file, `${lines[0]}\n${lines[1].replace("Basin", "Basim")}\n`);
    appendFileSync(file, '1234abcd [1768046400002,"trig');
    const damage: HistoryDamage[] = [];
    const again = new HistoryStore(dir, { days: 35, maxEvents: 100, now: () => START }, (d) => damage.push(d));
    again.add(record(START + 3));
    assert.deepEqual(
      (await again.list()).map((r) => r.at - START),
      [0, 3],
    );
    assert.deepEqual(damage, [
      { file, line: 3 },
      { file, line: 2 },
    ]);
    await again.close();
  });

  it("writes the seed (a snapshot's old history) once, into an empty folder only", async () => {
    const dir = fresh();
    const seed = [record(START), record(START + 1, "LT-201-HH", "ack")];
    const first = new HistoryStore(dir, { days: 35, maxEvents: 100, now: () => START, seed });
    first.add(record(START + 2));
    assert.deepEqual(
      (await first.list()).map((r) => r.at - START),
      [0, 1, 2],
    );
    await first.close();
    const second = new HistoryStore(dir, { days: 35, maxEvents: 100, now: () => START, seed });
    assert.deepEqual(
      (await second.list()).map((r) => r.at - START),
      [0, 1, 2],
      "not written twice",
    );
    await second.close();
  });
});

describe("ackComments: what was typed with the ack of each active alarm", () => {
  it("takes the comment of the ack recorded at the alarm's ackedAt, from the store, and no other", async () => {
    const store = new HistoryStore(fresh(), { days: 35, maxEvents: 1000, now: () => START });
    const ack = (at: number, id: string, comment?: string): HistoryRecord => ({
      ...record(at, id, "ack"),
      ackVia: "link",
      ...(comment ? { comment } : {}),
    });
    // An earlier occurrence of LT-201-H, acknowledged with a comment, then the current one, acknowledged with another.
    store.add(ack(START + 1_000, "LT-201-H", "first occurrence: sensor fouled"));
    store.add(ack(START + DAY, "LT-201-H", "valve closed, level falling"));
    store.add(ack(START + DAY + 5, "LT-201-HH"));
    store.add(ack(START + DAY + 7, "PT-3-H", "recorded later than the ack the alarm holds"));
    store.add(record(START + DAY + 9, "TT-1-L"));
    // The store holds its lines until its write window: read from pending records, and again from disk.
    const alarms = [
      { id: "TT-1-L", ackedAt: null },
      { id: "LT-201-H", ackedAt: START + DAY },
      { id: "LT-201-HH", ackedAt: START + DAY + 5 },
      { id: "PT-3-H", ackedAt: START + DAY + 6 },
    ];
    const expected = new Map([["LT-201-H", "valve closed, level falling"]]);
    const spans: Array<[number, number]> = [];
    const scan = (from: number, to: number, visit: (r: HistoryRecord) => void) => {
      spans.push([from, to]);
      return store.scan(from, to, visit);
    };
    assert.deepEqual(await ackComments(alarms, scan), expected);
    assert.deepEqual(spans, [[START + DAY, START + DAY + 7]], "only the span of the acks asked for");
    await store.close();
    const again = new HistoryStore(store.dir, { days: 35, maxEvents: 1000, now: () => START });
    assert.deepEqual(await ackComments(alarms, (from, to, visit) => again.scan(from, to, visit)), expected);
    await again.close();
  });

  it("reads nothing when no active alarm is acknowledged", async () => {
    let read = false;
    const comments = await ackComments([{ id: "LT-201-H", ackedAt: null }], async () => {
      read = true;
    });
    assert.equal(comments.size, 0);
    assert.equal(read, false);
  });
});
