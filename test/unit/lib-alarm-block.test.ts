import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
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

  it("refuses each kind of mistake, naming the alarm and the field", () => {
    const block = (alarms: RawConfig[]) => ({ block: 1, alarms });
    refused(block([row({ id: "" })]), "alarm-config-invalid", { alarm: "#1", field: "id" });
    refused(block([row({ id: "*" })]), "alarm-config-invalid", { field: "id" });
    refused(block([row({ topic: " " })]), "alarm-config-invalid", { alarm: "LT-201-H", field: "topic" });
    refused(block([row({ condition: "above" })]), "alarm-config-invalid", { field: "condition" });
    refused(block([row({ setpoint: "" })]), "alarm-config-invalid", { field: "setpoint" });
    refused(block([row({ setpoint: "six" })]), "alarm-config-invalid", { field: "setpoint" });
    refused(block([row({ deadband: -1 })]), "alarm-config-invalid", { field: "deadband" });
    refused(block([row({ onDelay: "1s" })]), "alarm-config-invalid", { field: "onDelay" });
    refused(block([row({ priority: 5 })]), "alarm-config-invalid", { field: "priority" });
    refused(block([row({ priority: undefined })]), "alarm-config-invalid", { field: "priority" });
    refused(block([row({ ack: "later" })]), "alarm-config-invalid", { field: "ack" });
    refused(block([row({ condition: "bit", bit: 32 })]), "alarm-config-invalid", { field: "bit" });
    refused(block([row({ condition: "bit", bit: 1.5 })]), "alarm-config-invalid", { field: "bit" });
    refused(block([row({ condition: "bit" })]), "alarm-config-invalid", { field: "bit" });
    refused(block([row({ latch: "maybe" })]), "alarm-config-invalid", { field: "latch" });
    refused(block([row(), row()]), "alarm-duplicate", { alarm: "LT-201-H" });
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
    for (const version of [2, 0, "x"]) {
      assert.throws(
        () => migrateBlockConfig({ ...config, version }),
        (err: unknown) => err instanceof AlarmError && err.code === "config-version" && err.params.supported === 1,
      );
    }
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

describe("SnapshotFile", () => {
  it("replaces the file whole, leaves no temporary file, and removes it on request", async () => {
    const dir = mkdtempSync(join(tmpdir(), "alarm-mail-snapshot-"));
    const file = new SnapshotFile(join(dir, "blocks", "n1.json"));
    assert.equal(file.read(), undefined);
    await Promise.all([file.write("first"), file.write("second"), file.write("third")]);
    assert.equal(file.read(), "third", "writes run in the order they were asked for");
    assert.deepEqual(readdirSync(join(dir, "blocks")), ["n1.json"]);
    await file.remove();
    assert.equal(file.read(), undefined);
  });

  it("sets a damaged file aside instead of overwriting it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "alarm-mail-snapshot-"));
    const path = join(dir, "n2.json");
    writeFileSync(path, "garbage");
    const file = new SnapshotFile(path);
    await file.setAside("corrupt-1");
    await file.write("fresh");
    assert.equal(readFileSync(`${path}.corrupt-1`, "utf8"), "garbage");
    assert.equal(file.read(), "fresh");
  });
});
