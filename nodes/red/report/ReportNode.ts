import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from "node-red";
import { attachmentList } from "../../lib/mail/MailComposer";
import { CHART_HEIGHT, CHART_WIDTH, chartPage } from "../../lib/report/ReportChart";
import { ReportError } from "../../lib/report/ReportError";
import { ReportBuilder, type MailOutcome, type ReportFigures } from "../../lib/report/ReportFigures";
import {
  badActorsCsv,
  CHART_CID,
  figuresCsv,
  reportHtml,
  reportSubject,
  reportText,
  ReportWords,
} from "../../lib/report/ReportMail";
import {
  formatWall,
  parsePeriod,
  parseReportConfig,
  periodEnding,
  type Period,
  type ReportConfig,
} from "../../lib/report/ReportPeriod";
import { findChromium, leaseScreenshotter, type ScreenshotterLease } from "../../lib/screenshot/Screenshotter";
import { findBlock, type BlockNode } from "../block/BlockNode";
import { describeError } from "../kit/i18n";
import { closeWithinBudget, failMessage, reportConfigError } from "../kit/lifecycle";
import { inFlows } from "../kit/nodes";
import { findServer } from "../server/ServerNode";

export interface ReportNodeDef extends NodeDef {
  blocks?: unknown;
  period?: string;
  tz?: string;
}

type Send = (msg: NodeMessageInFlow) => void;
type Done = (err?: Error) => void;

/** Drawing the chart waits this long at most (a cold Chromium start included), then the mail goes with a table. */
const CHART_TIMEOUT_MS = 30_000;

/**
 * The runtime side of `alarm-mail-report`: on each msg, reads the history of its blocks and the outboxes' sent logs,
 * folds them into the period's figures, and turns the msg into the report mail (subject, text, HTML, the figures and
 * bad actors as CSV, the chart as PNG). The chart is drawn by the Chromium that the screenshot node uses, held only
 * while this node is deployed; without one, the mail shows the counts as a table and says why.
 */
export class ReportNode {
  private readonly config?: ReportConfig;
  private readonly configError?: Error;
  private lease?: ScreenshotterLease;

  constructor(
    private readonly RED: NodeAPI,
    private readonly node: Node,
    def: ReportNodeDef,
  ) {
    try {
      this.config = parseReportConfig(def as unknown as Record<string, unknown>);
      // Said at deploy rather than at the first report; each msg still looks the blocks up.
      const missing = this.config.blocks.find((id) => !inFlows(RED, id, "alarm-mail-block"));
      if (missing !== undefined) {
        reportConfigError(RED, node, new ReportError("report-block-missing", { id: missing }), { status: true });
      }
    } catch (err) {
      this.configError = reportConfigError(RED, node, err, { status: true });
    }
    node.on("input", (msg, send, done) => void this.onInput(msg, send, done));
    node.on("close", (_removed: boolean, done: () => void) => {
      const lease = this.lease;
      this.lease = undefined;
      void closeWithinBudget(lease?.release() ?? Promise.resolve()).finally(done);
    });
  }

  private t(key: string, params: Record<string, string | number> = {}): string {
    return this.RED._(`alarm-mail-report.${key}`, params);
  }

  private async onInput(msg: NodeMessageInFlow, send: Send, done: Done): Promise<void> {
    try {
      if (!this.config) throw this.configError;
      const config = this.config;
      const fields = msg as NodeMessageInFlow & Record<string, unknown>;
      const period: Period =
        fields.period === undefined
          ? periodEnding(config.period, Date.now(), config.tz)
          : parsePeriod(fields.period, config.tz);
      const blocks = this.blocks(config);
      const builder = new ReportBuilder(period);
      // Events before the period set what was in alarm, shelved or unacknowledged when it began.
      for (const block of blocks) await block.scanHistory(-Infinity, period.to, (r) => builder.add(block.block, r));
      const report = builder.result(this.mails());
      const words = new ReportWords((key, params) => this.t(`report.${key}`, params), config.tz);
      const names = blocks.map((b) => String(b.block)).join(", ");
      const chart = await this.chart(report, words);
      const day = formatWall(report.to, config.tz).slice(0, 10);
      const [figures, actors] = await Promise.all([figuresCsv(report, words), badActorsCsv(report, words)]);
      Object.assign(fields, {
        report: { ...report, tz: config.tz, blocks: blocks.map((b) => b.block) },
        topic: reportSubject(report, words, names),
        payload: reportText(report, words, names),
        html: reportHtml(report, words, names, "content" in chart ? { cid: CHART_CID } : chart),
        attachments: [
          ...attachmentList(msg.attachments),
          { filename: `alarm-report-${day}.csv`, content: figures, contentType: "text/csv; charset=utf-8" },
          { filename: `alarm-report-bad-actors-${day}.csv`, content: actors, contentType: "text/csv; charset=utf-8" },
          ...("content" in chart
            ? [
                {
                  filename: `alarm-report-${day}.png`,
                  content: chart.content,
                  contentType: "image/png",
                  cid: CHART_CID,
                },
              ]
            : []),
        ],
      });
      const over = report.figures.filter((f) => f.verdict === "over").length;
      const alarms = report.figures.find((f) => f.key === "alarms")?.value ?? 0;
      // Yellow when a figure is over its target or the chart could not be drawn; the mail says which.
      this.node.status({
        fill: "content" in chart && over === 0 ? "green" : "yellow",
        shape: "dot",
        text: "content" in chart ? this.t("status.made", { alarms }) : "alarm-mail-report.status.no-chart",
      });
      send(msg);
      done();
    } catch (err) {
      failMessage(this.RED, this.node, done, err);
    }
  }

  /** The chosen blocks, or every block of the flows; found when the msg comes, since nodes start in no set order. */
  private blocks(config: ReportConfig): BlockNode[] {
    const ids = [...config.blocks];
    if (ids.length === 0) {
      this.RED.nodes.eachNode((def) => {
        if (def.type === "alarm-mail-block" && !(def as { d?: boolean }).d) ids.push(def.id);
      });
    }
    return ids.map((id) => {
      const block = findBlock(this.RED, id);
      if (!block) throw new ReportError("report-block-missing", { id });
      return block;
    });
  }

  /** Every server's sent log and failed mails: the report's mail path. Null when the flows have no server. */
  private mails(): MailOutcome[] | null {
    const outboxes: NonNullable<ReturnType<typeof findServer>>["mailbox"][] = [];
    this.RED.nodes.eachNode((def) => {
      if (def.type === "alarm-mail-server") outboxes.push(findServer(this.RED, def.id)?.mailbox);
    });
    if (outboxes.length === 0) return null;
    const mails: MailOutcome[] = [];
    for (const outbox of outboxes) {
      for (const s of outbox?.sentLog() ?? []) {
        mails.push({ createdAt: s.createdAt, at: s.sentAt, attempts: s.attempts, sent: true });
      }
      for (const f of outbox?.failed() ?? []) {
        mails.push({ createdAt: f.createdAt, at: f.failedAt ?? f.queuedAt, attempts: f.attempts, sent: false });
      }
    }
    return mails;
  }

  /** The chart as a PNG, or the reason there is none, in the reader's language. */
  private async chart(report: ReportFigures, words: ReportWords): Promise<{ content: Buffer } | { missing: string }> {
    const chromium = findChromium();
    if (!chromium.path) return { missing: this.t("report.chart.no-chromium", { tried: chromium.tried.join(", ") }) };
    this.lease ??= leaseScreenshotter(chromium.path);
    const page = chartPage(report, words.tz, {
      title: words.t("chart.title"),
      flood: words.t("chart.flood"),
      axis: words.t("chart.axis", { tz: words.tz }),
    });
    try {
      const picture = await this.lease.screenshotter.renderMarkup(page, {
        width: CHART_WIDTH,
        height: CHART_HEIGHT,
        timeoutMs: CHART_TIMEOUT_MS,
      });
      return { content: picture.content };
    } catch (err) {
      return { missing: describeError(this.RED, err) };
    }
  }
}
