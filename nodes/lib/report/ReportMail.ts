import { DateFormatter, toCsv, type CsvColumn } from "../csv/CsvExport";
import { countRows, type CountRow } from "./ReportChart";
import type { BadActor, Delays, Figure, ReportFigures, Target, Verdict } from "./ReportFigures";
import { formatWall } from "./ReportPeriod";

/** The report node's catalogue, as the adapter hands it over: `report.<key>` texts with their placeholders. */
export type Translate = (key: string, params?: Record<string, string | number>) => string;

/** The content id of the chart in the HTML: the PNG attachment carries it, and Outlook shows it inline. */
export const CHART_CID = "alarm-report-chart";

const VERDICT_COLOUR: Record<Verdict, string> = {
  ok: "#d7f0d8",
  acceptable: "#fff1c2",
  over: "#f8d0cd",
  info: "#ffffff",
};

/**
 * Words and numbers of the report in the reader's language: numbers with the language's decimal mark, durations in
 * days, hours, minutes and seconds, targets as ≤, < or ≥ a value.
 */
export class ReportWords {
  private readonly numbers: Intl.NumberFormat;

  constructor(
    readonly t: Translate,
    readonly tz: string,
  ) {
    this.numbers = numberFormat(t("locale"));
  }

  figureName(figure: Figure): string {
    return this.t(`figure.${figure.key}`);
  }

  value(value: number | null, unit: Figure["unit"]): string {
    if (value === null) return "–";
    if (unit === "ms") return this.duration(value);
    return unit === "percent" ? `${this.numbers.format(value)} %` : this.numbers.format(value);
  }

  target(target: Target | null, unit: Figure["unit"]): string {
    if (target === null) return "";
    const sign = target.kind === "max" ? "≤" : target.kind === "below" ? "<" : "≥";
    const suffix = unit === "percent" ? " %" : "";
    const good = `${sign} ${this.numbers.format(target.good)}${suffix}`;
    if (target.acceptable === undefined) return good;
    return `${good} (${this.t("verdict.acceptable")}: ${sign} ${this.numbers.format(target.acceptable)}${suffix})`;
  }

  verdict(verdict: Verdict): string {
    return verdict === "info" ? "" : this.t(`verdict.${verdict}`);
  }

  duration(ms: number): string {
    const s = Math.round(ms / 1000);
    if (s < 60) return `${s} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} min ${s % 60} s`;
    const h = Math.floor(m / 60);
    if (h < 24) return `${h} h ${m % 60} min`;
    return `${Math.floor(h / 24)} ${this.t("unit.days")} ${h % 24} h`;
  }

  time(at: number): string {
    return formatWall(at, this.tz);
  }
}

/** The subject: which blocks, which period. */
export function reportSubject(report: ReportFigures, words: ReportWords, blocks: string): string {
  return words.t("subject", { blocks, from: words.time(report.from), to: words.time(report.to) });
}

/** The plain-text report: every figure on its line, then the bad actors. */
export function reportText(report: ReportFigures, words: ReportWords, blocks: string): string {
  const lines = [words.t("text.intro", { blocks, from: words.time(report.from), to: words.time(report.to) }), ""];
  if (report.historyFrom !== null) lines.push(words.t("text.partial", { since: words.time(report.historyFrom) }), "");
  for (const f of report.figures) {
    const target = words.target(f.target, f.unit);
    const verdict = words.verdict(f.verdict);
    lines.push(
      `${words.figureName(f)}: ${words.value(f.value, f.unit)}` +
        (target ? ` (${words.t("column.target")} ${target})` : "") +
        (verdict ? ` – ${verdict}` : ""),
    );
  }
  lines.push("", words.t("section.bad-actors"));
  report.badActors.forEach((a, i) =>
    lines.push(`${i + 1}. ${a.id} ${a.label}: ${a.count} (${words.value(a.share, "percent")})`),
  );
  return lines.join("\n");
}

/**
 * The HTML report: nested tables with inline styles and `bgcolor`, which Outlook's Word engine keeps, no CSS classes,
 * flexbox or SVG, which it drops. The chart is the attached PNG by content id, or, when there is none, its counts as
 * a table with a line that says why.
 */
export function reportHtml(
  report: ReportFigures,
  words: ReportWords,
  blocks: string,
  chart: { cid: string } | { missing: string },
): string {
  const t = words.t;
  const esc = escapeHtml;
  const out: string[] = [];
  const cell = (text: string, extra = "") =>
    `<td style="border:1px solid #ccc;padding:4px 8px;${extra}">${esc(text)}</td>`;
  const head = (names: string[]) =>
    `<tr>${names.map((n) => `<th align="left" bgcolor="#eeeeee" style="border:1px solid #ccc;padding:4px 8px;">${esc(n)}</th>`).join("")}</tr>`;
  const table = (rows: string[]) =>
    `<table cellpadding="0" cellspacing="0" border="0" style="border-collapse:collapse;font-size:13px;">${rows.join("")}</table>`;
  const section = (title: string) => `<h3 style="font-size:15px;margin:18px 0 6px 0;">${esc(title)}</h3>`;

  out.push(`<h2 style="font-size:18px;margin:0 0 4px 0;">${esc(t("title"))}</h2>`);
  out.push(
    `<p style="margin:0 0 12px 0;">${esc(t("text.intro", { blocks, from: words.time(report.from), to: words.time(report.to) }))}</p>`,
  );
  if (report.historyFrom !== null) {
    out.push(
      `<p style="margin:0 0 12px 0;color:#8a4b00;">${esc(t("text.partial", { since: words.time(report.historyFrom) }))}</p>`,
    );
  }
  out.push(
    table([
      head([t("column.figure"), t("column.value"), t("column.target"), t("column.verdict")]),
      ...report.figures.map(
        (f) =>
          `<tr>${cell(words.figureName(f))}${cell(words.value(f.value, f.unit), "text-align:right;")}` +
          `${cell(words.target(f.target, f.unit))}` +
          `<td bgcolor="${VERDICT_COLOUR[f.verdict]}" style="border:1px solid #ccc;padding:4px 8px;">${esc(words.verdict(f.verdict))}</td></tr>`,
      ),
    ]),
  );
  out.push(section(t("section.chart")));
  if ("cid" in chart) {
    out.push(
      `<img src="cid:${esc(chart.cid)}" width="800" alt="${esc(t("chart.title"))}" style="display:block;border:0;max-width:100%;">`,
    );
  } else {
    out.push(`<p style="margin:0 0 6px 0;color:#8a4b00;">${esc(t("chart.missing", { reason: chart.missing }))}</p>`);
    out.push(
      table([
        head([t("column.time"), t("column.alarms"), t("column.peak")]),
        ...countRows(report, words.tz).map(
          (r: CountRow) =>
            `<tr>${cell(r.label)}${cell(String(r.alarms), "text-align:right;")}${cell(String(r.peak), "text-align:right;")}</tr>`,
        ),
      ]),
    );
  }
  out.push(section(t("section.bad-actors")));
  out.push(
    table([
      head(["#", t("column.alarm"), t("column.label"), t("column.priority"), t("column.alarms"), t("column.share")]),
      ...report.badActors.map(
        (a, i) =>
          `<tr>${cell(String(i + 1))}${cell(a.id)}${cell(a.label)}${cell(String(a.priority ?? ""))}` +
          `${cell(String(a.count), "text-align:right;")}${cell(words.value(a.share, "percent"), "text-align:right;")}</tr>`,
      ),
    ]),
  );
  const delayRows = (list: Delays[], name: (key: string) => string) =>
    list.map(
      (d) =>
        `<tr>${cell(name(d.key))}${cell(String(d.count), "text-align:right;")}` +
        `${cell(words.value(d.medianMs, "ms"), "text-align:right;")}${cell(words.value(d.p90Ms, "ms"), "text-align:right;")}</tr>`,
    );
  out.push(section(t("section.ack")));
  out.push(
    table([
      head([t("column.group"), t("column.acks"), t("column.median"), t("column.p90")]),
      ...delayRows(report.ackByPriority, (key) => t("row.priority", { priority: key })),
      ...delayRows(report.ackByVia, (key) => t("row.via", { via: key })),
    ]),
  );
  out.push(section(t("section.removed")));
  const who = (list: ReportFigures["shelved"]["byUser"]) =>
    list.map((u) => `${u.user ?? t("row.nobody")} (${u.count})`).join(", ");
  out.push(
    table([
      head(["", t("column.actions"), t("column.alarms"), t("column.duration"), t("column.who")]),
      ...(["shelved", "outOfService"] as const).map((kind) => {
        const r = report[kind];
        return `<tr>${cell(t(`row.${kind}`))}${cell(String(r.actions), "text-align:right;")}${cell(String(r.alarms), "text-align:right;")}${cell(words.duration(r.timeMs), "text-align:right;")}${cell(who(r.byUser))}</tr>`;
      }),
    ]),
  );
  out.push(section(t("section.lists")));
  out.push(
    table(
      (["chattering", "fleeting", "stale"] as const).map(
        (kind) => `<tr>${cell(t(`figure.${kind}`))}${cell(report[kind].join(", ") || "–")}</tr>`,
      ),
    ),
  );
  return (
    `<!doctype html><html><head><meta charset="utf-8"></head><body style="margin:0;padding:0;">` +
    `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0"><tr>` +
    `<td style="padding:16px;font-family:Segoe UI,Arial,sans-serif;font-size:14px;color:#222;">${out.join("\n")}</td>` +
    `</tr></table></body></html>`
  );
}

/** The figures as a spreadsheet reads them: raw values (times in ms) beside the words. */
export function figuresCsv(report: ReportFigures, words: ReportWords): Promise<Buffer> {
  const columns: CsvColumn<Figure>[] = [
    { header: words.t("column.figure"), value: (f) => words.figureName(f) },
    { header: "key", value: (f) => f.key },
    { header: words.t("column.value"), value: (f) => (f.value === null ? "" : round(f.value)) },
    { header: words.t("column.unit"), value: (f) => f.unit },
    { header: words.t("column.target"), value: (f) => words.target(f.target, f.unit) },
    { header: words.t("column.verdict"), value: (f) => words.verdict(f.verdict) },
  ];
  return toCsv(report.figures, columns, csvFormat(words.tz));
}

export function badActorsCsv(report: ReportFigures, words: ReportWords): Promise<Buffer> {
  const columns: CsvColumn<BadActor>[] = [
    { header: words.t("column.block"), value: (a) => a.block },
    { header: words.t("column.alarm"), value: (a) => a.id },
    { header: words.t("column.label"), value: (a) => a.label },
    { header: words.t("column.priority"), value: (a) => a.priority ?? "" },
    { header: words.t("column.alarms"), value: (a) => a.count },
    { header: words.t("column.share"), value: (a) => round(a.share) },
  ];
  return toCsv(report.badActors, columns, csvFormat(words.tz));
}

function csvFormat(tz: string) {
  return {
    delimiter: "," as const,
    bom: true,
    decimalComma: false,
    header: true,
    dates: new DateFormatter("local", "", tz),
  };
}

/** The catalogue's locale; a catalogue that names none (or one this runtime lacks) gets English numbers, not a failure. */
function numberFormat(locale: string): Intl.NumberFormat {
  try {
    return new Intl.NumberFormat(locale, { maximumFractionDigits: 2 });
  } catch {
    return new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });
  }
}

function round(n: number): number {
  return Math.round(n * 10_000) / 10_000;
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string,
  );
}
