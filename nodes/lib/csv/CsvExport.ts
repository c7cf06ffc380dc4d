import { stringify, type Options } from "csv-stringify/sync";
import { setImmediate as nextTurn } from "node:timers/promises";

export type Delimiter = "," | ";" | "\t";

export const DELIMITERS: readonly Delimiter[] = [",", ";", "\t"];

/** How time cells are written: ISO 8601 with the zone's offset, local `YYYY-MM-DD HH:mm:ss`, epoch ms, a pattern. */
export type DateFormat = "iso" | "local" | "epoch" | "pattern";

export const DATE_FORMATS: readonly DateFormat[] = ["iso", "local", "epoch", "pattern"];

/** One column of the CSV: its header text and how to read its cell from a row. */
export interface CsvColumn<R> {
  header: string;
  value: (row: R) => unknown;
  /** A time: epoch ms, an ISO 8601 string or a Date, written in the chosen date format and time zone. */
  time?: boolean;
}

export interface CsvFormat {
  delimiter: Delimiter;
  /** A UTF-8 byte order mark first, so that Excel on Windows reads accents right instead of guessing a code page. */
  bom: boolean;
  /** Numbers written with a decimal comma (3,5), as French, German or Romanian spreadsheets read them. */
  decimalComma: boolean;
  /** Whether the first line holds the headers. */
  header: boolean;
  dates: DateFormatter;
}

/**
 * Rows at a time handed to csv-stringify: small enough that Node-RED answers other msgs between two chunks of a large
 * export, large enough that the pauses cost nothing measurable.
 */
const CHUNK_ROWS = 2000;

/**
 * Writes rows as CSV with csv-stringify: quotes where the delimiter, a quote or a line break needs it, CRLF between
 * records (RFC 4180, what Excel writes), and cells that a spreadsheet would run as a formula (text starting with
 * `=`, `+`, `-`, `@`, a tab or a CR, and their full-width forms) prefixed with `'`. Numbers are not text: -3.5 stays
 * a number, only text such as "-3.5" or "=1+1" is neutralised. Large exports are written in chunks, with a turn of
 * the event loop between them.
 */
export async function toCsv<R>(
  rows: readonly R[],
  columns: readonly CsvColumn<R>[],
  format: CsvFormat,
): Promise<Buffer> {
  const options: Options = {
    delimiter: format.delimiter,
    record_delimiter: "\r\n",
    // A line break inside a cell must be quoted, or a parser reads it as the end of the record.
    quote_record_delimiter: true,
    escape_formulas: true,
    cast: {
      number: format.decimalComma ? (n) => String(n).replace(".", ",") : (n) => String(n),
      // csv-stringify writes booleans as "1" and ""; a spreadsheet reader expects the words.
      boolean: (b) => (b ? "true" : "false"),
      date: (d) => String(format.dates.format(d.getTime())),
      object: (o) => JSON.stringify(o),
    },
  };
  const times = columns.map((column) => column.time === true);
  const record = (row: R): unknown[] =>
    columns.map((column, i) => {
      const value = column.value(row);
      return times[i] ? format.dates.cell(value) : value;
    });
  const pieces: Buffer[] = [];
  let first: unknown[][] = format.header ? [columns.map((column) => column.header)] : [];
  let bom = format.bom;
  for (let start = 0; start < rows.length || first.length > 0 || bom; start += CHUNK_ROWS) {
    const records = [...first, ...rows.slice(start, start + CHUNK_ROWS).map(record)];
    pieces.push(Buffer.from(stringify(records, { ...options, bom }), "utf8"));
    first = [];
    bom = false;
    if (start + CHUNK_ROWS < rows.length) await nextTurn();
  }
  return Buffer.concat(pieces);
}

/** Modern time zone changes fall on a quarter hour of UTC, so an offset found once holds for its quarter hour. */
const OFFSET_SPAN_MS = 15 * 60 * 1000;

const LOCAL_PATTERN = "YYYY-MM-DD HH:mm:ss";
const ISO_PATTERN = "YYYY-MM-DDTHH:mm:ss.SSSZ";
const TOKENS = /\[([^\]]*)\]|YYYY|YY|MM|DD|HH|mm|ss|SSS|Z/g;

type Fields = { year: number; month: number; day: number; hour: number; minute: number; second: number; ms: number };

/**
 * Writes times in one time zone (an IANA name such as Europe/Paris; empty is the gateway's own) and one format. The
 * zone's offset comes from Intl once per quarter hour of the rows, not once per cell, since a CSV of 100,000 rows
 * would otherwise spend most of its time there.
 */
export class DateFormatter {
  readonly timeZone: string;
  private readonly parts: Intl.DateTimeFormat;
  private readonly pattern: Array<(f: Fields, offsetMin: number) => string>;
  private span = Number.NaN;
  private offsetMs = 0;

  /** Throws a RangeError for a time zone that this runtime does not know. */
  constructor(
    readonly style: DateFormat,
    pattern = "",
    timeZone = "",
  ) {
    this.parts = new Intl.DateTimeFormat("en-US", {
      ...(timeZone ? { timeZone } : {}),
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    this.timeZone = this.parts.resolvedOptions().timeZone;
    this.pattern = compile(style === "iso" ? ISO_PATTERN : style === "pattern" ? pattern : LOCAL_PATTERN);
  }

  /** A time cell: epoch ms, an ISO string or a Date written in the format; anything else as it is. */
  cell(value: unknown): unknown {
    if (typeof value === "number" && Number.isFinite(value)) return this.format(value);
    if (value instanceof Date && Number.isFinite(value.getTime())) return this.format(value.getTime());
    if (typeof value === "string") {
      const at = Date.parse(value);
      if (Number.isFinite(at)) return this.format(at);
    }
    return value;
  }

  format(at: number): string | number {
    if (this.style === "epoch") return at;
    const offset = this.offsetAt(at);
    const local = new Date(at + offset);
    const fields: Fields = {
      year: local.getUTCFullYear(),
      month: local.getUTCMonth() + 1,
      day: local.getUTCDate(),
      hour: local.getUTCHours(),
      minute: local.getUTCMinutes(),
      second: local.getUTCSeconds(),
      ms: local.getUTCMilliseconds(),
    };
    let text = "";
    for (const piece of this.pattern) text += piece(fields, offset / 60000);
    return text;
  }

  private offsetAt(at: number): number {
    const span = Math.floor(at / OFFSET_SPAN_MS);
    if (span === this.span) return this.offsetMs;
    const seconds = Math.floor(at / 1000) * 1000;
    const value: Record<string, number> = {};
    for (const part of this.parts.formatToParts(seconds)) value[part.type] = Number(part.value);
    const wall = Date.UTC(value.year, value.month - 1, value.day, value.hour, value.minute, value.second);
    this.span = span;
    this.offsetMs = wall - seconds;
    return this.offsetMs;
  }
}

/** Checks a time zone name the way DateFormatter will use it. */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/**
 * A pattern as pieces: YYYY, YY, MM, DD, HH, mm, ss, SSS, Z (the offset, +01:00, or Z for UTC); text in [brackets]
 * and any other character is written as it is.
 */
function compile(pattern: string): Array<(f: Fields, offsetMin: number) => string> {
  const pieces: Array<(f: Fields, offsetMin: number) => string> = [];
  let last = 0;
  for (const match of pattern.matchAll(TOKENS)) {
    const literal = pattern.slice(last, match.index);
    if (literal) pieces.push(() => literal);
    last = match.index + match[0].length;
    const token = match[0];
    if (match[1] !== undefined) {
      const text = match[1];
      pieces.push(() => text);
      continue;
    }
    pieces.push(TOKEN_WRITERS[token]);
  }
  const rest = pattern.slice(last);
  if (rest) pieces.push(() => rest);
  return pieces;
}

const TOKEN_WRITERS: Record<string, (f: Fields, offsetMin: number) => string> = {
  YYYY: (f) => pad(f.year, 4),
  YY: (f) => pad(f.year % 100),
  MM: (f) => pad(f.month),
  DD: (f) => pad(f.day),
  HH: (f) => pad(f.hour),
  mm: (f) => pad(f.minute),
  ss: (f) => pad(f.second),
  SSS: (f) => pad(f.ms, 3),
  Z: (_f, offsetMin) => {
    if (offsetMin === 0) return "Z";
    const sign = offsetMin < 0 ? "-" : "+";
    const abs = Math.abs(Math.round(offsetMin));
    return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
  },
};
