import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { HistoryRecord } from "../../nodes/lib/alarm/AlarmHistory";
import { CHART_HEIGHT, CHART_WIDTH, chartPage } from "../../nodes/lib/report/ReportChart";
import { ReportBuilder } from "../../nodes/lib/report/ReportFigures";
import { CHART_CID, reportHtml, ReportWords } from "../../nodes/lib/report/ReportMail";
import { leaseScreenshotter } from "../../nodes/lib/screenshot/Screenshotter";
import { SCREENSHOTS } from "../support/Editor";
import { CHROMIUM, decodePng, NO_CHROMIUM, pixel } from "../support/images";

const H = 3_600_000;
const FROM = Date.UTC(2026, 10, 23, 6);
const TO = FROM + 7 * 24 * H;

type Catalogue = { [key: string]: string | Catalogue };
const catalogue = (
  JSON.parse(readFileSync(join(__dirname, "..", "..", "locales", "en-US", "alarm-mail-report.json"), "utf8")) as {
    "alarm-mail-report": { report: Catalogue };
  }
)["alarm-mail-report"].report;

/** The English catalogue, as Node-RED's translator fills it. */
function t(key: string, params: Record<string, string | number> = {}): string {
  let entry: string | Catalogue = catalogue;
  for (const part of key.split(".")) entry = typeof entry === "string" ? entry : entry[part];
  assert.equal(typeof entry, "string", key);
  return (entry as string).replace(/__(\w+)__/g, (_, name: string) => String(params[name] ?? ""));
}

/** A week of a wastewater plant: a pump that chatters on Tuesday, a storm flood on Thursday, acknowledged alarms. */
function week(): HistoryRecord[] {
  const events: HistoryRecord[] = [];
  const add = (
    at: number,
    event: HistoryRecord["event"],
    id: string,
    priority: 1 | 2 | 3,
    user: string | null = null,
  ) => events.push({ at, event, id, label: `${id} alarm`, priority, state: null, value: null, user });
  for (let d = 0; d < 7; d++) {
    for (let i = 0; i < 9; i++) {
      const at = FROM + d * 24 * H + i * 2.5 * H;
      add(at, "trigger", `LT-${100 + (i % 4)}-H`, 3);
      add(at + 90_000, "ack", `LT-${100 + (i % 4)}-H`, 3, "operator");
      add(at + 1_200_000, "recovery", `LT-${100 + (i % 4)}-H`, 3);
    }
  }
  for (let i = 0; i < 4; i++) add(FROM + 27 * H + i * 15_000, "trigger", "P-201-FLT", 2);
  for (let i = 0; i < 14; i++) add(FROM + 74 * H + i * 30_000, "trigger", `Q-${300 + i}-HH`, i < 2 ? 1 : 3);
  add(FROM + 100 * H, "shelve", "AT-401-L", 3, "shift.lead");
  add(FROM + 104 * H, "unshelve", "AT-401-L", 3, "shift.lead");
  return events.sort((a, b) => a.at - b.at);
}

describe(
  "alarm-mail-report: the report mail as a mail client shows it",
  { skip: CHROMIUM ? false : NO_CHROMIUM },
  () => {
    const lease = leaseScreenshotter(CHROMIUM ?? "");
    after(() => lease.release());

    it("renders the HTML with its chart, and leaves a picture of it for the README", async () => {
      const builder = new ReportBuilder({ from: FROM, to: TO });
      for (const r of week()) builder.add("WWTP Nord", r);
      const report = builder.result([]);
      const words = new ReportWords(t, "Europe/Paris");
      const chart = await lease.screenshotter.renderMarkup(
        chartPage(report, words.tz, {
          title: t("chart.title"),
          flood: t("chart.flood"),
          axis: t("chart.axis", { tz: words.tz }),
        }),
        { width: CHART_WIDTH, height: CHART_HEIGHT, timeoutMs: 30_000 },
      );
      // A mail client puts the related part where the cid points; a data URL does the same here.
      const html = reportHtml(report, words, "WWTP Nord", { cid: CHART_CID }).replace(
        `cid:${CHART_CID}`,
        `data:image/png;base64,${chart.content.toString("base64")}`,
      );
      const picture = await lease.screenshotter.renderMarkup(html, { width: 900, height: 1500, timeoutMs: 30_000 });
      const png = decodePng(picture.content);
      assert.deepEqual([png.width, png.height], [900, 1500]);
      // The verdict of the busiest 10 minutes (14 alarms) is "over target": its cell is red.
      const reds = Array.from({ length: 60 }, (_, y) => pixel(png, 700, 150 + y * 5)).filter(
        ([r, g, b]) => r === 248 && g === 208 && b === 205,
      );
      assert.ok(reds.length > 0, "a red verdict cell");
      mkdirSync(SCREENSHOTS, { recursive: true });
      writeFileSync(join(SCREENSHOTS, "alarm-mail-report-mail.png"), picture.content);
    });
  },
);
