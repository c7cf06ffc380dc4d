import { CsvError } from "./CsvError";
import { DATE_FORMATS, DELIMITERS, isTimeZone, type CsvColumn, type DateFormat, type Delimiter } from "./CsvExport";
import { renderTemplate, timestampFields, type TemplateView } from "../mail/Template";
import type { IntervalRow, TraceKind } from "../trace/TraceLog";
import { isPlainObject, typeName } from "../common/PlainObject";
import { isPlainFileName } from "../common/FileName";

export type CsvSource = "history" | "active" | "trace" | "payload";
export type CsvRange = "all" | "rows" | "minutes" | "since-mail";

export const CSV_SOURCES: readonly CsvSource[] = ["history", "active", "trace", "payload"];
const RANGES: readonly CsvRange[] = ["all", "rows", "minutes", "since-mail"];

/** An `alarm-mail-csv` node's settings, checked once at deploy. */
export interface CsvConfig {
  source: CsvSource;
  /** The id of the `alarm-mail-block` (history, active). */
  block: string;
  /** The id of the `alarm-mail-trace` (trace). */
  trace: string;
  /** The columns chosen, by key; empty takes every column of the source. For `payload`, keys of the row objects. */
  columns: string[];
  range: CsvRange;
  /** N of "last N rows" or "last N minutes". */
  count: number;
  delimiter: Delimiter;
  bom: boolean;
  decimalComma: boolean;
  dateFormat: DateFormat;
  datePattern: string;
  /** An IANA time zone; empty is the gateway's. */
  timeZone: string;
  /** A Mustache template; empty gives `<source>-<fileTimestamp>.csv`. */
  filename: string;
}

/** The flow JSON of the node, as the editor saves it. */
export interface RawCsvConfig {
  source?: unknown;
  block?: unknown;
  trace?: unknown;
  columns?: unknown;
  range?: unknown;
  count?: unknown;
  delimiter?: unknown;
  bom?: unknown;
  decimalComma?: unknown;
  dateFormat?: unknown;
  datePattern?: unknown;
  timeZone?: unknown;
  filename?: unknown;
}

const text = (raw: unknown): string => (typeof raw === "string" ? raw.trim() : "");
const flag = (raw: unknown): boolean => raw === true || raw === "true";

export function parseCsvConfig(raw: RawCsvConfig): CsvConfig {
  const source = choice(raw.source, CSV_SOURCES, "history", "source");
  const range = choice(raw.range, RANGES, "all", "range");
  const delimiter = delimiterOf(raw.delimiter);
  const decimalComma = flag(raw.decimalComma);
  const config: CsvConfig = {
    source,
    block: text(raw.block),
    trace: text(raw.trace),
    columns: columnList(raw.columns),
    range,
    count: range === "rows" || range === "minutes" ? countOf(raw.count) : 0,
    delimiter,
    // On unless turned off, as in the editor: without it Excel on Windows garbles every accent.
    bom: raw.bom === undefined || flag(raw.bom),
    decimalComma,
    dateFormat: choice(raw.dateFormat, DATE_FORMATS, "local", "dateFormat"),
    datePattern: typeof raw.datePattern === "string" ? raw.datePattern : "",
    timeZone: text(raw.timeZone),
    filename: typeof raw.filename === "string" ? raw.filename : "",
  };
  if ((source === "history" || source === "active") && config.block === "") invalid("block", "", "alarm-mail-block");
  if (source === "trace" && config.trace === "") invalid("trace", "", "alarm-mail-trace");
  // 3,5 in a comma-separated file would be two cells: refused here rather than guessed, and the editor offers ";".
  if (decimalComma && delimiter === ",") invalid("delimiter", ",", "; or tab with a decimal comma");
  if (config.dateFormat === "pattern" && config.datePattern.trim() === "") invalid("datePattern", "", "YYYY-MM-DD…");
  if (config.timeZone !== "" && !isTimeZone(config.timeZone)) invalid("timeZone", config.timeZone, "Europe/Paris…");
  return config;
}

/** What a column of a source is: its key (the name in `columns` and in the catalogue) and where its value is. */
export interface ColumnSpec {
  key: string;
  field: string;
  time?: boolean;
}

/** A block's history (`alarmBlock.history()`), oldest first. */
export const HISTORY_COLUMNS: readonly ColumnSpec[] = [
  { key: "time", field: "at", time: true },
  { key: "event", field: "event" },
  { key: "id", field: "id" },
  { key: "label", field: "label" },
  { key: "priority", field: "priority" },
  { key: "state", field: "state" },
  { key: "value", field: "value" },
  { key: "user", field: "user" },
  { key: "ackVia", field: "ackVia" },
  { key: "comment", field: "comment" },
];

/**
 * A block's active alarms (`alarmBlock.activeAlarmRows()`: shaped as `msg.alarm`, with the comment of the ack from
 * the history), most urgent first.
 */
export const ACTIVE_COLUMNS: readonly ColumnSpec[] = [
  { key: "id", field: "id" },
  { key: "label", field: "label" },
  { key: "priority", field: "priority" },
  { key: "state", field: "state" },
  { key: "value", field: "value" },
  { key: "setpoint", field: "setpoint" },
  { key: "condition", field: "condition" },
  { key: "topic", field: "topic" },
  { key: "triggeredAt", field: "triggeredAt", time: true },
  { key: "ackedAt", field: "ackedAt", time: true },
  { key: "recoveredAt", field: "recoveredAt", time: true },
  { key: "ackBy", field: "ackBy" },
  { key: "ackVia", field: "ackVia" },
  { key: "comment", field: "comment" },
];

/** A trace log's columns, by the shape of its rows; an interval log has a value column per topic after the time. */
export const TRACE_COLUMNS: Readonly<Record<TraceKind, readonly ColumnSpec[]>> = {
  samples: [
    { key: "time", field: "at", time: true },
    { key: "topic", field: "topic" },
    { key: "value", field: "value" },
  ],
  interval: [
    { key: "time", field: "at", time: true },
    { key: "value", field: "values" },
  ],
  operator: [
    { key: "time", field: "at", time: true },
    { key: "user", field: "user" },
    { key: "control", field: "control" },
    { key: "previous", field: "previous" },
    { key: "value", field: "value" },
  ],
};

/**
 * The columns to write: those chosen that the source has, in the source's order, each with its header in the
 * runtime's language (`headerOf`); every column when none is chosen. The value column of an interval trace becomes one
 * column per topic, headed by the topic.
 */
export function sourceColumns<R extends object>(
  specs: readonly ColumnSpec[],
  chosen: readonly string[],
  headerOf: (key: string) => string,
  rows: readonly R[] = [],
): Array<CsvColumn<R>> {
  const picked = chosen.length === 0 ? specs : specs.filter((spec) => chosen.includes(spec.key));
  if (picked.length === 0) {
    throw new CsvError("csv-columns-empty", { chosen: chosen.join(", "), offered: specs.map((s) => s.key).join(", ") });
  }
  return picked.flatMap((spec): Array<CsvColumn<R>> => {
    if (spec.field === "values") {
      return topicsOf(rows as readonly Partial<IntervalRow>[]).map((topic) => ({
        header: topic,
        value: (row: R) => (row as Partial<IntervalRow>).values?.[topic],
      }));
    }
    const field = spec.field;
    const value = (row: R) => (row as Record<string, unknown>)[field];
    return [{ header: headerOf(spec.key), value, ...(spec.time ? { time: true } : {}) }];
  });
}

/** The topics of interval rows, in the order they first appear. */
function topicsOf(rows: readonly Partial<IntervalRow>[]): string[] {
  const topics = new Set<string>();
  for (const row of rows) for (const topic of Object.keys(row.values ?? {})) topics.add(topic);
  return [...topics];
}

/** Rows of `msg.payload`: objects (a header row of their keys) or arrays (written as they are, without a header). */
export interface PayloadTable {
  rows: readonly unknown[];
  columns: Array<CsvColumn<unknown>>;
  header: boolean;
}

export function payloadTable(payload: unknown, chosen: readonly string[]): PayloadTable {
  if (!Array.isArray(payload)) throw new CsvError("csv-payload-not-rows", { type: typeName(payload) });
  const arrays = payload.length > 0 && Array.isArray(payload[0]);
  let width = 0;
  const keys = new Set<string>();
  payload.forEach((row: unknown, index) => {
    if (arrays ? !Array.isArray(row) : !isPlainObject(row)) {
      throw new CsvError("csv-payload-invalid", { row: index + 1, type: typeName(row) });
    }
    if (Array.isArray(row)) width = Math.max(width, row.length);
    else for (const key of Object.keys(row as Row)) keys.add(key);
  });
  if (arrays) {
    const columns = Array.from({ length: width }, (_, i) => ({
      header: "",
      value: (row: unknown) => (row as unknown[])[i],
    }));
    return { rows: payload, columns, header: false };
  }
  const names = chosen.length > 0 ? [...chosen] : [...keys];
  const columns = names.map((key) => ({ header: key, value: (row: unknown) => (row as Row)[key] }));
  return { rows: payload, columns, header: columns.length > 0 };
}

/**
 * The rows of the range: all, the last N, those of the last N minutes, or those since this node last attached a CSV
 * (all of them the first time). Rows are oldest first.
 */
export function selectRange<R>(
  rows: readonly R[],
  timeOf: (row: R) => number,
  config: Pick<CsvConfig, "range" | "count">,
  now: number,
  lastExport: number | undefined,
): readonly R[] {
  switch (config.range) {
    case "all":
      return rows;
    case "rows":
      return rows.slice(Math.max(rows.length - config.count, 0));
    case "minutes":
      return since(rows, timeOf, now - config.count * 60_000);
    case "since-mail":
      return lastExport === undefined ? rows : since(rows, timeOf, lastExport);
  }
}

/**
 * Rows from `from` on. A filter rather than a search on the order: a gateway without a battery-backed clock may start
 * on a wrong time and jump when NTP answers, so rows are not always in time order.
 */
function since<R>(rows: readonly R[], timeOf: (row: R) => number, from: number): readonly R[] {
  return rows.filter((row) => timeOf(row) >= from);
}

/** `20240501-143012`: a time that sorts, and that every file system and mail client takes in a name. */
export function fileTimestamp(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return (
    `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}-` +
    `${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`
  );
}

/**
 * The attachment's name: the template rendered with the msg's fields, `{{block}}`, `{{trace}}`, `{{source}}`,
 * `{{rows}}`, `{{timestamp}}`, `{{isoTimestamp}}` and `{{fileTimestamp}}`, or `<base>-<fileTimestamp>`, ending in
 * `.csv`. A name is not a path: one with a slash, a backslash, a line break or another control character is refused.
 */
export function csvFileName(template: string, view: TemplateView, base: string, now: Date): string {
  const stamp = fileTimestamp(now);
  const rendered = template.trim()
    ? renderTemplate(template, { ...view, ...timestampFields(now), fileTimestamp: stamp }, "text", "filename")
    : `${base}-${stamp}`;
  const name = rendered.trim();
  if (!isPlainFileName(name)) {
    throw new CsvError("csv-filename-invalid", { name: JSON.stringify(rendered).slice(1, -1) });
  }
  return /\.csv$/i.test(name) ? name : `${name}.csv`;
}

function choice<T extends string>(raw: unknown, allowed: readonly T[], fallback: T, field: string): T {
  const value = text(raw);
  if (value === "") return fallback;
  if (!(allowed as readonly string[]).includes(value)) invalid(field, value, allowed.join(", "));
  return value as T;
}

/** `,` `;` or a tab; the editor stores the tab as "\t", a hand-written flow may say "tab". */
function delimiterOf(raw: unknown): Delimiter {
  if (raw === undefined || raw === null || raw === "") return ",";
  if (raw === "tab" || raw === "\\t") return "\t";
  if (typeof raw === "string" && (DELIMITERS as readonly string[]).includes(raw)) return raw as Delimiter;
  return invalid("delimiter", String(raw), ", ; tab");
}

function columnList(raw: unknown): string[] {
  const list = typeof raw === "string" ? raw.split(",") : Array.isArray(raw) ? raw : [];
  return list.filter((key): key is string => typeof key === "string" && key.trim() !== "").map((key) => key.trim());
}

/** N of "last N rows" or "last N minutes"; empty is 100, as the editor shows it. */
function countOf(raw: unknown): number {
  const text = typeof raw === "string" ? raw.trim() : raw;
  const value = text === undefined || text === null || text === "" ? 100 : Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 10_000_000) invalid("count", String(raw), "1–10000000");
  return value;
}

function invalid(field: string, value: string, range: string): never {
  throw new CsvError("csv-config-invalid", { field, value, range });
}

type Row = Record<string, unknown>;
