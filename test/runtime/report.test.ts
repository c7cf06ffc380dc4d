import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, afterEach, before, describe, it, mock } from "node:test";
import type { NodeMessage } from "node-red";
import { SmtpSink } from "../../dev/SmtpSink";
import type { ReportFigures } from "../../nodes/lib/report/ReportFigures";
import { builtNode, helper, until, type FlowNode, type RuntimeSettings } from "../support/flows";
import { CHROMIUM, decodePng, NO_CHROMIUM, pixel } from "../support/images";
import { DAY_ALARM_FIGURES, DAY_BAD_ACTORS, FROM, H, MIN, S, TO } from "../support/reportDay";
import { tempDir } from "../support/tempDir";
import { smtpServer } from "../support/smtp";

const NODES = [
  "alarm-mail-server",
  "alarm-mail-recipients",
  "alarm-mail-send",
  "alarm-mail-block",
  "alarm-mail-report",
].map(builtNode);

const alarm = (id: string, priority: number) => ({
  id,
  label: `${id} label`,
  topic: id,
  condition: "high",
  setpoint: 5,
  deadband: 0,
  onDelay: 0,
  offDelay: 0,
  priority,
  ack: "manual",
});
const FLOOD = Array.from({ length: 12 }, (_, i) => `F${i + 1}`);
const ALARMS = [
  alarm("ST", 4),
  alarm("CH", 3),
  ...FLOOD.map((id) => alarm(id, 3)),
  alarm("AK1", 1),
  alarm("AK2", 2),
  alarm("AK3", 1),
  alarm("SH", 2),
  alarm("OS", 3),
];

let dataDir: string;
let sink: SmtpSink;
let port: number;

async function load(): Promise<void> {
  const runtime: RuntimeSettings = { alarmMail: { dataDir } };
  helper.settings(runtime);
  const flow: FlowNode[] = [
    { id: "tab", type: "tab", label: "report test" },
    smtpServer("server", port),
    { id: "team", type: "alarm-mail-recipients", to: "alarm.management@plant.example" },
    { id: "block", z: "tab", type: "alarm-mail-block", block: 1, alarms: ALARMS, version: 1, wires: [[]] },
    {
      id: "report",
      z: "tab",
      type: "alarm-mail-report",
      blocks: ["block"],
      period: "day",
      tz: "UTC",
      wires: [["out", "send"]],
    },
    {
      id: "send",
      z: "tab",
      type: "alarm-mail-send",
      server: "server",
      recipients: "team",
      wires: [["sent"], ["failed"]],
    },
    { id: "out", z: "tab", type: "helper" },
    { id: "sent", z: "tab", type: "helper" },
    { id: "failed", z: "tab", type: "helper" },
  ];
  await helper.load(NODES, flow);
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One msg into a node at a moment of the plant's day: the clock the block reads is set first. */
async function at(time: number, id: string, msg: Record<string, unknown>): Promise<void> {
  mock.timers.setTime(time);
  helper.getNode(id).receive(msg as NodeMessage);
  await pause(5);
}

const value = (time: number, id: string, v: number) => at(time, "block", { topic: id, payload: v });
const command = (time: number, name: string, id: string, user?: string) =>
  at(time, "block", { command: name, alarm: id, ...(user ? { user } : {}) });

/** A mail through the send node at `time`, waited for until the server accepted it: the report's mail path. */
async function mail(time: number, subject: string): Promise<void> {
  const before = sink.received.length;
  const sent = new Promise((resolve) => helper.getNode("sent").once("input", resolve));
  await at(time, "send", { topic: subject, payload: "test" });
  await sent;
  await sink.waitFor(before + 1);
}

type Out = NodeMessage & {
  report: ReportFigures & { tz: string; blocks: unknown[] };
  html: string;
  attachments: Array<{ filename: string; content: Buffer; contentType: string; cid?: string }>;
};

describe("alarm-mail-report in a real Node-RED: a known day through a real block, mailed to a real SMTP server", () => {
  before(async () => {
    sink = new SmtpSink();
    port = await sink.listen();
  });
  after(async () => {
    await sink.close();
  });
  afterEach(async () => {
    mock.timers.reset();
    await helper.unload();
  });

  it("checks every figure of the day, across a restart in the middle, and mails the report with its PNG chart", async () => {
    dataDir = tempDir("alarm-report-");
    // Only the date is the test's: timers stay real, so that Node-RED, the disk and SMTP run as they do.
    mock.timers.enable({ apis: ["Date"], now: FROM - 30 * H });
    await load();
    await value(FROM - 30 * H, "ST", 9);
    for (const t of [0, 20, 40]) {
      await value(FROM + H + t * S, "CH", 9);
      await value(FROM + H + (t + 10) * S, "CH", 0);
    }
    await mail(FROM + 2 * H, "first");
    for (let i = 0; i < 12; i++) await value(FROM + 3 * H + i * 10 * S, FLOOD[i], 9);

    // A restart in the middle of the flood: the alarms stay in alarm, and the history on disk.
    mock.timers.setTime(FROM + 4 * H);
    await helper.unload();
    assert.ok(readdirSync(join(dataDir, "history", "block")).includes("2026-01-12.log"));
    await load();

    for (const id of FLOOD) await value(FROM + 5 * H, id, 0);
    await value(FROM + 6 * H, "AK1", 9);
    await command(FROM + 6 * H + 30 * S, "ack", "AK1", "jean");
    await value(FROM + 7 * H, "AK2", 9);
    await command(FROM + 7 * H + 90 * S, "ack", "AK2", "jean");
    await value(FROM + 8 * H, "AK3", 9);
    await command(FROM + 8 * H + 10 * MIN, "ack", "AK3", "jean");
    await mail(FROM + 9 * H, "second");
    await command(FROM + 10 * H, "shelve", "SH", "marie");
    await command(FROM + 12 * H, "unshelve", "SH", "marie");
    await command(FROM + 20 * H, "shelve", "SH");
    await command(FROM + 22 * H, "out-of-service", "OS", "paul");
    await command(FROM + 23 * H, "in-service", "OS", "paul");

    const before = sink.received.length;
    const output = new Promise<Out>((resolve, reject) => {
      helper.getNode("out").once("input", resolve);
      const reportNode = helper.getNode("report") as unknown as import("node:events").EventEmitter;
      reportNode.once("call:error", (call: { args: unknown[] }) => reject(new Error(String(call.args[0]))));
    });
    // The browser that draws the chart keeps real time: the period is given, as msg.period, from here on.
    mock.timers.reset();
    helper.getNode("report").receive({ period: { from: new Date(FROM).toISOString(), to: TO } } as NodeMessage);
    const out = await output;
    const report = out.report;
    assert.deepEqual([report.from, report.to, report.tz, report.blocks], [FROM, TO, "UTC", [1]]);
    assert.deepEqual(Object.fromEntries(report.figures.map((f) => [f.key, [f.value, f.verdict]])), {
      ...DAY_ALARM_FIGURES,
      "mail-sent": [2, "info"],
      "mail-failed": [0, "ok"],
      "mail-retried": [0, "info"],
      // The clock stands still while a mail travels: queued and accepted at the same instant.
      "mail-latency-median": [0, "info"],
      "mail-latency-p90": [0, "info"],
    });
    assert.deepEqual(
      report.badActors.map((a) => [a.id, a.count]),
      DAY_BAD_ACTORS,
    );
    assert.deepEqual([report.chattering, report.fleeting, report.stale], [["CH"], ["CH"], ["ST"]]);
    assert.deepEqual(report.shelved.byUser, [
      { user: null, count: 1 },
      { user: "marie", count: 1 },
    ]);
    assert.deepEqual(report.ackByPriority, [
      { key: "1", count: 2, medianMs: 30 * S, p90Ms: 10 * MIN },
      { key: "2", count: 1, medianMs: 90 * S, p90Ms: 90 * S },
    ]);

    const names = out.attachments.map((a) => [a.filename, a.contentType]);
    if (!CHROMIUM) {
      assert.deepEqual(names.length, 2, NO_CHROMIUM);
      return;
    }
    assert.deepEqual(names, [
      ["alarm-report-2026-01-13.csv", "text/csv; charset=utf-8"],
      ["alarm-report-bad-actors-2026-01-13.csv", "text/csv; charset=utf-8"],
      ["alarm-report-2026-01-13.png", "image/png"],
    ]);
    const png = decodePng(out.attachments[2].content);
    assert.deepEqual([png.width, png.height], [800, 320]);
    // The flood line (10 alarms) on a scale of 12: 36 px of title + (1 - 10/12) × 240 px of plot.
    assert.deepEqual(pixel(png, 100, 76), [198, 40, 40]);
    assert.match(out.html, /<img src="cid:alarm-report-chart"/);

    const [received] = (await sink.waitFor(before + 1, 15_000)).slice(before);
    const parsed = await received.parse();
    assert.deepEqual(received.to, ["alarm.management@plant.example"]);
    // mailparser turns the cid link into a data URL; the raw mail shows the link Outlook follows.
    assert.match(received.raw.toString(), /src=3D"cid:alarm-report-chart"|src="cid:alarm-report-chart"/);
    assert.match(parsed.text ?? "", /figure\.per-day/);
    // The chart goes in the mail's related part, beside the HTML that shows it; the CSVs are attachments.
    assert.deepEqual(parsed.attachments.map((a) => [a.filename, a.contentType, a.cid ?? null]).sort(), [
      ["alarm-report-2026-01-13.csv", "text/csv", null],
      ["alarm-report-2026-01-13.png", "image/png", "alarm-report-chart"],
      ["alarm-report-bad-actors-2026-01-13.csv", "text/csv", null],
    ]);
    const chart = parsed.attachments.find((a) => a.contentType === "image/png");
    assert.equal(chart && decodePng(chart.content).width, 800);
  });

  it("moves the history of an older snapshot into the day files at the first start", async () => {
    dataDir = tempDir("alarm-report-");
    // Recent events: older than historyDays, they would be dropped at once.
    const now = Date.now();
    const record = {
      at: now - 2 * H,
      event: "trigger",
      id: "ST",
      label: "ST label",
      priority: 4,
      state: "unacked",
      value: 9,
      user: null,
    };
    mkdirSync(join(dataDir, "blocks"), { recursive: true });
    const engine = { alarms: {}, flood: { times: [], active: false, endsAt: null } };
    writeFileSync(
      join(dataDir, "blocks", "block.json"),
      JSON.stringify({
        format: 1,
        savedAt: now,
        engine,
        history: [record, { ...record, at: now - H, event: "recovery" }],
      }),
    );
    await load();
    const block = helper.getNode("block") as unknown as { alarmBlock: { history(): Promise<unknown[]> } };
    assert.deepEqual(
      (await block.alarmBlock.history()).map((r) => (r as { event: string }).event),
      ["trigger", "recovery"],
    );
    const days = join(dataDir, "history", "block");
    await until(() => existsSync(days) && readdirSync(days).length > 0, "the day files");
    const lines = readdirSync(days).map((name) => readFileSync(join(days, name), "utf8").split("\n").length - 1);
    assert.equal(
      lines.reduce((a, b) => a + b),
      2,
    );
    helper.getNode("block").receive({ topic: "OS", payload: 9 } as NodeMessage);
    await helper.unload();
    const snapshot = JSON.parse(readFileSync(join(dataDir, "blocks", "block.json"), "utf8")) as { history: unknown[] };
    assert.deepEqual(snapshot.history, [], "the snapshot no longer carries the history");
    await load();
    assert.equal((await block.alarmBlock.history()).length, 0 + 3, "migrated once, plus the new trigger");
  });
});
