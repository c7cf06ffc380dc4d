import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse } from "csv-parse/sync";
import fc from "fast-check";
import {
  ACTIVE_COLUMNS,
  HISTORY_COLUMNS,
  TRACE_COLUMNS,
  csvFileName,
  parseCsvConfig,
  payloadTable,
  selectRange,
  sourceColumns,
} from "../../nodes/lib/csv/CsvConfig";
import { CsvError } from "../../nodes/lib/csv/CsvError";
import { DateFormatter, toCsv, type CsvColumn, type CsvFormat, type Delimiter } from "../../nodes/lib/csv/CsvExport";

type Row = Record<string, unknown>;

const UTC = new DateFormatter("iso", "", "UTC");
const format = (options: Partial<CsvFormat> = {}): CsvFormat => ({
  delimiter: ",",
  bom: false,
  decimalComma: false,
  header: true,
  dates: UTC,
  ...options,
});
const column = (header: string, key: string, time = false): CsvColumn<Row> => ({
  header,
  value: (row) => row[key],
  ...(time ? { time: true } : {}),
});

/** Reads a CSV back as a spreadsheet would get it: every cell a string. */
function readBack(csv: Buffer, delimiter: Delimiter): string[][] {
  return parse(csv, { delimiter, bom: true, relax_column_count: true }) as string[][];
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

const ROWS: Row[] = [
  { at: Date.UTC(2026, 0, 15, 7, 42, 5, 120), tag: "LT-201", label: "Basin 2; level, high", value: 8.5 },
  { at: Date.UTC(2026, 0, 15, 7, 43, 0, 0), tag: "PT-7", label: 'Pressure "main"\nline 2', value: -0.25 },
  { at: Date.UTC(2026, 0, 15, 7, 44, 0, 0), tag: "XV-1", label: "Valve", value: true },
  { at: Date.UTC(2026, 0, 15, 7, 45, 0, 0), tag: "FT-3", label: "Flow", value: null },
];
const COLUMNS = [column("Time", "at", true), column("Tag", "tag"), column("Label", "label"), column("Value", "value")];

describe("CsvExport: rows to CSV, parsed back with csv-parse", () => {
  for (const delimiter of [",", ";", "\t"] as const) {
    it(`delimiter ${JSON.stringify(delimiter)}: headers, quoting of delimiters, quotes and line breaks, CRLF`, async () => {
      const csv = await toCsv(ROWS, COLUMNS, format({ delimiter }));
      assert.deepEqual(readBack(csv, delimiter), [
        ["Time", "Tag", "Label", "Value"],
        ["2026-01-15T07:42:05.120Z", "LT-201", "Basin 2; level, high", "8.5"],
        ["2026-01-15T07:43:00.000Z", "PT-7", 'Pressure "main"\nline 2', "-0.25"],
        ["2026-01-15T07:44:00.000Z", "XV-1", "Valve", "true"],
        ["2026-01-15T07:45:00.000Z", "FT-3", "Flow", ""],
      ]);
      assert.ok(csv.toString("utf8").endsWith("\r\n"), "records end with CRLF");
      assert.ok(!csv.subarray(0, 3).equals(BOM), "no BOM unless asked");
    });
  }

  it("a UTF-8 BOM first when asked, and accents in UTF-8", async () => {
    const csv = await toCsv([{ label: "Température élevée" }], [column("Libellé", "label")], format({ bom: true }));
    assert.ok(csv.subarray(0, 3).equals(BOM));
    assert.deepEqual(readBack(csv, ","), [["Libellé"], ["Température élevée"]]);
    const without = await toCsv([{ label: "é" }], [column("Libellé", "label")], format({ bom: false }));
    assert.equal(without.toString("utf8"), "Libellé\r\né\r\n");
  });

  it("a decimal comma with the semicolon: numbers as 8,5 and -0,25, text untouched", async () => {
    const csv = await toCsv(ROWS, COLUMNS, format({ delimiter: ";", decimalComma: true }));
    const rows = readBack(csv, ";");
    assert.deepEqual(
      rows.slice(1).map((r) => r[3]),
      ["8,5", "-0,25", "true", ""],
    );
    assert.equal(rows[1][2], "Basin 2; level, high");
    assert.match(csv.toString(), /;8,5\r\n/, "a number with a decimal comma is not quoted");
  });

  it("neutralises cells that a spreadsheet would run as formulas; numbers stay numbers", async () => {
    const evil = ['=HYPERLINK("http://x")', "+33 6 12", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd", "＝1+1", "-3.5"];
    const rows: Row[] = [...evil.map((text) => ({ text })), { text: -3.5 }, { text: 0 }, { text: "safe = text" }];
    const csv = await toCsv(rows, [column("=cmd|' /C calc'!A0", "text")], format({ delimiter: ";" }));
    const cells = readBack(csv, ";").map((r) => r[0]);
    assert.equal(cells[0], "'=cmd|' /C calc'!A0", "headers too");
    assert.deepEqual(
      cells.slice(1, evil.length + 1),
      evil.map((text) => `'${text}`),
    );
    assert.deepEqual(cells.slice(evil.length + 1), ["-3.5", "0", "safe = text"]);
  });

  it("objects as JSON; no header row when asked; an empty table is its header alone", async () => {
    const csv = await toCsv([{ v: { a: 1 } }], [column("V", "v")], format({ header: false }));
    assert.deepEqual(readBack(csv, ","), [['{"a":1}']]);
    assert.equal((await toCsv([], COLUMNS, format())).toString(), "Time,Tag,Label,Value\r\n");
  });

  it("100,000 rows come back whole, in order", async () => {
    const many = Array.from({ length: 100_000 }, (_, i) => ({ at: i * 1000, tag: `T${i}`, label: "x", value: i / 4 }));
    const rows = readBack(await toCsv(many, COLUMNS, format()), ",");
    assert.equal(rows.length, 100_001);
    assert.deepEqual(rows[100_000], ["1970-01-02T03:46:39.000Z", "T99999", "x", "24999.75"]);
  });
});

describe("DateFormatter: formats and time zones", () => {
  const at = Date.UTC(2026, 0, 15, 7, 42, 5, 120);
  const summer = Date.UTC(2026, 6, 15, 7, 42, 5, 120);

  it("ISO 8601 with the zone's offset, Z for UTC; local; epoch; patterns with [text]", () => {
    assert.equal(new DateFormatter("iso", "", "Europe/Paris").format(at), "2026-01-15T08:42:05.120+01:00");
    assert.equal(new DateFormatter("iso", "", "Europe/Paris").format(summer), "2026-07-15T09:42:05.120+02:00");
    assert.equal(new DateFormatter("iso", "", "UTC").format(at), "2026-01-15T07:42:05.120Z");
    assert.equal(new DateFormatter("iso", "", "America/New_York").format(at), "2026-01-15T02:42:05.120-05:00");
    assert.equal(new DateFormatter("local", "", "Asia/Kathmandu").format(at), "2026-01-15 13:27:05");
    assert.equal(new DateFormatter("epoch", "", "Europe/Paris").format(at), at);
    assert.equal(
      new DateFormatter("pattern", "DD/MM/YY [à] HH[h]mm ss.SSS Z", "Europe/Bucharest").format(at),
      "15/01/26 à 09h42 05.120 +02:00",
    );
  });

  it("ISO strings and Dates in time columns are written alike; other values as they are", () => {
    const dates = new DateFormatter("local", "", "UTC");
    assert.equal(dates.cell("2026-01-15T07:42:05.120Z"), "2026-01-15 07:42:05");
    assert.equal(dates.cell(new Date(at)), "2026-01-15 07:42:05");
    assert.equal(dates.cell(null), null);
    assert.equal(dates.cell("not a date"), "not a date");
  });

  it("across daylight saving changes, each time gets its own offset (checked against Intl, row by row)", () => {
    const zones = ["Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "Europe/Bucharest"];
    for (const zone of zones) {
      const dates = new DateFormatter("pattern", "YYYY-MM-DD HH:mm:ss", zone);
      const reference = new Intl.DateTimeFormat("sv-SE", {
        timeZone: zone,
        hourCycle: "h23",
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit",
      });
      // Sorted, as rows are: the formatter keeps the offset of the last quarter hour it saw.
      fc.assert(
        fc.property(
          fc.array(fc.integer({ min: Date.UTC(2024, 0, 1), max: Date.UTC(2030, 0, 1) }), { minLength: 50 }),
          (times) => {
            for (const time of times.sort((a, b) => a - b)) {
              assert.equal(dates.format(time), reference.format(time), `${zone} ${new Date(time).toISOString()}`);
            }
          },
        ),
        { numRuns: 50 },
      );
      // Every minute around the spring and autumn changes of 2026.
      for (const month of [2, 3, 9, 10]) {
        for (let time = Date.UTC(2026, month, 1); time < Date.UTC(2026, month + 1, 1); time += 60_000 * 7) {
          assert.equal(dates.format(time), reference.format(time), `${zone} ${new Date(time).toISOString()}`);
        }
      }
    }
  });

  it("refuses a time zone that does not exist", () => {
    assert.throws(() => new DateFormatter("iso", "", "Mars/Olympus"), RangeError);
  });
});

describe("CsvConfig: settings, columns, ranges, payload rows, file names", () => {
  it("defaults, and the tab written as a name", () => {
    const config = parseCsvConfig({ block: "b1" });
    assert.equal(config.source, "history");
    assert.equal(config.delimiter, ",");
    assert.equal(config.range, "all");
    assert.equal(config.dateFormat, "local");
    assert.deepEqual(config.columns, []);
    assert.equal(parseCsvConfig({ block: "b1", delimiter: "tab" }).delimiter, "\t");
    assert.equal(parseCsvConfig({ block: "b1", delimiter: "\t" }).delimiter, "\t");
    assert.deepEqual(parseCsvConfig({ block: "b1", columns: ["time", " id ", ""] }).columns, ["time", "id"]);
    assert.equal(parseCsvConfig({ block: "b1", range: "rows", count: "50" }).count, 50);
    assert.equal(parseCsvConfig({ block: "b1", range: "minutes" }).count, 100);
    assert.equal(parseCsvConfig({ block: "b1" }).bom, true, "a BOM unless turned off");
    assert.equal(parseCsvConfig({ block: "b1", bom: false }).bom, false);
  });

  const refused = (raw: Record<string, unknown>, field: string) =>
    assert.throws(
      () => parseCsvConfig(raw),
      (err: unknown) => err instanceof CsvError && err.code === "csv-config-invalid" && err.params.field === field,
      field,
    );

  it("refuses what cannot work, naming the setting", () => {
    refused({ source: "history" }, "block");
    refused({ source: "active", block: " " }, "block");
    refused({ source: "trace" }, "trace");
    refused({ source: "pdf" }, "source");
    refused({ block: "b", delimiter: "|" }, "delimiter");
    refused({ block: "b", delimiter: ",", decimalComma: true }, "delimiter");
    refused({ block: "b", range: "rows", count: "ten" }, "count");
    refused({ block: "b", range: "minutes", count: 0 }, "count");
    refused({ block: "b", dateFormat: "pattern" }, "datePattern");
    refused({ block: "b", timeZone: "Mars/Olympus" }, "timeZone");
    refused({ block: "b", dateFormat: "excel" }, "dateFormat");
    assert.doesNotThrow(() => parseCsvConfig({ source: "payload", delimiter: ";", decimalComma: true }));
  });

  it("columns: those chosen, in the source's order, with the headers given; none chosen is all", () => {
    const header = (key: string) => `<${key}>`;
    assert.deepEqual(
      sourceColumns(HISTORY_COLUMNS, ["user", "time"], header).map((c) => c.header),
      ["<time>", "<user>"],
    );
    assert.equal(sourceColumns(ACTIVE_COLUMNS, [], header).length, ACTIVE_COLUMNS.length);
    assert.throws(
      () => sourceColumns(TRACE_COLUMNS.operator, ["topic"], header),
      (err: unknown) => err instanceof CsvError && err.code === "csv-columns-empty",
    );
    const rows = [
      { at: 1, values: { a: 1 } },
      { at: 2, values: { a: 2, b: 3 } },
    ];
    const interval = sourceColumns(TRACE_COLUMNS.interval, [], header, rows);
    assert.deepEqual(
      interval.map((c) => c.header),
      ["<time>", "a", "b"],
    );
    assert.deepEqual(
      rows.map((row) => interval.map((c) => c.value(row))),
      [
        [1, 1, undefined],
        [2, 2, 3],
      ],
    );
  });

  it("ranges: all, last N rows, last N minutes, since the last export (all the first time)", () => {
    const rows = Array.from({ length: 10 }, (_, i) => ({ at: i * 60_000 }));
    const now = 9 * 60_000;
    const pick = (range: "all" | "rows" | "minutes" | "since-mail", count: number, last?: number) =>
      selectRange(rows, (r) => r.at, { range, count }, now, last).map((r) => r.at / 60_000);
    assert.deepEqual(pick("all", 0), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(pick("rows", 3), [7, 8, 9]);
    assert.deepEqual(pick("rows", 30), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(pick("minutes", 2), [7, 8, 9]);
    assert.deepEqual(pick("since-mail", 0), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(pick("since-mail", 0, 8 * 60_000), [8, 9]);
    assert.deepEqual(pick("since-mail", 0, 10 * 60_000), []);
  });

  it("payload rows: objects with a header of their keys, arrays as they are, anything else refused", () => {
    const objects = payloadTable(
      [
        { a: 1, b: 2 },
        { b: 3, c: 4 },
      ],
      [],
    );
    assert.equal(objects.header, true);
    assert.deepEqual(
      objects.columns.map((c) => c.header),
      ["a", "b", "c"],
    );
    assert.deepEqual(
      payloadTable([{ a: 1, b: 2 }], ["b", "z"]).columns.map((c) => c.header),
      ["b", "z"],
    );
    const arrays = payloadTable([["x", "y"], ["z"]], ["ignored"]);
    assert.equal(arrays.header, false);
    assert.equal(arrays.columns.length, 2);
    const invalid = (payload: unknown, row: string | number) =>
      assert.throws(
        () => payloadTable(payload, []),
        (err: unknown) => err instanceof CsvError && err.code === "csv-payload-invalid" && err.params.row === row,
      );
    const notRows = (payload: unknown, type: string) =>
      assert.throws(
        () => payloadTable(payload, []),
        (err: unknown) => err instanceof CsvError && err.code === "csv-payload-not-rows" && err.params.type === type,
      );
    notRows("a,b", "string");
    notRows({ a: 1 }, "object");
    invalid([{ a: 1 }, ["x"]], 2);
    invalid([["x"], { a: 1 }], 2);
    invalid([{ a: 1 }, null], 2);
    invalid([1, 2], 1);
  });

  it("file names: a default per source, templates with the msg, .csv added, paths and line breaks refused", () => {
    const now = new Date(2026, 0, 15, 8, 42, 5);
    assert.equal(csvFileName("", {}, "alarm-history", now), "alarm-history-20260115-084205.csv");
    assert.equal(
      csvFileName("{{block}}-{{alarm.id}}-{{fileTimestamp}}", { block: 2, alarm: { id: "LT-201-H" } }, "x", now),
      "2-LT-201-H-20260115-084205.csv",
    );
    assert.equal(csvFileName("report.CSV", {}, "x", now), "report.CSV");
    for (const template of ["../etc/passwd", "a\\b", "{{topic}}", "{{empty}}"]) {
      assert.throws(
        () => csvFileName(template, { topic: "x\r\nBcc: evil@example.com", empty: "" }, "x", now),
        (err: unknown) => err instanceof CsvError && err.code === "csv-filename-invalid",
        template,
      );
    }
  });
});
