import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { AlarmEngine } from "../../nodes/lib/alarm/AlarmEngine";
import { AlarmError } from "../../nodes/lib/alarm/AlarmError";
import { AlarmHistory, type HistoryRecord } from "../../nodes/lib/alarm/AlarmHistory";
import { formatAlarmTable, parseAlarmTable } from "../../nodes/lib/alarm/AlarmTableCsv";
import {
  CONFIG_VERSION,
  migrateBlockConfig,
  parseBlockConfig,
  type RawConfig,
} from "../../nodes/lib/alarm/BlockConfig";
import { decodeBlockSnapshot, encodeBlockSnapshot } from "../../nodes/lib/alarm/BlockSnapshot";
import { SnapshotFile } from "../../nodes/lib/common/SnapshotFile";
import { tempDir } from "../support/tempDir";

const row = (fields: RawConfig = {}): RawConfig => ({
  id: "LT-201-H",
  label: "Basin 2 bacteria level high",
  topic: "LT-201",
  condition: "high",
  setpoint: 6,
  priority: 2,
  ...fields,
});

function refused(config: RawConfig, code: string, params: Record<string, string | number> = {}): void {
  assert.throws(
    () => parseBlockConfig(config),
    (err: unknown) =>
      err instanceof AlarmError &&
      err.code === code &&
      Object.entries(params).every(([key, value]) => err.params[key] === value),
    JSON.stringify(config),
  );
}

describe("BlockConfig", () => {
  it("reads a table with defaults for what may be left out, numbers from strings", () => {
    const config = parseBlockConfig({
      block: "3",
      alarms: [row({ setpoint: "6.5", deadband: "0.5", onDelay: "", label: "" })],
    });
    assert.equal(config.options.block, 3);
    assert.equal(config.options.floodCount, 10);
    assert.deepEqual(config.alarms[0], {
      id: "LT-201-H",
      label: "LT-201-H",
      topic: "LT-201",
      condition: "high",
      setpoint: 6.5,
      deadband: 0.5,
      onDelay: 0,
      offDelay: 0,
      priority: 2,
      ack: "manual",
      bit: 0,
      latch: false,
    });
    assert.equal(parseBlockConfig({ block: "Clarifier 2", alarms: [] }).options.block, "Clarifier 2");
  });

  it("leaves out each kind of wrong row, naming its row, id, field and rule; refuses a wrong block setting", () => {
    const block = (alarms: unknown[]) => ({ block: 1, alarms });
    const left = (rows: unknown[]) =>
      parseBlockConfig(block(rows)).refused.map((r) => `${r.row}:${r.id}:${r.field}:${r.rule}`);
    assert.deepEqual(left([row({ id: "" })]), ["1::id:id"]);
    assert.deepEqual(left([row({ id: "*" })]), ["1:*:id:id"]);
    assert.deepEqual(left([row({ topic: " " })]), ["1:LT-201-H:topic:topic"]);
    assert.deepEqual(left([row({ condition: "above" })]), ["1:LT-201-H:condition:condition"]);
    assert.deepEqual(left([row({ setpoint: "" })]), ["1:LT-201-H:setpoint:setpoint"]);
    assert.deepEqual(left([row({ setpoint: "six" })]), ["1:LT-201-H:setpoint:setpoint"]);
    assert.deepEqual(left([row({ deadband: -1 })]), ["1:LT-201-H:deadband:number"]);
    assert.deepEqual(left([row({ onDelay: "1s" })]), ["1:LT-201-H:onDelay:number"]);
    assert.deepEqual(left([row({ priority: 5 })]), ["1:LT-201-H:priority:priority"]);
    assert.deepEqual(left([row({ priority: undefined })]), ["1:LT-201-H:priority:priority"]);
    assert.deepEqual(left([row({ ack: "later" })]), ["1:LT-201-H:ack:ack"]);
    assert.deepEqual(left([row({ condition: "bit", bit: 32 })]), ["1:LT-201-H:bit:bit"]);
    assert.deepEqual(left([row({ condition: "bit", bit: 1.5 })]), ["1:LT-201-H:bit:bit"]);
    assert.deepEqual(left([row({ condition: "bit" })]), ["1:LT-201-H:bit:bit"]);
    assert.deepEqual(left([row({ latch: "maybe" })]), ["1:LT-201-H:latch:latch"]);
    assert.deepEqual(left([row(), row()]), ["2:LT-201-H:id:duplicate"], "the first of two rows with one id runs");
    assert.deepEqual(left(["LT-201"]), ["1::row:object"]);
    const mixed = parseBlockConfig(block([row({ setpoint: "" }), row({ id: "LT-201-HH", setpoint: 8 })]));
    assert.deepEqual(
      mixed.alarms.map((a) => a.id),
      ["LT-201-HH"],
      "the valid row runs beside the wrong one",
    );
    refused({ block: "", alarms: [] }, "block-config-invalid", { field: "block" });
    refused({ block: 1, alarms: "LT-201" }, "block-config-invalid", { field: "alarms" });
    refused({ block: 1, alarms: [], floodCount: 0 }, "block-config-invalid", { field: "floodCount" });
    refused({ block: 1, alarms: [], chatterCount: 1 }, "block-config-invalid", { field: "chatterCount" });
  });

  it("true, false and bit need no setpoint", () => {
    const config = parseBlockConfig({
      block: 1,
      alarms: [
        row({ id: "T", condition: "true", setpoint: "" }),
        row({ id: "B", condition: "bit", bit: "7", setpoint: undefined }),
      ],
    });
    assert.deepEqual(
      config.alarms.map((a) => [a.id, a.setpoint, a.bit]),
      [
        ["T", 0, 0],
        ["B", 0, 7],
      ],
    );
  });

  it("migration: no version is the first shape; a newer version than this package is refused", () => {
    assert.equal(CONFIG_VERSION, 1);
    const config = { block: 1, alarms: [row()] };
    assert.deepEqual(migrateBlockConfig(config), { ...config, version: 1 });
    assert.deepEqual(migrateBlockConfig({ ...config, version: 1 }), { ...config, version: 1 });
    assert.throws(
      () => migrateBlockConfig({ ...config, version: 2 }),
      (err: unknown) => err instanceof AlarmError && err.code === "config-version" && err.params.supported === 1,
    );
  });
});

describe("AlarmTableCsv", () => {
  it("reads a spreadsheet export: header in any order, extra columns, quotes, BOM, CRLF", () => {
    const csv =
      "\uFEFFPriority,ID,Topic,Condition,Setpoint,On delay,Comment,Label\r\n" +
      '1,LT-201-HH,LT-201,high,8,5000,"checked, 2025",Basin 2 "bacteria" level high-high\r\n' +
      "\r\n" +
      '3,PLC-W1.3,PLC/word1,bit,,,,"Pump 3\nfault"\r\n';
    const table = parseAlarmTable(csv);
    assert.deepEqual(table.ignored, ["Comment"]);
    assert.deepEqual(table.problems, [
      { line: 4, code: "alarm-config-invalid", params: { alarm: "PLC-W1.3", field: "bit", value: "" } },
    ]);
    assert.deepEqual(table.rows[0], {
      priority: 1,
      id: "LT-201-HH",
      topic: "LT-201",
      condition: "high",
      setpoint: 8,
      onDelay: 5000,
      label: 'Basin 2 "bacteria" level high-high',
    });
    assert.equal(table.rows[1].label, "Pump 3\nfault");
  });

  it("reads the semicolon and decimal comma of a French Excel", () => {
    const table = parseAlarmTable("id;topic;condition;setpoint;deadband;priority;latch\nA;t;low;2,5;0,25;4;oui\n");
    assert.equal(table.delimiter, ";");
    assert.equal(table.rows[0].setpoint, 2.5);
    assert.equal(table.rows[0].deadband, 0.25);
    assert.equal(table.rows[0].latch, "oui");
    assert.deepEqual(
      table.problems.map((p) => p.params.field),
      ["latch"],
    );
  });

  it("reports duplicate ids by line and refuses a text without the required columns", () => {
    const table = parseAlarmTable("id,topic,condition,setpoint,priority\nA,t,high,1,1\nA,t,high,2,1\n");
    assert.deepEqual(table.problems, [{ line: 3, code: "alarm-duplicate", params: { alarm: "A" } }]);
    for (const text of ["", "\n\n", "id,label\nA,B\n"]) {
      assert.throws(
        () => parseAlarmTable(text),
        (err: unknown) => err instanceof AlarmError && err.code === "csv-invalid",
      );
    }
  });

  it("what it writes, it reads back the same, with either delimiter", () => {
    const rows = [
      {
        id: "LT-201-H",
        label: 'Basin 2; "high", level',
        topic: "LT-201",
        condition: "high",
        setpoint: 6.5,
        deadband: 0.5,
        onDelay: 5000,
        offDelay: 0,
        priority: 2,
        ack: "manual",
        latch: true,
      },
      {
        id: "W1.3",
        label: "Pump 3\nfault",
        topic: "word1",
        condition: "bit",
        setpoint: 0,
        deadband: 0,
        onDelay: 0,
        offDelay: 0,
        priority: 3,
        ack: "none",
        bit: 3,
        latch: false,
      },
    ];
    for (const delimiter of [",", ";"] as const) {
      const csv = formatAlarmTable(rows, delimiter);
      assert.match(csv, /^id[,;]label[,;]topic/);
      const back = parseAlarmTable(csv);
      assert.deepEqual(back.problems, []);
      const parsed = parseBlockConfig({ block: 1, alarms: back.rows }).alarms;
      assert.deepEqual(parsed, parseBlockConfig({ block: 1, alarms: rows }).alarms, delimiter);
    }
    assert.match(formatAlarmTable(rows, ";"), /;6,5;0,5;/);
  });
});

describe("AlarmHistory", () => {
  const record = (at: number): HistoryRecord => ({
    at,
    event: "trigger",
    id: "A",
    label: "A",
    priority: 1,
    state: "unacked",
    value: at,
    user: null,
  });

  it("keeps the last `capacity` records, oldest first", () => {
    const history = new AlarmHistory(3);
    for (let at = 1; at <= 7; at++) history.add(record(at));
    assert.equal(history.size, 3);
    assert.deepEqual(
      history.list().map((r) => r.at),
      [5, 6, 7],
    );
    const smaller = new AlarmHistory(2, history.list());
    assert.deepEqual(
      smaller.list().map((r) => r.at),
      [6, 7],
    );
  });
});

describe("BlockSnapshot", () => {
  it("round-trips an engine and a history", () => {
    const defs = parseBlockConfig({ block: 1, alarms: [row()] });
    const engine = new AlarmEngine(defs.alarms, defs.options);
    const history = new AlarmHistory(10);
    for (const event of engine.update("LT-201", 7, 1000)) {
      history.add({
        at: event.at,
        event: event.event,
        id: "LT-201-H",
        label: null,
        priority: 2,
        state: "unacked",
        value: 7,
        user: null,
      });
    }
    const text = encodeBlockSnapshot({ engine: engine.snapshot(), history: history.list() }, 2000);
    const back = decodeBlockSnapshot(text);
    assert.deepEqual(back.engine, engine.snapshot());
    assert.deepEqual(back.history, history.list());
  });

  it("refuses damaged snapshots with a reason", () => {
    const good = JSON.parse(
      encodeBlockSnapshot(
        { engine: { alarms: {}, flood: { times: [], active: false, endsAt: null } }, history: [] },
        1,
      ),
    ) as Record<string, unknown>;
    const cases: Array<[string, RegExp]> = [
      ['{"format":1,"engine":', /not JSON/],
      ["[]", /not an object/],
      [JSON.stringify({ ...good, format: 99 }), /unknown format 99/],
      [JSON.stringify({ ...good, engine: { alarms: { A: { value: "high" } }, flood: {} } }), /bad state for alarm A/],
      [JSON.stringify({ ...good, history: [{ at: "yesterday" }] }), /bad history/],
    ];
    for (const [text, reason] of cases) assert.throws(() => decodeBlockSnapshot(text), reason);
  });
});

describe("BlockSnapshot: a file saved before the ISA-18.2 fixes", () => {
  const T0 = Date.UTC(2026, 0, 15, 8, 0, 0);
  const fresh = {
    latched: false,
    ackedAt: null,
    recoveredAt: null,
    ackBy: null,
    suppressed: false,
    outOfService: false,
    chattering: false,
    chatterEndsAt: null,
  };
  /**
   * As the engine before the fixes wrote it (format 1, today's format), for four alarms caught in the states it got
   * wrong: ON in its on-delay with a value inside the deadband, OFF in its off-delay with a value back inside the
   * deadband, SH shelved while it went into alarm, LA latching and shelved one-shot. Its activations are value
   * crossings; they are read as trigger times.
   */
  const saved = JSON.stringify({
    format: 1,
    savedAt: T0 + 3000,
    engine: {
      alarms: {
        ON: {
          ...fresh,
          value: 96,
          raw: true,
          active: false,
          pendingAt: T0 + 10_000,
          acked: true,
          announced: false,
          triggeredAt: null,
          shelved: false,
          shelvedUntil: null,
          activations: [],
        },
        OFF: {
          ...fresh,
          value: 96,
          raw: false,
          active: true,
          pendingAt: T0 + 11_000,
          acked: false,
          announced: true,
          triggeredAt: T0,
          shelved: false,
          shelvedUntil: null,
          activations: [T0],
        },
        SH: {
          ...fresh,
          value: 101,
          raw: true,
          active: true,
          pendingAt: null,
          acked: true,
          announced: false,
          triggeredAt: null,
          shelved: true,
          shelvedUntil: T0 + 60_000,
          activations: [T0 + 1000],
        },
        LA: {
          ...fresh,
          value: 101,
          raw: true,
          active: true,
          pendingAt: null,
          acked: false,
          announced: true,
          triggeredAt: T0,
          shelved: true,
          shelvedUntil: null,
          activations: [T0],
        },
      },
      flood: { times: [T0, T0], active: false, endsAt: null },
    },
    history: [],
  });
  const alarm = (id: string, fields: RawConfig) => row({ id, topic: id, setpoint: 100, deadband: 5, ...fields });
  const config = parseBlockConfig({
    block: 1,
    alarms: [
      alarm("ON", { onDelay: 10_000 }),
      alarm("OFF", { offDelay: 10_000 }),
      alarm("SH", {}),
      alarm("LA", { latch: true }),
    ],
  });
  const names = (events: Array<{ event: string; alarm?: { id: string; state: string } }>) =>
    events.map((e) => `${e.event}:${e.alarm?.id ?? ""}:${e.alarm?.state ?? ""}`);

  it("loads, and the alarms continue as the standard says", () => {
    const engine = new AlarmEngine(config.alarms, config.options, decodeBlockSnapshot(saved).engine);
    const state = (id: string) => engine.select(id)[0].state;
    assert.equal(engine.nextDeadline(), T0 + 60_000, "neither delay is still running: 96 decides both");
    assert.deepEqual(engine.advance(T0 + 20_000), [], "ON does not trigger, OFF does not recover");
    assert.equal(state("ON"), "normal");
    assert.equal(state("OFF"), "unacked");

    assert.deepEqual(names(engine.advance(T0 + 60_000)), ["unshelve:SH:unacked", "trigger:SH:unacked"]);

    assert.deepEqual(engine.update("LA", 90, T0 + 61_000), [], "latched: its one-shot shelving goes on");
    assert.equal(state("LA"), "shelved");
    assert.deepEqual(names(engine.command("reset", "LA", {}, T0 + 62_000)), [
      "recovery:LA:shelved",
      "unshelve:LA:rtn-unacked",
    ]);

    engine.update("OFF", 95, T0 + 63_000);
    assert.deepEqual(names(engine.advance(T0 + 73_000)), ["recovery:OFF:rtn-unacked"]);
    engine.update("ON", 101, T0 + 74_000);
    assert.deepEqual(names(engine.advance(T0 + 84_000)), ["trigger:ON:unacked"]);
  });
});

describe("SnapshotFile", () => {
  it("replaces the file whole, leaves no temporary file, and removes it on request", async () => {
    const dir = tempDir("alarm-mail-snapshot-");
    const file = new SnapshotFile(join(dir, "blocks", "n1.json"));
    assert.equal(file.read(), undefined);
    await Promise.all([file.write("first"), file.write("second"), file.write("third")]);
    assert.equal(file.read(), "third", "writes run in the order they were asked for");
    assert.deepEqual(readdirSync(join(dir, "blocks")), ["n1.json"]);
    await file.remove();
    assert.equal(file.read(), undefined);
  });

  it("sets a damaged file aside instead of overwriting it", async () => {
    const dir = tempDir("alarm-mail-snapshot-");
    const path = join(dir, "n2.json");
    writeFileSync(path, "garbage");
    const file = new SnapshotFile(path);
    await file.setAside("corrupt-1");
    await file.write("fresh");
    assert.equal(readFileSync(`${path}.corrupt-1`, "utf8"), "garbage");
    assert.equal(file.read(), "fresh");
  });
});
