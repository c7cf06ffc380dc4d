import type { ErrorParams } from "../common/CodedError";
import { AlarmError, type AlarmErrorCode } from "./AlarmError";
import { parseAlarm } from "./BlockConfig";

/**
 * An alarm table as CSV, since engineers keep alarm lists in spreadsheets: the columns are the table's property
 * names, in any order, with a header row. Excel in French (and most of Europe) writes `;` between cells and a
 * decimal comma; both are understood, and written back when `;` is chosen.
 */

export const TABLE_COLUMNS = [
  "id",
  "label",
  "topic",
  "condition",
  "setpoint",
  "deadband",
  "onDelay",
  "offDelay",
  "priority",
  "ack",
  "bit",
  "latch",
] as const;
type Column = (typeof TABLE_COLUMNS)[number];

const NUMERIC: ReadonlySet<Column> = new Set(["setpoint", "deadband", "onDelay", "offDelay", "priority", "bit"]);
const REQUIRED: readonly Column[] = ["id", "topic", "condition", "priority"];

export type TableRow = Partial<Record<Column, string | number | boolean>>;

export interface TableProblem {
  /** The line of the CSV text (1 is the header). */
  line: number;
  code: AlarmErrorCode;
  params: ErrorParams;
}

export interface ParsedTable {
  rows: TableRow[];
  /** Rows that the block would refuse, with the reason; they are still returned so they can be fixed in the editor. */
  problems: TableProblem[];
  /** Header cells that name no column of the table (a spreadsheet's comments, say): left out. */
  ignored: string[];
  delimiter: string;
}

/** Reads a CSV alarm table; throws `csv-invalid` when it has no header naming the required columns. */
export function parseAlarmTable(text: string): ParsedTable {
  const records = splitRecords(text.replace(/^\uFEFF/, ""));
  const header = records.find((record) => record.cells.some((cell) => cell.trim() !== ""));
  if (!header) throw new AlarmError("csv-invalid", { reason: "empty" });
  const delimiter = header.delimiter;
  const columns = header.cells.map((cell) => columnOf(cell));
  const missing = REQUIRED.filter((column) => !columns.includes(column));
  if (missing.length > 0) throw new AlarmError("csv-invalid", { reason: `no column ${missing.join(", ")}` });

  const rows: TableRow[] = [];
  const problems: TableProblem[] = [];
  const seen = new Set<string>();
  for (const record of records.slice(records.indexOf(header) + 1)) {
    if (record.cells.every((cell) => cell.trim() === "")) continue;
    const row: TableRow = {};
    columns.forEach((column, i) => {
      const cell = (record.cells[i] ?? "").trim();
      if (column) row[column] = cellValue(column, cell, delimiter);
    });
    rows.push(row);
    try {
      const alarm = parseAlarm(row, rows.length - 1);
      if (seen.has(alarm.id)) throw new AlarmError("alarm-duplicate", { alarm: alarm.id });
      seen.add(alarm.id);
    } catch (err) {
      if (!(err instanceof AlarmError)) throw err;
      problems.push({ line: record.line, code: err.code, params: err.params });
    }
  }
  const ignored = header.cells.filter((cell, i) => !columns[i] && cell.trim() !== "").map((cell) => cell.trim());
  return { rows, problems, ignored, delimiter };
}

/** Writes a table as CSV with a header row, CRLF line ends (what spreadsheets expect) and `delimiter` between cells. */
export function formatAlarmTable(rows: readonly TableRow[], delimiter: "," | ";" | "\t" = ","): string {
  const lines = [TABLE_COLUMNS.join(delimiter)];
  for (const row of rows) {
    lines.push(TABLE_COLUMNS.map((column) => formatCell(row[column], delimiter)).join(delimiter));
  }
  return lines.join("\r\n") + "\r\n";
}

function formatCell(value: TableRow[Column], delimiter: string): string {
  if (value === undefined) return "";
  let text = String(value);
  if (typeof value === "number" && delimiter === ";") text = text.replace(".", ",");
  return /["\r\n]/.test(text) || text.includes(delimiter) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Matches a header cell to a column: "On delay", "on_delay" and "ONDELAY" all name onDelay. */
function columnOf(cell: string): Column | undefined {
  const key = cell
    .trim()
    .toLowerCase()
    .replace(/[\s_-]/g, "");
  return TABLE_COLUMNS.find((column) => column.toLowerCase() === key);
}

function cellValue(column: Column, cell: string, delimiter: string): string | number | boolean {
  if (column === "latch") return /^(true|yes|1|x)$/i.test(cell) ? true : /^(false|no|0|)$/i.test(cell) ? false : cell;
  if (!NUMERIC.has(column) || cell === "") return cell;
  const decimal = delimiter === "," ? cell : cell.replace(/^(-?\d*),(\d+)$/, "$1.$2");
  const n = Number(decimal);
  return Number.isFinite(n) ? n : cell;
}

interface CsvRecord {
  line: number;
  cells: string[];
  delimiter: string;
}

/**
 * RFC 4180 records: quoted cells may hold delimiters, quotes ("") and line breaks. A quote inside an unquoted cell,
 * as hand-made files have, is taken as it is.
 */
function splitRecords(text: string): CsvRecord[] {
  const delimiter = guessDelimiter(text);
  const records: CsvRecord[] = [];
  let cells: string[] = [];
  let cell = "";
  let quoted = false;
  let line = 1;
  let recordLine = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        if (c === "\n") line++;
        cell += c;
      }
    } else if (c === '"' && cell === "") {
      quoted = true;
    } else if (c === delimiter) {
      cells.push(cell);
      cell = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      cells.push(cell);
      records.push({ line: recordLine, cells, delimiter });
      cells = [];
      cell = "";
      line++;
      recordLine = line;
    } else {
      cell += c;
    }
  }
  if (cell !== "" || cells.length > 0) {
    cells.push(cell);
    records.push({ line: recordLine, cells, delimiter });
  }
  return records;
}

/** The delimiter is the one of `;`, tab and `,` that the first line uses most. */
function guessDelimiter(text: string): string {
  const first = text.split(/\r?\n/, 1)[0] ?? "";
  const count = (d: string) => first.split(d).length - 1;
  return [";", "\t", ","].reduce((best, d) => (count(d) > count(best) ? d : best), ",");
}
