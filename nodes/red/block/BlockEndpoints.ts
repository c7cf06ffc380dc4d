import type { Request, Response } from "express";
import type { NodeAPI } from "node-red";
import { formatAlarmTable, parseAlarmTable, type TableRow } from "../../lib/alarm/AlarmTableCsv";
import { AlarmError } from "../../lib/alarm/AlarmError";
import { describeError } from "../kit/i18n";

/**
 * CSV import and export of a block's alarm table for the editor. They run here rather than in the browser so that a
 * spreadsheet is read by the same, tested code that checks the table at deploy, and its problems are named alike.
 */
export function registerBlockEndpoints(RED: NodeAPI): void {
  const canRead = RED.auth.needsPermission("alarm-mail-block.read");

  RED.httpAdmin.post("/alarm-mail-block/table/parse", canRead, (req: Request, res: Response) => {
    try {
      const csv = (req.body as { csv?: unknown } | undefined)?.csv;
      if (typeof csv !== "string") throw new AlarmError("csv-invalid", { reason: "no text" });
      const table = parseAlarmTable(csv);
      res.json({
        ok: true,
        rows: table.rows,
        ignored: table.ignored,
        delimiter: table.delimiter,
        problems: table.problems.map((problem) => ({
          line: problem.line,
          message: describeError(RED, new AlarmError(problem.code, problem.params)),
        })),
      });
    } catch (err) {
      res.json({ ok: false, message: describeError(RED, err) });
    }
  });

  RED.httpAdmin.post("/alarm-mail-block/table/format", canRead, (req: Request, res: Response) => {
    const body = (req.body ?? {}) as { rows?: unknown; delimiter?: unknown };
    const delimiter = body.delimiter === ";" || body.delimiter === "\t" ? body.delimiter : ",";
    const rows = Array.isArray(body.rows) ? body.rows.filter(isRow) : [];
    res.json({ ok: true, csv: formatAlarmTable(rows, delimiter) });
  });
}

function isRow(row: unknown): row is TableRow {
  return typeof row === "object" && row !== null && !Array.isArray(row);
}
