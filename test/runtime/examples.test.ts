import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parse } from "csv-parse/sync";
import type { ParsedMail } from "mailparser";
import { SmtpSink } from "../../dev/SmtpSink";
import { CHROMIUM, decodePng, NO_CHROMIUM, pixel, pngSize } from "../support/images";
import { NodeRedProcess } from "../support/NodeRedProcess";
import { until } from "../support/until";

type FlowNode = { id: string; type: string; [key: string]: unknown };
const LIBRARY = "/library/examples/flows/@alarm-mail/node-red";

const props = (node: FlowNode) => (node.props as Array<{ p: string }> | undefined) ?? [];

/** Whether a msg leaving `from` can reach a node of `type` along the wires. */
function reaches(flow: FlowNode[], from: FlowNode, type: string): boolean {
  const byId = new Map(flow.map((n) => [n.id, n]));
  const seen = new Set<string>();
  const next = [from];
  for (let node = next.pop(); node; node = next.pop()) {
    for (const id of ((node.wires as string[][] | undefined) ?? []).flat()) {
      const target = byId.get(id);
      if (!target || seen.has(id)) continue;
      if (target.type === type) return true;
      seen.add(id);
      next.push(target);
    }
  }
  return false;
}

/**
 * The injects that make an example mail: in an example with an alarm block, those that feed process values into the
 * block (commands such as an ack are left out), clicked in their order in the flow; otherwise the first one that a
 * user clicks (no repeat, no schedule) to send a mail, preferring one that sends a ready-made alarm msg.
 */
function alarmSimulators(flow: FlowNode[]): FlowNode[] {
  const injects = flow.filter((n) => n.type === "inject");
  const blocks = new Set(flow.filter((n) => n.type === "alarm-mail-block").map((n) => n.id));
  if (blocks.size === 0) {
    const clicked = injects.filter((n) => !n.repeat && !n.crontab && reaches(flow, n, "alarm-mail-send"));
    const alarms = clicked.filter((n) => props(n).some((p) => p.p === "alarm"));
    return (alarms.length > 0 ? alarms : clicked).slice(0, 1);
  }
  return injects.filter(
    (n) =>
      (n.wires as string[][]).some((targets) => targets.some((id) => blocks.has(id))) &&
      !props(n).some((p) => p.p === "command"),
  );
}

function named(flow: FlowNode[], type: string, name: string): FlowNode {
  const found = flow.filter((n) => n.type === type && n.name === name);
  assert.equal(found.length, 1, `one ${type} named "${name}"`);
  return found[0];
}

/** The CSV files attached to a mail, as rows of cells (the examples write semicolons and a byte order mark). */
function csvAttachments(mail: ParsedMail): string[][][] {
  return mail.attachments
    .filter((a) => a.contentType === "text/csv")
    .map((a) => {
      assert.match(a.filename ?? "", /\.csv$/);
      return parse(a.content, { delimiter: ";", bom: true }) as string[][];
    });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("examples, as Import > Examples serves them", () => {
  let red: NodeRedProcess;
  let smtp: SmtpSink;
  let names: string[];

  before(async () => {
    smtp = new SmtpSink({ starttls: false });
    await smtp.listen();
    red = await NodeRedProcess.start();
    names = ((await (await red.request("GET", LIBRARY)).json()) as Array<{ fn: string }>).map((e) => e.fn);
  });
  after(async () => {
    await red.stop();
    await smtp.close();
  });

  const load = async (name: string) =>
    (await (await red.request("GET", encodeURI(`${LIBRARY}/${name}`))).json()) as FlowNode[];

  const onTab = (flow: FlowNode[], label: string) => [
    { id: "tab1", type: "tab", label },
    ...flow.map((n) => ({ z: "tab1", ...n })),
  ];

  /**
   * The example as it runs beside this test runtime rather than beside `npm start`: the capture server's port, and
   * the pages of the local Node-RED (127.0.0.1:1880) at this runtime's port.
   */
  const forTestRuntime = (flow: FlowNode[]): FlowNode[] =>
    flow.map((node) => {
      if (node.type === "alarm-mail-server" && node.host === "127.0.0.1") {
        const ackBaseUrl = typeof node.ackBaseUrl === "string" ? node.ackBaseUrl : "";
        return { ...node, port: smtp.port, ackBaseUrl: ackBaseUrl.replace(/^http:\/\/127\.0\.0\.1:1880$/, red.url) };
      }
      if (node.type === "alarm-mail-screenshot" && typeof node.url === "string") {
        return { ...node, url: node.url.replace(/^http:\/\/127\.0\.0\.1:1880(?=\/)/, red.url) };
      }
      return node;
    });

  /**
   * Deploys an example on its own, with fresh state: an empty deploy first removes the nodes of the previous one (a
   * removed block or trace deletes its saved state). Resolves once its server nodes have started.
   */
  const deployExample = async (name: string): Promise<FlowNode[]> => {
    const flow = await load(name);
    await red.deploy([]);
    await red.deploy(onTab(forTestRuntime(flow), name));
    const servers = flow.filter((n) => n.type === "alarm-mail-server").map((n) => n.id);
    await until(
      async () => {
        const { servers: started } = (await (await red.request("GET", "/alarm-mail/outbox")).json()) as {
          servers: Array<{ id: string }>;
        };
        return servers.every((id) => started.some((s) => s.id === id));
      },
      `the servers of ${name} have started`,
      15_000,
    );
    return flow;
  };

  /** The first mail received at or after index `from` that `match` accepts, with its index. */
  const mailFrom = async (
    from: number,
    match: (mail: ParsedMail) => boolean,
    timeoutMs = 20_000,
  ): Promise<{ mail: ParsedMail; index: number; receivedAt: Date }> => {
    const deadline = Date.now() + timeoutMs;
    for (let index = from; ; index++) {
      const received = (await smtp.waitFor(index + 1, Math.max(1, deadline - Date.now())))[index];
      const mail = await received.parse();
      if (match(mail)) return { mail, index, receivedAt: received.receivedAt };
    }
  };

  it("has an example for every node type", async () => {
    const types = new Set<string>();
    for (const name of names) for (const node of await load(name)) types.add(node.type);
    const declared = (
      JSON.parse(readFileSync(join(__dirname, "..", "..", "package.json"), "utf8")) as {
        "node-red": { nodes: Record<string, string> };
      }
    )["node-red"].nodes;
    for (const type of Object.keys(declared)) {
      assert.ok(types.has(type), `no example uses ${type}`);
    }
  });

  it("deploys each example, and runs it for a while, without an error or a warning", async () => {
    assert.ok(names.length >= 3);
    for (const name of names) {
      const flow = await load(name);
      const logStart = red.output.length;
      await red.deploy(onTab(flow, name));
      // Long enough for the injects that fire once at start and the first round of those that repeat.
      const firstRound = Math.max(
        0.3,
        ...flow.map((n) => (n.type === "inject" ? Number(n.repeat || n.onceDelay) || 0 : 0)),
      );
      await new Promise((resolve) => setTimeout(resolve, Math.min(firstRound, 6) * 1000 + 500));
      const log = red.output.slice(logStart);
      assert.doesNotMatch(log, /\[(error|warn)\]/, `${name}:\n${log}`);
    }
  });

  it("sends the mail each capture-server example describes", async () => {
    for (const name of names) {
      const flow = await load(name);
      if (!flow.some((n) => n.type === "alarm-mail-server" && n.host === "127.0.0.1")) continue;
      await red.deploy(onTab(forTestRuntime(flow), name));
      const before = smtp.received.length;
      const simulators = alarmSimulators(flow);
      assert.ok(simulators.length > 0, `${name} has an inject that simulates an alarm`);
      await new Promise((resolve) => setTimeout(resolve, 300));
      for (const inject of simulators) {
        assert.equal((await red.request("POST", `/inject/${inject.id}`)).status, 200);
      }
      const [mail] = (await smtp.waitFor(before + 1)).slice(before);
      assert.ok((await mail.parse()).subject, `${name}: the mail has a subject`);
    }
  });

  it("Wastewater plant: mails trigger and recovery, each with the alarm history as CSV, and not the acknowledge", async () => {
    const logStart = red.output.length;
    const flow = await deployExample("Wastewater plant with alarm history CSV");
    const click = (name: string) => red.inject(named(flow, "inject", name).id);
    const start = smtp.received.length;
    /** The body template names the alarm and the event: "Alarm B-201-FLT, priority 1, ..." and "Event: trigger at". */
    const about = (id: string, event: string) => (mail: ParsedMail) =>
      (mail.text ?? "").includes(`Alarm ${id},`) && (mail.text ?? "").includes(`Event: ${event} at`);
    const alarms = named(flow, "alarm-mail-block", "WWTP Nord").alarms as Array<{ id: string; label: string }>;
    /** The rows of one alarm in the history CSV of a mail, as [event, user], oldest first. */
    const history = (mail: ParsedMail, id: string) => {
      const csvs = csvAttachments(mail);
      assert.equal(csvs.length, 1, "one CSV attached");
      const rows = csvs[0].slice(1).filter((row) => row.includes(id));
      assert.ok(rows.length > 0, `a history row names ${id}:\n${csvs[0].join("\n")}`);
      const label = alarms.find((alarm) => alarm.id === id)?.label ?? id;
      for (const row of rows) assert.ok(row.includes(label), `the row names the alarm: ${row.join(";")}`);
      return rows.map((row) => [
        row.find((cell) => ["trigger", "ack", "recovery"].includes(cell)),
        row.includes("shift.lead") ? "shift.lead" : "",
      ]);
    };

    await click("Blower B-201 fault");
    const trigger = await mailFrom(start, about("B-201-FLT", "trigger"));
    assert.match(trigger.mail.subject ?? "", /^\[WWTP Nord\] .*Blower B-201 fault/);
    assert.deepEqual(history(trigger.mail, "B-201-FLT"), [["trigger", ""]]);

    await click("Blower B-201 running again");
    const recovery = await mailFrom(trigger.index + 1, about("B-201-FLT", "recovery"));
    assert.deepEqual(history(recovery.mail, "B-201-FLT"), [
      ["trigger", ""],
      ["recovery", ""],
    ]);

    // The acknowledge is recorded (the next mail's CSV has it, with who) but is not mailed itself.
    await click("Operator acknowledges all");
    const pressed = Date.now();
    await click("Inlet level 4.5 m (high-high, high after 5 s)");
    const highHigh = await mailFrom(recovery.index + 1, about("LT-101-HH", "trigger"));
    assert.deepEqual(history(highHigh.mail, "B-201-FLT"), [
      ["trigger", ""],
      ["recovery", ""],
      ["ack", "shift.lead"],
    ]);
    const high = await mailFrom(highHigh.index + 1, about("LT-101-H", "trigger"));
    assert.ok(high.receivedAt.getTime() - pressed >= 4500, "the high alarm waited for its 5 s delay");
    assert.deepEqual(history(high.mail, "LT-101-HH"), [["trigger", ""]]);

    for (const received of smtp.received.slice(start)) {
      assert.doesNotMatch((await received.parse()).text ?? "", /Event: ack/, "no mail for the acknowledge");
    }
    assert.doesNotMatch(red.output.slice(logStart), /\[(error|warn)\]/);
  });

  it("Acknowledge by link: each operator's mail has a link naming them, and its button acknowledges for all", async () => {
    const logStart = red.output.length;
    const flow = await deployExample("Acknowledge by link");
    const start = smtp.received.length;
    const link = /http:\/\/\S+\/alarm-mail\/ack\/[\w.-]+/;
    await red.inject(named(flow, "inject", "Level 8.5 (high-high)").id);
    const withLink = (mail: ParsedMail) => link.test(mail.text ?? "");
    const first = await mailFrom(start, withLink);
    const second = await mailFrom(first.index + 1, withLink);
    const to = (mail: ParsedMail) => (mail.to && !Array.isArray(mail.to) ? mail.to.text : "");
    assert.deepEqual([to(first.mail), to(second.mail)].sort(), ["operator@plant.example", "shift.lead@plant.example"]);

    const url = link.exec(first.mail.text ?? "")?.[0] ?? "";
    assert.ok(url.startsWith(`${red.url}/alarm-mail/ack/`), url);
    const page = await (await fetch(url)).text();
    assert.match(page, new RegExp(`You acknowledge as ${to(first.mail).replace(".", "\\.")}`));
    const done = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "comment=checked+on+site",
    });
    assert.equal(done.status, 200);
    const ack = (mail: ParsedMail) => /Comment: checked on site/.test(mail.text ?? "");
    const confirmation = await mailFrom(second.index + 1, ack);
    await mailFrom(confirmation.index + 1, ack);
    assert.match(confirmation.mail.text ?? "", new RegExp(`acknowledged by ${to(first.mail).replace(".", "\\.")}`));
    assert.doesNotMatch(confirmation.mail.text ?? "", link, "the ack's mail has no link");
    assert.doesNotMatch(red.output.slice(logStart), /\[(error|warn)\]/);
  });

  it("Microsoft 365: deploys without an error or a warning, not signed in yet, for a device code sign-in", async () => {
    const name = "Microsoft 365 gateway with a device code";
    const flow = await load(name);
    const server = flow.find((n) => n.type === "alarm-mail-server");
    assert.ok(server);
    assert.equal(server.host, "smtp.office365.com");
    assert.equal(server.port, 587);
    assert.match(String(server.security), /starttls/);
    assert.equal(server.auth, "oauth2");
    assert.equal(server.oauthFlow, "device_code");
    assert.match(String(server.deviceUrl), /^https:\/\/login\.microsoftonline\.com\/[^/]+\/oauth2\/v2\.0\/devicecode$/);
    assert.match(String(server.tokenUrl), /^https:\/\/login\.microsoftonline\.com\/[^/]+\/oauth2\/v2\.0\/token$/);
    assert.match(String(server.scope), /SMTP\.Send/);
    assert.match(String(server.scope), /offline_access/);
    // No secret travels with the example: at most the mailbox and the (public) client id, as placeholders.
    const credentials = (server.credentials ?? {}) as Record<string, unknown>;
    assert.deepEqual(
      Object.keys(credentials).filter((key) => !["user", "clientId"].includes(key)),
      [],
    );
    const send = flow.find((n) => n.type === "alarm-mail-send");
    assert.equal(send?.server, server.id, "the alarm flow sends through it");

    const logStart = red.output.length;
    await deployExample(name);
    await sleep(300);
    assert.doesNotMatch(red.output.slice(logStart), /\[(error|warn)\]/);
    const status = await (await red.request("GET", `/alarm-mail-server/${server.id}/oauth/status`)).json();
    assert.deepEqual(status, { ok: true, signIn: { state: "signed-out" } }, "the dialog says: Not signed in");
  });

  it(
    "Daily report: one mail with the trace of the plant values as CSV and the dashboard as PNG",
    { skip: CHROMIUM ? false : NO_CHROMIUM },
    async () => {
      const logStart = red.output.length;
      const flow = await deployExample("Daily report with trace CSV and screenshot");
      const dashboard = async () => (await fetch(`${red.url}/plant-dashboard`)).text();
      // The flow serves the page itself; it shows values once the first PLC read has gone through the trace.
      await until(
        async () => {
          const page = await dashboard();
          return page.includes("Last PLC read:") && !page.includes("no reading yet");
        },
        "the dashboard shows values",
        15_000,
      );
      // The trace writes a row every 10 s, on round times.
      await sleep(10_000 - (Date.now() % 10_000) + 1500);
      const start = smtp.received.length;
      await red.inject(named(flow, "inject", "Send report now").id);
      const { mail } = await mailFrom(start, (m) => /daily report/.test(m.subject ?? ""), 40_000);

      const csvs = csvAttachments(mail);
      assert.equal(csvs.length, 1, "one CSV attached");
      const [header, ...rows] = csvs[0];
      assert.deepEqual(header.slice(1).sort(), ["AIT-201", "FT-101", "LT-101"], "a column per traced value");
      assert.ok(rows.length >= 1, "the trace has rows");
      for (const row of rows) {
        assert.match(row[0], /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
        for (const cell of row.slice(1)) assert.match(cell, /^\d+(,\d+)?$/, "numbers with a decimal comma");
      }

      const pngs = mail.attachments.filter((a) => a.contentType === "image/png");
      assert.equal(pngs.length, 1, `one PNG attached; ${mail.attachments.map((a) => a.contentType).join(", ")}`);
      const shot = named(flow, "alarm-mail-screenshot", "plant dashboard");
      assert.deepEqual(pngSize(pngs[0].content), { width: shot.width, height: shot.height });
      const picture = decodePng(pngs[0].content);
      const near = (colour: [number, number, number], [r, g, b]: [number, number, number]) =>
        Math.abs(colour[0] - r) + Math.abs(colour[1] - g) + Math.abs(colour[2] - b) < 12;
      assert.ok(near(pixel(picture, 10, 10), [0x1f, 0x4e, 0x79]), "the dashboard's header bar");
      const barColumn = Array.from({ length: picture.height }, (_, y) => pixel(picture, 45, y));
      assert.ok(
        barColumn.some((colour) => near(colour, [0x2e, 0x8b, 0x57])),
        "a value's bar: the page was captured with values",
      );

      assert.match(mail.text ?? "", /inflow \d+ m³\/h/, "the body shows the current values");
      assert.doesNotMatch(red.output.slice(logStart), /\[(error|warn)\]/);
    },
  );
});
