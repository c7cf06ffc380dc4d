import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from "node-red";
import {
  ACTIVE_COLUMNS,
  HISTORY_COLUMNS,
  TRACE_COLUMNS,
  csvFileName,
  parseCsvConfig,
  payloadTable,
  selectRange,
  sourceColumns,
  type CsvConfig,
  type RawCsvConfig,
} from "../../lib/csv/CsvConfig";
import { CsvError } from "../../lib/csv/CsvError";
import { DateFormatter, toCsv, type CsvColumn, type CsvFormat } from "../../lib/csv/CsvExport";
import { CodedError } from "../../lib/common/CodedError";
import { SnapshotFile } from "../../lib/common/SnapshotFile";
import { attachmentList } from "../../lib/mail/MailComposer";
import { findBlock, type BlockNode } from "../block/BlockNode";
import { describeError } from "../kit/i18n";
import { closeWithinBudget, reportConfigError } from "../kit/lifecycle";
import { inFlows } from "../kit/nodes";
import { nodeDataPath } from "../kit/storage";
import { findTrace, type TraceNode } from "../trace/TraceNode";

export type CsvNodeDef = NodeDef & RawCsvConfig;

type Send = (msg: NodeMessageInFlow) => void;
type Done = (err?: Error) => void;

/** What one export writes: its rows, bound to their columns, and the names a file name template may use. */
interface Table {
  rows: number;
  view: Record<string, unknown>;
  write: (format: Omit<CsvFormat, "header">) => Promise<Buffer>;
}

function table<R>(rows: readonly R[], columns: ReadonlyArray<CsvColumn<R>>, header: boolean, view = {}): Table {
  return { rows: rows.length, view, write: (format) => toCsv(rows, columns, { ...format, header }) };
}

/**
 * The runtime side of `alarm-mail-csv`: reads an alarm block's history or active alarms, a trace log, or rows in
 * `msg.payload`, writes them as CSV with the headers in the runtime's language, and appends the file to
 * `msg.attachments`. For "since the last mail" it remembers, on disk, when it last attached a CSV. An export that
 * fails never holds the alarm mail back: the msg goes on without the file, with `msg.csvError`, a warning and a
 * yellow status.
 */
export class CsvNode {
  private readonly config?: CsvConfig;
  private readonly configError?: Error;
  private readonly dates?: DateFormatter;
  private readonly file: SnapshotFile;
  private lastExport?: number;

  constructor(
    private readonly RED: NodeAPI,
    private readonly node: Node,
    def: CsvNodeDef,
  ) {
    this.file = new SnapshotFile(nodeDataPath(RED, "csv", node.id, ".json"));
    try {
      this.config = parseCsvConfig(def);
      this.dates = new DateFormatter(this.config.dateFormat, this.config.datePattern, this.config.timeZone);
      if (this.config.range === "since-mail") this.lastExport = this.loadLastExport();
      // Said at deploy rather than at the first alarm; each msg still looks the node up, which may be deployed later.
      const missing = missingSource(RED, this.config);
      if (missing) reportConfigError(RED, node, missing, { status: true });
    } catch (err) {
      this.configError = reportConfigError(RED, node, err, { status: true });
    }
    node.on("input", (msg, send, done) => void this.onInput(msg, send, done));
    node.on("close", (removed: boolean, done: () => void) => {
      void this.close(removed).finally(done);
    });
  }

  private async onInput(msg: NodeMessageInFlow, send: Send, done: Done): Promise<void> {
    try {
      if (!this.config || !this.dates) throw this.configError;
      const config = this.config;
      const now = new Date();
      const source = await this.table(config, msg, now.getTime());
      const content = await source.write({
        delimiter: config.delimiter,
        bom: config.bom,
        decimalComma: config.decimalComma,
        dates: this.dates,
      });
      const filename = csvFileName(
        config.filename,
        { ...msg, msg, ...source.view, source: config.source, rows: source.rows },
        this.t(`filename.${config.source}`),
        now,
      );
      msg.attachments = [
        ...attachmentList(msg.attachments),
        { filename, content, contentType: "text/csv; charset=utf-8" },
      ];
      if (config.range === "since-mail") this.remember(now.getTime());
      this.node.status({
        fill: "green",
        shape: "dot",
        text: this.t("status.attached", { rows: source.rows, size: Math.ceil(content.length / 1024) }),
      });
    } catch (err) {
      const message = describeError(this.RED, err);
      msg.csvError = { code: err instanceof CodedError ? err.code : "csv-failed", message };
      this.node.warn(this.t("warn.failed", { message }));
      // The reason is in the warning and msg.csvError; the status says it in a few words, in the editor's language.
      this.node.status({ fill: "yellow", shape: "ring", text: "alarm-mail-csv.status.missing" });
    }
    // An alarm mail must never wait on its attachment: the msg goes on and completes either way, as a screenshot's.
    send(msg);
    done();
  }

  private async table(config: CsvConfig, msg: NodeMessageInFlow, now: number): Promise<Table> {
    const header = (key: string) => this.t(`column.${key}`);
    switch (config.source) {
      case "history": {
        const block = this.block(config.block);
        const rows = selectRange(await block.history(), (r) => r.at, config, now, this.lastExport);
        return table(rows, sourceColumns(HISTORY_COLUMNS, config.columns, header), true, { block: block.block });
      }
      case "active": {
        const block = this.block(config.block);
        const columns = sourceColumns(ACTIVE_COLUMNS, config.columns, header);
        return table(await block.activeAlarmRows(), columns, true, { block: block.block });
      }
      case "trace": {
        const trace = this.trace(config.trace);
        const rows = selectRange(await trace.rows(), (r) => r.at, config, now, this.lastExport);
        const columns = sourceColumns(TRACE_COLUMNS[trace.kind], config.columns, header, rows);
        return table(rows, columns, true, { trace: trace.name });
      }
      case "payload": {
        const found = payloadTable(msg.payload, config.columns);
        return table(found.rows, found.columns, found.header);
      }
    }
  }

  /** The block, found when the msg comes: nodes start in no set order, and a block may be redeployed alone. */
  private block(id: string): BlockNode {
    const found = findBlock(this.RED, id);
    if (!found) throw new CsvError("csv-block-missing", { id });
    return found;
  }

  private trace(id: string): TraceNode {
    const found = findTrace(this.RED, id);
    if (!found) throw new CsvError("csv-trace-missing", { id });
    return found;
  }

  private loadLastExport(): number | undefined {
    try {
      const saved = JSON.parse(this.file.read() ?? "{}") as { lastExport?: unknown };
      return typeof saved.lastExport === "number" ? saved.lastExport : undefined;
    } catch (err) {
      // Without it the next CSV holds every row, which repeats rows rather than losing any.
      this.node.warn(this.t("warn.stateUnreadable", { file: this.file.path, reason: reasonOf(err) }));
      return undefined;
    }
  }

  /** Saved in the background: if it is lost, the next CSV repeats rows rather than missing any. */
  private remember(at: number): void {
    this.lastExport = at;
    this.file
      .write(JSON.stringify({ format: 1, lastExport: at }))
      .catch((err: unknown) =>
        this.node.warn(this.t("warn.stateUnwritable", { file: this.file.path, reason: reasonOf(err) })),
      );
  }

  private async close(removed: boolean): Promise<void> {
    await closeWithinBudget(removed ? this.file.remove() : this.file.settled());
  }

  private t(key: string, params: Record<string, string | number> = {}): string {
    return this.RED._(`alarm-mail-csv.${key}`, params);
  }
}

/** The block or trace log that the configuration names but the deployed flows do not hold. */
function missingSource(RED: NodeAPI, config: CsvConfig): CsvError | undefined {
  if ((config.source === "history" || config.source === "active") && !inFlows(RED, config.block, "alarm-mail-block")) {
    return new CsvError("csv-block-missing", { id: config.block });
  }
  if (config.source === "trace" && !inFlows(RED, config.trace, "alarm-mail-trace")) {
    return new CsvError("csv-trace-missing", { id: config.trace });
  }
  return undefined;
}

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
