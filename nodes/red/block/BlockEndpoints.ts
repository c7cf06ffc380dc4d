import type { Request, Response } from "express";
import type { NodeAPI } from "node-red";
import { formatAlarmTable, parseAlarmTable, type TableRow } from "../../lib/alarm/AlarmTableCsv";
import { AlarmError } from "../../lib/alarm/AlarmError";
import { describeError } from "../kit/i18n";
import { readBody, routeNodeId, unknownNode } from "../kit/requests";
import { findBlock } from "./BlockNode";

const CATALOGUE = "alarm-mail-block";

/**
 * CSV import and export of a block's alarm table for the editor. They run here rather than in the browser so that a
 * spreadsheet is read by the same, tested code that checks the table at deploy, and its problems are named alike.
 */
export function registerBlockEndpoints(RED: NodeAPI): void {
  const canRead = RED.auth.needsPermission("alarm-mail-block.read");

  RED.httpAdmin.post("/alarm-mail-block/table/parse", canRead, (req: Request, res: Response) => {
    const body = readBody(RED, req, res, CATALOGUE, { csv: { kind: "string", max: 10_000_000 } });
    if (!body) return;
    try {
      const table = parseAlarmTable(body.csv);
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

  // The rows the deployed block left out, so that the dialog can mark each one with the same words as the log.
  RED.httpAdmin.get("/alarm-mail-block/:id/refused", canRead, (req: Request, res: Response) => {
    const id = routeNodeId(RED, req, res, CATALOGUE, "id");
    if (id === undefined) return;
    const block = findBlock(RED, id);
    if (!block) {
      unknownNode(RED, res, CATALOGUE, id);
      return;
    }
    res.json({ ok: true, refused: block.refusedRows() });
  });

  RED.httpAdmin.post("/alarm-mail-block/table/format", canRead, (req: Request, res: Response) => {
    const body = readBody(RED, req, res, CATALOGUE, {
      rows: { kind: "records" },
      delimiter: { kind: "string", optional: true, oneOf: [",", ";", "\t"] },
    });
    if (!body) return;
    const delimiter = body.delimiter === ";" || body.delimiter === "\t" ? body.delimiter : ",";
    res.json({ ok: true, csv: formatAlarmTable(body.rows as TableRow[], delimiter) });
  });
}
