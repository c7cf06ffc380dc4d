import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse } from "csv-parse/sync";
import type { HistoryRecord } from "../../nodes/lib/alarm/AlarmHistory";
import { chartPage, countRows } from "../../nodes/lib/report/ReportChart";
import { ReportBuilder, type Figure, type MailOutcome, type ReportFigures } from "../../nodes/lib/report/ReportFigures";
import { badActorsCsv, figuresCsv, reportHtml, reportText, ReportWords } from "../../nodes/lib/report/ReportMail";
import { parsePeriod, parseReportConfig, periodEnding } from "../../nodes/lib/report/ReportPeriod";
import { floodPeriods, judge, percentile } from "../../nodes/lib/report/ReportTargets";
import { DAY_ALARM_FIGURES, DAY_BAD_ACTORS, FROM, H, MIN, S, TO } from "../support/reportDay";

type Event = HistoryRecord["event"];
const rec = (at: number, event: Event, id: string, priority: 1 | 2 | 3 | 4, user: string | null = null) =>
  ({ at, event, id, label: `${id} label`, priority, state: null, value: null, user }) satisfies HistoryRecord;

/** The known day (test/support/reportDay), each story known to the millisecond. */
function day(): HistoryRecord[] {
  const events: HistoryRecord[] = [rec(FROM - 30 * H, "trigger", "ST", 4)];
  for (const at of [0, 20, 40]) {
    events.push(rec(FROM + H + at * S, "trigger", "CH", 3), rec(FROM + H + (at + 10) * S, "recovery", "CH", 3));
  }
  for (let i = 0; i < 12; i++) events.push(rec(FROM + 3 * H + i * 10 * S, "trigger", `F${i + 1}`, 3));
  for (let i = 0; i < 12; i++) events.push(rec(FROM + 5 * H, "recovery", `F${i + 1}`, 3));
  events.push(
    rec(FROM + 6 * H, "trigger", "AK1", 1),
    rec(FROM + 6 * H + 30 * S, "ack", "AK1", 1, "jean"),
    rec(FROM + 7 * H, "trigger", "AK2", 2),
    rec(FROM + 7 * H + 90 * S, "ack", "AK2", 2, "jean"),
    rec(FROM + 8 * H, "trigger", "AK3", 1),
    rec(FROM + 8 * H + 10 * MIN, "ack", "AK3", 1, "jean"),
    rec(FROM + 10 * H, "shelve", "SH", 2, "marie"),
    rec(FROM + 12 * H, "unshelve", "SH", 2, "marie"),
    rec(FROM + 20 * H, "shelve", "SH", 2),
    rec(FROM + 22 * H, "out-of-service", "OS", 3, "paul"),
    rec(FROM + 23 * H, "in-service", "OS", 3, "paul"),
  );
  return events.sort((a, b) => a.at - b.at);
}

const MAILS: MailOutcome[] = [
  { createdAt: FROM + H, at: FROM + H + 2 * S, attempts: 1, sent: true },
  { createdAt: FROM + 2 * H, at: FROM + 2 * H + 12 * S, attempts: 3, sent: true },
  { createdAt: FROM + 3 * H, at: FROM + 4 * H, attempts: 5, sent: false },
  { createdAt: FROM - 2 * H, at: FROM - H, attempts: 2, sent: true },
];

function build(): ReportFigures {
  const builder = new ReportBuilder({ from: FROM, to: TO });
  for (const r of day()) builder.add(1, r);
  return builder.result(MAILS);
}

const byKey = (report: ReportFigures) =>
  Object.fromEntries(report.figures.map((f) => [f.key, [f.value, f.verdict]])) as Record<
    Figure["key"],
    [number | null, Figure["verdict"]]
  >;

/** Catalogue keys as the text, with their params: what the adapter's translator fills in. */
const keys = (key: string, params: Record<string, string | number> = {}) =>
  key === "locale" ? "en-US" : `${key}${Object.keys(params).length ? JSON.stringify(params) : ""}`;

describe("ReportBuilder: the ISA-18.2 / EEMUA 191 figures of a known day", () => {
  it("computes every figure exactly, with its verdict", () => {
    const report = build();
    assert.deepEqual(byKey(report), {
      ...DAY_ALARM_FIGURES,
      "mail-sent": [2, "info"],
      "mail-failed": [1, "over"],
      "mail-retried": [2, "info"],
      "mail-latency-median": [2 * S, "info"],
      "mail-latency-p90": [12 * S, "info"],
    });
  });

  it("names the lists: bad actors, chattering, fleeting, stale, removals and acknowledgement times", () => {
    const report = build();
    assert.deepEqual(
      report.badActors.map((a) => [a.id, a.count]),
      DAY_BAD_ACTORS,
    );
    assert.equal(report.badActors[0].share, (3 / 18) * 100);
    assert.deepEqual([report.chattering, report.fleeting, report.stale], [["CH"], ["CH"], ["ST"]]);
    assert.deepEqual(report.shelved, {
      actions: 2,
      alarms: 1,
      timeMs: 6 * H,
      byUser: [
        { user: null, count: 1 },
        { user: "marie", count: 1 },
      ],
    });
    assert.deepEqual(report.outOfService, { actions: 1, alarms: 1, timeMs: H, byUser: [{ user: "paul", count: 1 }] });
    assert.deepEqual(report.ackByPriority, [
      { key: "1", count: 2, medianMs: 30 * S, p90Ms: 10 * MIN },
      { key: "2", count: 1, medianMs: 90 * S, p90Ms: 90 * S },
    ]);
    assert.deepEqual(report.ackByVia, [{ key: "flow", count: 3, medianMs: 90 * S, p90Ms: 10 * MIN }]);
    assert.equal(report.tenMinutes.length, 144);
    assert.equal(report.tenMinutes[18], 12);
    assert.equal(report.tenMinutes[6], 3);
    assert.equal(report.historyFrom, null, "the history reaches back before the period");
  });

  it("says when the history starts after the period, and leaves out mail figures without servers", () => {
    const builder = new ReportBuilder({ from: FROM, to: TO });
    builder.add("Basin", rec(FROM + H, "trigger", "A", 3));
    const report = builder.result();
    assert.equal(report.historyFrom, FROM + H);
    assert.ok(!report.figures.some((f) => f.key.startsWith("mail-")));
    assert.deepEqual(byKey(report)["top10-share"], [100, "over"]);
  });

  it("ends a flood only at a 10-minute period with fewer than 5 alarms", () => {
    assert.deepEqual(floodPeriods([11, 7, 5, 4, 12, 0, 11]), { periods: 5, count: 3 });
    assert.deepEqual(floodPeriods([10, 10]), { periods: 0, count: 0 });
  });

  it("judges targets at their bounds, and takes percentiles by nearest rank", () => {
    assert.equal(judge(150, { kind: "max", good: 150, acceptable: 300 }), "ok");
    assert.equal(judge(300, { kind: "max", good: 150, acceptable: 300 }), "acceptable");
    assert.equal(judge(301, { kind: "max", good: 150, acceptable: 300 }), "over");
    assert.equal(judge(5, { kind: "below", good: 5 }), "over");
    assert.equal(judge(70, { kind: "min", good: 80, acceptable: 70 }), "acceptable");
    assert.equal(judge(3, null), "info");
    assert.equal(percentile([1, 2, 3, 4], 50), 2);
    assert.equal(percentile([1, 2, 3, 4], 90), 4);
    assert.equal(percentile([], 50), null);
  });
});

describe("Report periods", () => {
  it("ends at the msg's minute and starts at the same wall time a day, a week or a month before, in tz", () => {
    const monday = Date.parse("2026-01-19T06:00:30.013Z"); // 07:00:30 in Paris
    assert.deepEqual(periodEnding("week", monday, "Europe/Paris"), {
      from: Date.parse("2026-01-12T06:00:00Z"),
      to: Date.parse("2026-01-19T06:00:00Z"),
    });
    const afterSpring = Date.parse("2026-03-29T10:00:00Z"); // 12:00 summer time, the day the clocks went forward
    const short = periodEnding("day", afterSpring, "Europe/Paris");
    assert.equal(short.to - short.from, 23 * H);
    assert.deepEqual(periodEnding("month", Date.parse("2026-03-31T05:00:00Z"), "Europe/Paris"), {
      from: Date.parse("2026-02-28T06:00:00Z"),
      to: Date.parse("2026-03-31T05:00:00Z"),
    });
  });

  it("reads msg.period and the node's properties, refusing what it cannot use", () => {
    const utc = "UTC";
    assert.deepEqual(parsePeriod({ from: "2026-01-12T00:00:00Z", to: FROM + H }, utc), { from: FROM, to: FROM + H });
    // Text without an offset is a wall time in the report's zone, whatever the gateway's zone.
    assert.deepEqual(parsePeriod({ from: "2026-03-01T00:00", to: "2026-03-02" }, "Europe/Paris"), {
      from: Date.parse("2026-02-28T23:00:00Z"),
      to: Date.parse("2026-03-01T23:00:00Z"),
    });
    const bads = [null, { from: TO, to: FROM }, { from: "yesterday", to: TO }, { from: 0, to: 400 * 24 * H }];
    for (const bad of [...bads, { from: "2026-13-01", to: TO }, { from: "2026-01-01T25:00", to: TO }]) {
      assert.throws(() => parsePeriod(bad, utc), { code: "report-period-invalid" });
    }
    assert.deepEqual(parseReportConfig({ blocks: ["b1", " b2 "], period: "month", tz: "Europe/Bucharest" }), {
      blocks: ["b1", "b2"],
      period: "month",
      tz: "Europe/Bucharest",
    });
    assert.throws(() => parseReportConfig({ period: "year" }), { code: "report-config-invalid" });
    assert.throws(() => parseReportConfig({ tz: "Mars/Olympus" }), { code: "report-config-invalid" });
  });
});

describe("Report mail: text, HTML, CSVs and the chart page", () => {
  const words = new ReportWords(keys, "UTC");

  it("writes every figure with its target and verdict, in the text and in Outlook-safe HTML", () => {
    const report = build();
    const text = reportText(report, words, "1");
    assert.match(text, /^figure\.per-day: 18 \(column\.target ≤ 150 \(verdict\.acceptable: ≤ 300\)\) – verdict\.ok$/m);
    assert.match(text, /^figure\.ack-p90: 10 min 0 s$/m);
    assert.match(text, /^figure\.shelved-time: 6 h 0 min$/m);
    const html = reportHtml(report, words, "1", { cid: "alarm-report-chart" });
    assert.match(html, /<img src="cid:alarm-report-chart"/);
    assert.doesNotMatch(html, /<svg|class=|display:flex/);
    // The layout row, then the figures, bad actors, acknowledgement times, removals and lists, each under a header.
    assert.equal(html.match(/<tr>/g)?.length, 1 + (report.figures.length + 1) + (10 + 1) + (3 + 1) + (2 + 1) + 3);
    const fallback = reportHtml(report, words, "1", { missing: "no Chromium" });
    assert.match(fallback, /chart\.missing\{&quot;reason&quot;:&quot;no Chromium&quot;\}/);
    assert.doesNotMatch(fallback, /<img/);
  });

  it("escapes labels in the HTML and neutralises formulas in the bad-actor CSV", async () => {
    const builder = new ReportBuilder({ from: FROM, to: TO });
    builder.add(1, { ...rec(FROM, "trigger", "X", 2), label: '=HYPERLINK("x")<b>' });
    const report = builder.result();
    assert.match(reportHtml(report, words, "1", { missing: "-" }), /=HYPERLINK\(&quot;x&quot;\)&lt;b&gt;/);
    const rows = parse(await badActorsCsv(report, words), { bom: true }) as string[][];
    assert.deepEqual(rows[1], ["1", "X", `'=HYPERLINK("x")<b>`, "2", "1", "100"]);
    const figures = parse(await figuresCsv(build(), words), { bom: true }) as string[][];
    assert.deepEqual(figures[2], [
      "figure.per-day",
      "per-day",
      "18",
      "count",
      "≤ 150 (verdict.acceptable: ≤ 300)",
      "verdict.ok",
    ]);
  });

  it("draws the chart page as an SVG with the flood line, and the counts table per hour", () => {
    const report = build();
    const page = chartPage(report, "UTC", { title: "Alarms", flood: "flood", axis: "time" });
    assert.match(page, /<svg[^>]+width="800" height="320"/);
    assert.equal(page.match(/<rect [^>]*fill="#1f6fb2"/g)?.length, 5, "one bar per 10-minute period with alarms");
    assert.match(page, /stroke-dasharray="6 4"/);
    assert.doesNotMatch(page, /<script|https?:\/\/(?!www\.w3\.org)/);
    const rows = countRows(report, "UTC");
    assert.equal(rows.length, 24);
    assert.deepEqual(rows[3], { label: "2026-01-12 03:00", alarms: 12, peak: 12 });
  });
});
