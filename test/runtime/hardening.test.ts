import assert from "node:assert/strict";
import type { EventEmitter } from "node:events";
import type { AddressInfo } from "node:net";
import { after, afterEach, beforeEach, describe, it } from "node:test";
import type { NodeMessage, NodeStatus } from "node-red";
import { SMTPServer } from "smtp-server";
import { SmtpSink } from "../../dev/SmtpSink";
import { HIGH } from "../support/alarms";
import { builtNode, deliver, helper, loadMailFlow, until, type FlowNode, type RuntimeSettings } from "../support/flows";
import { tempDir } from "../support/tempDir";

/**
 * The faults of issue 19, one test each, in a Node-RED runtime (the test helper's: its RED._ gives back catalogue
 * keys, so errors are checked by key here; test/runtime/bad-input.test.ts checks the words in a real Node-RED).
 */

const BLOCK_ERRORS = "@alarm-mail/node-red/alarm-mail-block:errors.";
const SERVER_ERRORS = "@alarm-mail/node-red/alarm-mail-server:errors.";
const CSV_ERRORS = "@alarm-mail/node-red/alarm-mail-csv:errors.";

let dataDir: string;
const sinks: SmtpSink[] = [];

async function sink(options: ConstructorParameters<typeof SmtpSink>[0] = {}): Promise<SmtpSink> {
  const s = new SmtpSink({ starttls: false, ...options });
  sinks.push(s);
  await s.listen();
  return s;
}

beforeEach(() => {
  dataDir = tempDir("alarm-mail-harden-");
});
afterEach(async () => {
  await helper.unload();
  await Promise.all(sinks.splice(0).map((s) => s.close()));
});
after(() => helper.stopServer?.());

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Probe {
  events: Array<NodeMessage & { event?: string; alarm?: { id: string; state: string } }>;
  errors: string[];
  warnings: string[];
  statuses: NodeStatus[];
}

function probeNode(id: string, out?: string): Probe {
  const probe: Probe = { events: [], errors: [], warnings: [], statuses: [] };
  const node = helper.getNode(id) as unknown as EventEmitter;
  const text = (call: { args: unknown[] }) => {
    const first = call.args[0];
    return first instanceof Error ? first.message : String(first);
  };
  node.on("call:error", (call: { args: unknown[] }) => probe.errors.push(text(call)));
  node.on("call:warn", (call: { args: unknown[] }) => probe.warnings.push(text(call)));
  node.on("call:status", (call: { args: [NodeStatus] }) => probe.statuses.push(call.args[0]));
  if (out) helper.getNode(out).on("input", (msg) => probe.events.push(msg as Probe["events"][number]));
  return probe;
}

async function loadBlock(alarms: object[]): Promise<Probe> {
  const runtime: RuntimeSettings = { alarmMail: { dataDir } };
  helper.settings(runtime);
  const flow: FlowNode[] = [
    { id: "tab", type: "tab", label: "hardening" },
    { id: "block", z: "tab", type: "alarm-mail-block", block: 1, alarms, wires: [["out"]] },
    { id: "out", z: "tab", type: "helper" },
  ];
  await helper.load([builtNode("alarm-mail-block")], flow);
  return probeNode("block", "out");
}

async function toBlock(msg: Record<string, unknown>): Promise<void> {
  helper.getNode("block").receive(msg as NodeMessage);
  await pause(20);
}

describe("fault 1: a shelve duration that is not a time", () => {
  for (const duration of [1e300, 1e16, "1e16", -5, Number.NaN]) {
    it(`${String(duration)} is refused before anything changes, and the block keeps working`, async () => {
      const probe = await loadBlock([HIGH]);
      await toBlock({ topic: "LT-201", payload: 7 });
      await toBlock({ command: "shelve", alarm: "LT-201-H", duration });
      assert.deepEqual(probe.errors, [`${BLOCK_ERRORS}duration-invalid`]);
      assert.deepEqual(
        probe.events.map((e) => e.event),
        ["trigger"],
        "no shelve event",
      );
      await toBlock({ command: "status", alarm: "*" });
      await toBlock({ command: "ack", alarm: "LT-201-H" });
      assert.deepEqual(probe.errors, [`${BLOCK_ERRORS}duration-invalid`], "status and ack still answer");
      const status = probe.events[1] as unknown as { alarms: Array<{ state: string }> };
      assert.equal(status.alarms[0].state, "unacked");
      assert.equal(probe.events[2].event, "ack");
    });
  }

  it("the longest duration accepted is ten years; the shelve event says until when", async () => {
    const probe = await loadBlock([HIGH]);
    await toBlock({ command: "shelve", alarm: "LT-201-H", duration: 10 * 365 * 86_400_000 });
    assert.deepEqual(probe.errors, []);
    assert.match(
      String(probe.events[0].alarm && (probe.events[0].alarm as Record<string, unknown>).shelvedUntil),
      /^20/,
    );
  });
});

describe("fault 7: values a block cannot evaluate", () => {
  it("on a watched topic: an error a Catch node sees (done(err)), naming the value; nothing changes", async () => {
    const probe = await loadBlock([HIGH]);
    for (const payload of [Number.NaN, Number.POSITIVE_INFINITY, "warm", null, { level: 7 }]) {
      await toBlock({ topic: "LT-201", payload });
    }
    assert.deepEqual(probe.errors, Array(5).fill(`${BLOCK_ERRORS}value-invalid`));
    assert.deepEqual(probe.warnings, []);
    assert.deepEqual(probe.events, []);
  });

  it("one bad tag of a whole PLC read is an error too, and the good tags of that read still count", async () => {
    const probe = await loadBlock([HIGH, { ...HIGH, id: "LT-202-H", topic: "LT-202" }]);
    await toBlock({ payload: { "LT-201": "warm", "LT-202": 9 } });
    assert.deepEqual(probe.errors, [`${BLOCK_ERRORS}value-invalid`]);
    assert.deepEqual(
      probe.events.map((e) => e.alarm?.id),
      ["LT-202-H"],
    );
  });

  it("unknown topics are a count in the status, never a warning per msg", async () => {
    const probe = await loadBlock([HIGH]);
    for (let i = 0; i < 5; i++) await toBlock({ topic: `XX-${i}`, payload: 1 });
    assert.deepEqual(probe.warnings, []);
    assert.deepEqual(probe.errors, []);
    // Statuses are throttled (a few a second): the count shows at the next one.
    await until(() => /^alarm-mail-block\.status\.unwatched$/.test(String(probe.statuses.at(-1)?.text)), "the count");
  });
});

describe("fault 2 and 3: admin requests", () => {
  async function loadServer(): Promise<SmtpSink> {
    const smtp = await sink();
    await loadMailFlow(smtp.port, { userDir: dataDir });
    return smtp;
  }

  it("purge with ids that are not a list is a 400 that purges nothing", async () => {
    await loadServer();
    assert.equal((await deliver({ topic: "kept", payload: "in the sent log" })).output, 1);
    for (const ids of ["an-id", 42, { 0: "x" }, null, [1, 2]]) {
      const res = await helper.request().post("/alarm-mail/outbox/server/purge").send({ ids });
      assert.equal(res.status, 400, JSON.stringify(ids));
      assert.equal(res.body.ok, false);
      assert.equal(res.body.message, `${SERVER_ERRORS}request-invalid`);
    }
    const view = await helper.request().get("/alarm-mail/outbox");
    assert.equal(view.body.servers[0].sent.length, 1, "the sent log is whole");
  });

  for (const id of ["__proto__", "constructor", "toString", "hasOwnProperty"]) {
    it(`"${id}" as a route id is an unknown server, never an internal error`, async () => {
      await loadServer();
      const checks = [
        helper.request().post(`/alarm-mail/outbox/${id}/purge`).send({}),
        helper.request().post(`/alarm-mail/outbox/${id}/resend`).send({ id: "x" }),
        helper.request().get(`/alarm-mail-server/${id}/oauth/status`),
        helper.request().post(`/alarm-mail-server/${id}/verify`).send({}),
      ];
      for (const res of await Promise.all(checks)) {
        assert.equal(res.status, 404, res.text);
        assert.doesNotMatch(res.text, /TypeError|Cannot read|undefined/);
      }
    });
  }
});

describe("fault 4: errors that name the real problem", () => {
  it("an object in msg.topic is not a subject; an object in msg.to is not an address", async () => {
    const smtp = await sink();
    await loadMailFlow(smtp.port, { userDir: dataDir });
    const topic = await deliver({ topic: { text: "x" }, payload: "body" } as unknown as NodeMessage);
    assert.equal(topic.msg.error?.code, "field-type");
    assert.equal(topic.error, `${SERVER_ERRORS}field-type`);
    const to = await deliver({ to: { address: "a@b.example" }, topic: "t", payload: "b" } as unknown as NodeMessage);
    assert.equal(to.msg.error?.code, "field-type");
    assert.equal(smtp.received.length, 0);
  });
});

describe("fault 6: attachment names", () => {
  for (const filename of ["../../etc/passwd", "a/b.txt", "C:\\boot.ini", "..", "x\u0000.txt"]) {
    it(`${JSON.stringify(filename)} is refused by the send node, as the CSV node refuses it`, async () => {
      const smtp = await sink();
      await loadMailFlow(smtp.port, { userDir: dataDir });
      const out = await deliver({
        topic: "t",
        payload: "b",
        attachments: [{ filename, content: "x" }],
      } as unknown as NodeMessage);
      assert.equal(out.output, 2);
      assert.equal(out.msg.error?.code, "attachment-name");
      assert.equal(smtp.received.length, 0);
    });
  }
});

async function loadCsv(settings: Record<string, unknown>): Promise<void> {
  const runtime: RuntimeSettings = { alarmMail: { dataDir } };
  helper.settings(runtime);
  const flow: FlowNode[] = [
    { id: "tab", type: "tab", label: "csv" },
    { id: "csv", z: "tab", type: "alarm-mail-csv", wires: [["out"]], ...settings },
    { id: "out", z: "tab", type: "helper" },
  ];
  await helper.load([builtNode("alarm-mail-csv")], flow);
}

describe("fault 8: a CSV export that fails does not block the alarm mail", () => {
  it("the msg goes on with msg.csvError and a yellow status, without the file", async () => {
    await loadCsv({ source: "history", block: "gone" });
    const probe = probeNode("csv", "out");
    helper.getNode("csv").receive({ topic: "ALARM", payload: "level high" } as NodeMessage);
    await until(() => probe.events.length === 1, "the msg on the output");
    const out = probe.events[0] as NodeMessage & {
      csvError?: { message: string; code: string };
      attachments?: unknown;
    };
    assert.equal(out.csvError?.code, "csv-block-missing");
    assert.equal(out.csvError?.message, `${CSV_ERRORS}csv-block-missing`);
    assert.equal(out.attachments, undefined);
    assert.equal(probe.statuses.at(-1)?.fill, "yellow");
    assert.deepEqual(
      probe.errors,
      [`${CSV_ERRORS}csv-block-missing`],
      "said once, at deploy; the msg gives no done(err): a Catch node would not stop the mail, but nothing is lost",
    );
    assert.equal(out.topic, "ALARM");
  });

  it("rows in msg.payload that are not a list say what msg.payload is", async () => {
    await loadCsv({ source: "payload" });
    const probe = probeNode("csv", "out");
    helper.getNode("csv").receive({ payload: "level high" } as NodeMessage);
    await until(() => probe.events.length === 1, "the msg on the output");
    const out = probe.events[0] as NodeMessage & { csvError?: { code: string } };
    assert.equal(out.csvError?.code, "csv-payload-not-rows");
  });
});

describe("fault 5: the server's login, names and priority", () => {
  it("Test connection with a user, on a server that offers no login, says the login never happened", async () => {
    const smtp = await sink();
    await loadMailFlow(smtp.port, { userDir: dataDir });
    const res = await helper
      .request()
      .post("/alarm-mail-server/new-server/verify")
      .send({
        config: { host: "127.0.0.1", port: smtp.port, security: "none", auth: "plain", from: "gw@plant.example" },
        credentials: { user: "gateway", password: "secret" },
      });
    assert.equal(res.body.ok, false, JSON.stringify(res.body));
    assert.equal(res.body.code, "smtp-auth-not-offered");
    assert.doesNotMatch(JSON.stringify(res.body), /secret/);
  });

  it("an address with a single-label domain is delivered", async () => {
    const smtp = await sink();
    await loadMailFlow(smtp.port, { userDir: dataDir });
    const out = await deliver({ to: "ops@localhost", topic: "t", payload: "b" } as NodeMessage);
    assert.equal(out.output, 1, out.msg.error?.message);
    assert.deepEqual((await smtp.waitFor(1))[0].to, ["ops@localhost"]);
  });

  it("the EHLO name is the one configured", async () => {
    const names: string[] = [];
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS", "AUTH"],
      logger: false,
      onData(stream, session, callback) {
        names.push(session.hostNameAppearsAs);
        stream.resume();
        stream.on("end", () => callback());
      },
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const port = (server.server.address() as AddressInfo).port;
      await loadMailFlow(port, { userDir: dataDir, server: { ehloName: "gw-07.plant.example" } });
      assert.equal((await deliver({ topic: "t", payload: "b" } as NodeMessage)).output, 1);
      assert.deepEqual(names, ["gw-07.plant.example"]);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("an urgent alarm (priority 1) is a high-priority mail: X-Priority and Importance", async () => {
    const smtp = await sink();
    await loadMailFlow(smtp.port, { userDir: dataDir });
    await deliver({ topic: "urgent", payload: "b", alarm: { priority: 1 } } as NodeMessage);
    await deliver({ topic: "routine", payload: "b", alarm: { priority: 3 } } as NodeMessage);
    const raws = (await smtp.waitFor(2)).map((m) => m.raw.toString());
    const urgent = raws.find((raw) => /^Subject: urgent$/m.test(raw)) ?? "";
    const routine = raws.find((raw) => /^Subject: routine$/m.test(raw)) ?? "";
    assert.match(urgent, /^X-Priority: 1 \(Highest\)$/m);
    assert.match(urgent, /^Importance: High$/m);
    assert.doesNotMatch(routine, /^(X-Priority|Importance):/m);
  });
});
