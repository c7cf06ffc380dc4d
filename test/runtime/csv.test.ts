import assert from "node:assert/strict";
import type { EventEmitter } from "node:events";
import { after, afterEach, beforeEach, describe, it } from "node:test";
import { parse } from "csv-parse/sync";
import type { NodeMessage, NodeStatus } from "node-red";
import { SmtpSink } from "../../dev/SmtpSink";
import { HIGH, HIGH_HIGH } from "../support/alarms";
import { builtNode, helper, loadMailFlow, type FlowNode, type RuntimeSettings } from "../support/flows";
import type { BlockNodeObject } from "../../nodes/red/block/BlockNode";
import { tempDir } from "../support/tempDir";

const NODES = ["alarm-mail-block", "alarm-mail-trace", "alarm-mail-csv"].map(builtNode);

interface Attachment {
  filename: string;
  content: Buffer;
  contentType: string;
}
type Out = NodeMessage & { attachments?: Attachment[] };

/** A label that a spreadsheet would run, and a value below zero that must stay a number. */
const FROST = {
  ...HIGH,
  id: "TT-1-L",
  label: '=HYPERLINK("http://evil.example","frost")',
  topic: "TT-1",
  condition: "low",
  setpoint: 0,
  priority: 3,
};

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
/**
 * The test helper's RED._ gives back the catalogue key: headers and errors are checked by key here, and in a language
 * in test/trace-restart.test.ts, against a real Node-RED.
 */
const h = (key: string) => `alarm-mail-csv.column.${key}`;
const CSV_ERRORS = "@alarm-mail/node-red/alarm-mail-csv:errors.";
const LOCAL_TIME = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/;

let dataDir: string;

/**
 * A block, three trace nodes (samples, operator actions, interval sampling) and the CSV node under test. Without x and y the test
 * helper takes nodes for config nodes, which Node-RED orders by the ids their properties name: ids here are never a
 * property value (a trace node with the id "samples" would depend on itself through `mode: "samples"`).
 */
async function load(csv: Record<string, unknown>): Promise<void> {
  const runtime: RuntimeSettings = { alarmMail: { dataDir } };
  helper.settings(runtime);
  const flow: FlowNode[] = [
    { id: "tab", type: "tab", label: "csv test" },
    { id: "block", z: "tab", type: "alarm-mail-block", block: 1, alarms: [HIGH, HIGH_HIGH, FROST], wires: [[]] },
    { id: "trace-samples", z: "tab", type: "alarm-mail-trace", name: "Basin 2", mode: "samples", wires: [[]] },
    { id: "trace-operator", z: "tab", type: "alarm-mail-trace", mode: "operator", wires: [[]] },
    {
      id: "trace-interval",
      z: "tab",
      type: "alarm-mail-trace",
      mode: "samples",
      sampling: "interval",
      interval: 1,
      wires: [[]],
    },
    { id: "csv", z: "tab", type: "alarm-mail-csv", wires: [["out"]], ...csv },
    { id: "out", z: "tab", type: "helper" },
  ];
  await helper.load(NODES, flow);
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function feed(id: string, msgs: Array<Record<string, unknown>>): Promise<void> {
  for (const msg of msgs) {
    helper.getNode(id).receive(msg as NodeMessage);
    await pause(5);
  }
  await pause(30);
}

/** Sends a msg into the CSV node: its output, or the error it completed the msg with. */
function attach(msg: Record<string, unknown> = {}): Promise<{ msg?: Out; status?: NodeStatus }> {
  const csv = helper.getNode("csv") as unknown as EventEmitter;
  let status: NodeStatus | undefined;
  const onStatus = (call: { args: [NodeStatus] }) => (status = call.args[0]);
  csv.on("call:status", onStatus);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no output from alarm-mail-csv")), 10_000);
    const finish = (result: { msg?: Out }) => {
      clearTimeout(timer);
      setImmediate(() => {
        csv.off("call:status", onStatus);
        resolve({ ...result, status });
      });
    };
    // A CSV that cannot be made still passes the msg on (with msg.csvError): the output is the only way out.
    helper.getNode("out").once("input", (out: Out) => finish({ msg: out }));
    helper.getNode("csv").receive(msg as NodeMessage);
  });
}

/** The one CSV the node attached, parsed back as a spreadsheet reads it. */
async function csvOf(
  msg: Record<string, unknown> = {},
  delimiter = ",",
): Promise<{ rows: string[][]; file: Attachment }> {
  const result = await attach(msg);
  assert.equal((result.msg as { csvError?: unknown } | undefined)?.csvError, undefined);
  const file = result.msg?.attachments?.at(-1);
  assert.ok(file, "an attachment");
  assert.ok(Buffer.isBuffer(file.content));
  return { rows: parse(file.content, { delimiter, bom: true, relax_column_count: true }) as string[][], file };
}

/** Level 9 (both alarms), an acknowledgement, the frost alarm at -3, level back to 5. */
async function alarmStory(): Promise<void> {
  await feed("block", [
    { topic: "LT-201", payload: 9 },
    { command: "ack", alarm: "*", user: "jean.dupont" },
    { topic: "TT-1", payload: -3 },
    { topic: "LT-201", payload: 5.5 },
  ]);
}

beforeEach(() => {
  dataDir = tempDir("alarm-mail-csv-");
});
afterEach(async () => {
  await helper.unload();
});
after(() => helper.stopServer?.());

describe("alarm-mail-csv: a block's history", () => {
  it("comma, BOM by default, localised headers, every event in order, default file name", async () => {
    await load({ source: "history", block: "block" });
    await alarmStory();
    const { rows, file } = await csvOf({ topic: "report", attachments: [{ filename: "a.txt", content: "x" }] });
    assert.ok(file.content.subarray(0, 3).equals(BOM), "BOM first");
    assert.equal(file.contentType, "text/csv; charset=utf-8");
    assert.match(file.filename, /^alarm-mail-csv\.filename\.history-\d{8}-\d{6}\.csv$/);
    assert.deepEqual(
      rows[0],
      ["time", "event", "id", "label", "priority", "state", "value", "user", "ackVia", "comment"].map(h),
    );
    // An ack says where it came from: here the flow's command, which carries no comment (the link's page does).
    assert.deepEqual(
      rows.slice(1).map((r) => r.slice(1)),
      [
        ["trigger", "LT-201-H", "Basin 2 bacteria level high", "2", "unacked", "9", "", "", ""],
        ["trigger", "LT-201-HH", "Basin 2 bacteria level high-high", "1", "unacked", "9", "", "", ""],
        ["ack", "LT-201-H", "Basin 2 bacteria level high", "2", "acked", "9", "jean.dupont", "flow", ""],
        ["ack", "LT-201-HH", "Basin 2 bacteria level high-high", "1", "acked", "9", "jean.dupont", "flow", ""],
        ["trigger", "TT-1-L", `'${FROST.label}`, "3", "unacked", "-3", "", "", ""],
        ["recovery", "LT-201-H", "Basin 2 bacteria level high", "2", "normal", "5.5", "", "", ""],
        ["recovery", "LT-201-HH", "Basin 2 bacteria level high-high", "1", "normal", "5.5", "", "", ""],
      ],
    );
    assert.ok(
      rows.slice(1).every((r) => LOCAL_TIME.test(r[0])),
      "times as 2026-01-15 08:42:05",
    );
  });

  it("semicolon with a decimal comma, no BOM: 5,5 and -3 as numbers, the formula label neutralised", async () => {
    await load({ source: "history", block: "block", delimiter: ";", decimalComma: true, bom: false });
    await alarmStory();
    const { rows, file } = await csvOf({}, ";");
    assert.ok(!file.content.subarray(0, 3).equals(BOM), "no BOM");
    assert.ok(file.content.toString().startsWith(`${h("time")};`));
    assert.deepEqual(
      rows.slice(1).map((r) => r[6]),
      ["9", "9", "9", "9", "-3", "5,5", "5,5"],
    );
    assert.equal(rows[5][3], `'${FROST.label}`);
    assert.match(file.content.toString(), /;-3;/, "a negative number is not neutralised");
  });

  it("tab, chosen columns, ISO dates in a time zone, a file name template", async () => {
    await load({
      source: "history",
      block: "block",
      delimiter: "\t",
      columns: ["value", "time", "id"],
      dateFormat: "iso",
      timeZone: "Asia/Kathmandu",
      filename: "block-{{block}}-{{alarm.id}}-{{rows}}",
    });
    await alarmStory();
    const { rows, file } = await csvOf({ alarm: { id: "LT-201-H" } }, "\t");
    assert.equal(file.filename, "block-1-LT-201-H-7.csv");
    assert.deepEqual(rows[0], [h("time"), h("id"), h("value")]);
    assert.match(rows[1][0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+05:45$/);
    assert.deepEqual(rows[1].slice(1), ["LT-201-H", "9"]);
  });

  it("ranges: the last N rows; since the last mail, which survives a redeploy", async () => {
    await load({ source: "history", block: "block", range: "rows", count: 2 });
    await alarmStory();
    assert.deepEqual(
      (await csvOf()).rows.slice(1).map((r) => r[1]),
      ["recovery", "recovery"],
    );
    await helper.unload();

    dataDir = tempDir("alarm-mail-csv-");
    await load({ source: "history", block: "block", range: "since-mail" });
    await feed("block", [{ topic: "LT-201", payload: 9 }]);
    assert.equal((await csvOf()).rows.length, 3, "the first time, every row");
    await pause(20);
    await feed("block", [{ topic: "LT-201", payload: 5 }]);
    assert.deepEqual(
      (await csvOf()).rows.slice(1).map((r) => `${r[1]}:${r[2]}`),
      ["recovery:LT-201-H", "recovery:LT-201-HH"],
    );
    await pause(20);
    await helper.unload();
    await load({ source: "history", block: "block", range: "since-mail" });
    assert.deepEqual((await csvOf()).rows.length, 1, "nothing new since the last mail, across a redeploy: the header");
  });

  it("the last N minutes", async () => {
    await load({ source: "history", block: "block", range: "minutes", count: 5 });
    await alarmStory();
    assert.equal((await csvOf()).rows.length, 8);
  });
});

describe("alarm-mail-csv: a block's active alarms", () => {
  it("the alarms in alarm or unacknowledged, most urgent first, their times formatted", async () => {
    await load({ source: "active", block: "block", delimiter: ";", decimalComma: true });
    await feed("block", [
      { topic: "LT-201", payload: 8.5 },
      { topic: "TT-1", payload: -0.5 },
    ]);
    const { rows, file } = await csvOf({}, ";");
    assert.match(file.filename, /^alarm-mail-csv\.filename\.active-/);
    assert.deepEqual(
      rows[0],
      [
        "id",
        "label",
        "priority",
        "state",
        "value",
        "setpoint",
        "condition",
        "topic",
        "triggeredAt",
        "ackedAt",
        "recoveredAt",
        "ackBy",
        "ackVia",
        "comment",
      ].map(h),
    );
    assert.deepEqual(
      rows.slice(1).map((r) => [r[0], r[3], r[4], r[5], r[6]]),
      [
        ["LT-201-HH", "unacked", "8,5", "8", "high"],
        ["LT-201-H", "unacked", "8,5", "6", "high"],
        ["TT-1-L", "unacked", "-0,5", "0", "low"],
      ],
    );
    assert.ok(rows.slice(1).every((r) => LOCAL_TIME.test(r[8]) && r[9] === "" && r[11] === ""));
  });

  it("an alarm acknowledged on the link's page shows the comment typed there, across a redeploy", async () => {
    await load({ source: "active", block: "block", columns: ["id", "state", "ackBy", "ackVia", "comment"] });
    await feed("block", [{ topic: "LT-201", payload: 9 }]);
    const block = () => (helper.getNode("block") as unknown as BlockNodeObject).alarmBlock;
    const occurrence = (id: string) => String(block().alarm(id)?.occurrence);
    const link = { user: "ana@plant.example", via: "link", comment: '=1+2 valve closed,\n"level falling"' } as const;
    assert.equal(await block().acknowledgeOccurrence("LT-201-H", occurrence("LT-201-H"), link), "acked");
    const mail = { user: "ion@plant.example", via: "mail" } as const;
    assert.equal(await block().acknowledgeOccurrence("LT-201-HH", occurrence("LT-201-HH"), mail), "acked");
    const expected = [
      ["id", "state", "ackBy", "ackVia", "comment"].map(h),
      ["LT-201-HH", "acked", "ion@plant.example", "mail", ""],
      // On one line, as in the history; a formula neutralised as in every cell.
      ["LT-201-H", "acked", "ana@plant.example", "link", `'=1+2 valve closed, "level falling"`],
    ];
    assert.deepEqual((await csvOf()).rows, expected);
    // The comment is read from the history on disk, as the ack's state is read from the block's snapshot.
    await helper.unload();
    await load({ source: "active", block: "block", columns: ["id", "state", "ackBy", "ackVia", "comment"] });
    assert.deepEqual((await csvOf()).rows, expected);
  });
});

describe("alarm-mail-csv: a trace log", () => {
  it("process samples: time, topic, value; an object of values gives a row per topic", async () => {
    await load({ source: "trace", trace: "trace-samples", filename: "{{trace}}" });
    await feed("trace-samples", [
      { topic: "LT-201", payload: 6.2 },
      { payload: { "LT-201": 6.4, "PT-7": "=1+2", "XV-1": true } },
    ]);
    const { rows, file } = await csvOf();
    assert.equal(file.filename, "Basin 2.csv");
    assert.deepEqual(
      rows.map((r) => r.slice(1)),
      [
        [h("topic"), h("value")],
        ["LT-201", "6.2"],
        ["LT-201", "6.4"],
        ["PT-7", "'=1+2"],
        ["XV-1", "true"],
      ],
    );
  });

  it("operator actions: time, user, control, previous value, value", async () => {
    await load({ source: "trace", trace: "trace-operator", delimiter: ";" });
    await feed("trace-operator", [
      { user: "jean.dupont", control: "SP-201", previous: 6, payload: 6.5 },
      { user: "marie", topic: "Pump 2", previous: "stop", payload: "start" },
    ]);
    const { rows } = await csvOf({}, ";");
    assert.deepEqual(
      rows.map((r) => r.slice(1)),
      [
        [h("user"), h("control"), h("previous"), h("value")],
        ["jean.dupont", "SP-201", "6", "6.5"],
        ["marie", "Pump 2", "stop", "start"],
      ],
    );
  });

  it("interval sampling: one row per instant, one column per topic", async () => {
    await load({ source: "trace", trace: "trace-interval", dateFormat: "epoch" });
    await feed("trace-interval", [
      { topic: "a", payload: 1 },
      { topic: "b", payload: 2 },
    ]);
    await pause(2100);
    const { rows } = await csvOf();
    assert.deepEqual(rows[0], [h("time"), "a", "b"]);
    assert.ok(rows.length >= 2, "a row a second");
    for (const row of rows.slice(1)) {
      assert.equal(Number(row[0]) % 1000, 0, "on round seconds");
      assert.deepEqual(row.slice(1), ["1", "2"]);
    }
  });

  it("a bad value is refused by the trace node with done(err)", async () => {
    await load({ source: "trace", trace: "trace-samples" });
    const errors: string[] = [];
    (helper.getNode("trace-samples") as unknown as EventEmitter).on("call:error", (call: { args: unknown[] }) =>
      errors.push(String((call.args[0] as Error).message ?? call.args[0])),
    );
    await feed("trace-samples", [{ topic: "LT-201", payload: [1, 2] }, { payload: 3 }]);
    assert.deepEqual(
      errors,
      ["trace-value-invalid", "trace-topic-missing"].map(
        (code) => `@alarm-mail/node-red/alarm-mail-trace:errors.${code}`,
      ),
    );
  });
});

describe("alarm-mail-csv: rows in msg.payload", () => {
  it("objects: a header of their keys; arrays: as they are", async () => {
    await load({ source: "payload", delimiter: ";", decimalComma: true, bom: false });
    const objects = await csvOf(
      {
        payload: [
          { tag: "LT-201", value: 6.5 },
          { tag: "@cmd", value: -1.25, note: "x" },
        ],
      },
      ";",
    );
    assert.deepEqual(objects.rows, [
      ["tag", "value", "note"],
      ["LT-201", "6,5", ""],
      ["'@cmd", "-1,25", "x"],
    ]);
    assert.match(objects.file.filename, /^alarm-mail-csv\.filename\.payload-/);
    const arrays = await csvOf(
      {
        payload: [
          ["Tag", "Value"],
          ["LT-201", 6.5],
        ],
      },
      ";",
    );
    assert.deepEqual(arrays.rows, [
      ["Tag", "Value"],
      ["LT-201", "6,5"],
    ]);
  });

  it("keys chosen in the node", async () => {
    await load({ source: "payload", columns: ["value", "tag"] });
    const { rows } = await csvOf({ payload: [{ tag: "LT-201", value: 6.5, secret: "x" }] });
    assert.deepEqual(rows, [
      ["value", "tag"],
      ["6.5", "LT-201"],
    ]);
  });
});

describe("alarm-mail-csv: errors never hold the alarm mail back", () => {
  const failing = async (csv: Record<string, unknown>, msg: Record<string, unknown>, code: string) => {
    await load(csv);
    const result = await attach({ ...msg, attachments: [] });
    assert.ok(result.msg, "the msg is passed on");
    const out = result.msg as Out & { csvError?: { code: string; message: string } };
    assert.deepEqual(out.csvError, { code, message: CSV_ERRORS + code });
    assert.deepEqual(out.attachments, [], "without the file");
    assert.equal(result.status?.fill, "yellow");
    await helper.unload();
  };

  it("a block or a trace that is not deployed", async () => {
    await failing({ source: "history", block: "nope" }, {}, "csv-block-missing");
    await failing({ source: "active", block: "trace-samples" }, {}, "csv-block-missing");
    await failing({ source: "trace", trace: "block" }, {}, "csv-trace-missing");
  });

  it("a payload that is not rows", async () => {
    await failing({ source: "payload" }, { payload: "a,b" }, "csv-payload-not-rows");
    await failing({ source: "payload" }, { payload: [{ a: 1 }, 2] }, "csv-payload-invalid");
  });

  it("a file name that would be a path or a header", async () => {
    await failing({ source: "payload", filename: "{{topic}}" }, { payload: [], topic: "../x" }, "csv-filename-invalid");
    await failing(
      { source: "payload", filename: "{{topic}}" },
      { payload: [], topic: "a\r\nb" },
      "csv-filename-invalid",
    );
  });

  it("a configuration that cannot work is said at deploy and at each msg", async () => {
    await failing({ source: "history", block: "block", delimiter: ",", decimalComma: true }, {}, "csv-config-invalid");
    await failing({ source: "trace", trace: "trace-operator", columns: ["topic"] }, {}, "csv-columns-empty");
  });
});

describe("alarm-mail-csv → alarm-mail-send: the CSV travels in the mail", () => {
  const sinks: SmtpSink[] = [];
  afterEach(async () => {
    await Promise.all(sinks.splice(0).map((s) => s.close()));
  });

  async function mailFlow(server: Record<string, unknown> = {}): Promise<SmtpSink> {
    const smtp = new SmtpSink({ starttls: false });
    sinks.push(smtp);
    await smtp.listen();
    await loadMailFlow(smtp.port, {
      server,
      modules: ["alarm-mail-csv"],
      extraNodes: [
        {
          id: "csv",
          z: "tab",
          type: "alarm-mail-csv",
          source: "payload",
          delimiter: ";",
          decimalComma: true,
          filename: "report-{{topic}}",
          wires: [["send"]],
        },
      ],
    });
    return smtp;
  }

  function through(
    msg: Record<string, unknown>,
  ): Promise<{ output: 1 | 2; msg: NodeMessage & Record<string, unknown> }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no output from alarm-mail-send")), 15_000);
      const done = (output: 1 | 2) => (out: NodeMessage & Record<string, unknown>) => {
        clearTimeout(timer);
        resolve({ output, msg: out });
      };
      helper.getNode("ok").once("input", done(1));
      helper.getNode("failed").once("input", done(2));
      helper.getNode("csv").receive(msg as NodeMessage);
    });
  }

  const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ tag: `LT-${i}`, value: i / 4 }));

  it("the mail carries the CSV as an attachment, byte for byte", async () => {
    const smtp = await mailFlow();
    const out = await through({ topic: "Basin2", payload: rows(3) });
    assert.equal(out.output, 1);
    const [mail] = await smtp.waitFor(1);
    const parsed = await mail.parse();
    assert.equal(parsed.attachments.length, 1);
    const [file] = parsed.attachments;
    assert.equal(file.filename, "report-Basin2.csv");
    assert.equal(file.contentType, "text/csv");
    assert.ok(file.content.subarray(0, 3).equals(BOM));
    assert.deepEqual(parse(file.content, { delimiter: ";", bom: true }), [
      ["tag", "value"],
      ["LT-0", "0"],
      ["LT-1", "0,25"],
      ["LT-2", "0,5"],
    ]);
  });

  it("a CSV over the server's attachment size is refused by the send node, with the size and the limit", async () => {
    const smtp = await mailFlow({ maxAttachmentKB: 1 });
    const out = await through({ topic: "Big", payload: rows(200) });
    assert.equal(out.output, 2);
    const error = out.msg.error as { message: string; code?: string };
    assert.equal(error.code, "limit-attachment-size");
    assert.equal(error.message, "@alarm-mail/node-red/alarm-mail-server:errors.limit-attachment-size");
    assert.equal(smtp.received.length, 0);
  });

  it("the CSV counts against the server's number of attachments", async () => {
    const smtp = await mailFlow({ maxAttachments: 1 });
    const out = await through({ topic: "Two", payload: rows(1), attachments: [{ filename: "a.txt", content: "a" }] });
    assert.equal(out.output, 2);
    assert.equal((out.msg.error as { code: string }).code, "limit-attachments");
    assert.equal(smtp.received.length, 0);
  });
});
