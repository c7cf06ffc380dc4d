import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import type { ParsedMail } from "mailparser";
import type { Locator } from "playwright-core";
import { SmtpSink } from "../../dev/SmtpSink";
import { Editor } from "../support/Editor";
import { NodeRedProcess } from "../support/NodeRedProcess";

/** A plant's HMI page on loopback, for the screenshot node to picture: basin 2's level, in alarm. */
class Dashboard {
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async serve(): Promise<Dashboard> {
    const page = `<!doctype html><meta charset="utf-8"><title>Basin 2</title>
      <body style="margin:0;font:16px sans-serif;background:#1f2a33;color:#e8eef2">
      <header style="padding:10px 16px;background:#0f171d;font-weight:bold">Wastewater plant · Basin 2</header>
      <svg viewBox="0 0 640 300" width="100%" height="86%">
        <rect x="40" y="30" width="120" height="240" fill="#2d3b46" stroke="#8aa" />
        <rect x="40" y="${270 - 7.5 * 24}" width="120" height="${7.5 * 24}" fill="#3a8fd6" />
        <line x1="30" x2="170" y1="${270 - 6 * 24}" y2="${270 - 6 * 24}" stroke="#f0a030" stroke-dasharray="6 4" />
        <text x="180" y="${274 - 6 * 24}" fill="#f0a030">H 6.0</text>
        <text x="230" y="80" font-size="28">LT-201  7.5 mg/l</text>
        <rect x="230" y="110" width="300" height="44" rx="6" fill="#c0392b" />
        <text x="246" y="140" font-size="20">ALARM  Basin 2 level high</text>
        <text x="230" y="200" fill="#9fb3c2">Blower B-201  running · O2 2.1 mg/l</text>
      </svg></body>`;
    const server = createServer((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end(page));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return new Dashboard(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/basin-2`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * A user builds an alarm flow in the editor from the palette, the way the README tells it: a level value into an
 * alarm block, the active alarms as CSV, a picture of a page, a mail through a server and a recipient group set up
 * from the send node's dialog; and a trace of the same value. Each dialog marks wrong input before it is fixed; the
 * deployed flow reports in its statuses and delivers the mail to a real SMTP server.
 */
describe("every node, from the palette to a delivered mail, in the Node-RED editor", () => {
  let red: NodeRedProcess;
  let smtp: SmtpSink;
  let editor: Editor;
  let dashboard: Dashboard;
  const ids: Record<string, string> = {};

  before(async () => {
    smtp = new SmtpSink({ starttls: false });
    await smtp.listen();
    dashboard = await Dashboard.serve();
    red = await NodeRedProcess.start({ adminAuth: true });
    editor = await Editor.open(red, { user: "admin" });
  });
  after(async () => {
    await editor?.close();
    await red?.kill();
    await smtp?.close();
    await dashboard?.close();
  });

  /**
   * Shows a received mail as a mail program would, headers, body and attachments (the picture inline), and saves it
   * for the README.
   */
  const showMail = async (mail: ParsedMail, name: string) => {
    const escape = (text: string) =>
      text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c] ?? c);
    const header = (label: string, value: string) => `<tr><th>${label}</th><td>${escape(value)}</td></tr>`;
    const attachments = mail.attachments
      .map((a) =>
        a.contentType.startsWith("image/")
          ? `<figure><img src="data:${a.contentType};base64,${a.content.toString("base64")}"><figcaption>${escape(a.filename ?? "")}</figcaption></figure>`
          : `<p class="file">Attachment: ${escape(a.filename ?? "")} (${a.size} bytes)</p>`,
      )
      .join("");
    const page = await editor.context.newPage();
    await page.setViewportSize({ width: 900, height: 700 });
    await page.setContent(`<!doctype html><meta charset="utf-8"><style>
      body { font: 14px sans-serif; margin: 0; padding: 16px; background: #fff; }
      table { border-collapse: collapse; margin-bottom: 12px; } th { text-align: right; color: #666; padding: 2px 8px 2px 0; }
      .body { border-top: 1px solid #ddd; padding-top: 12px; white-space: pre-wrap; }
      img { max-width: 420px; border: 1px solid #ccc; } figure { margin: 12px 0 0 0; } .file { margin: 12px 0 0 0; }
    </style><table>${header("From", mail.from?.text ?? "")}${header(
      "To",
      [mail.to ?? []]
        .flat()
        .map((a) => a.text)
        .join(", "),
    )}${header("Subject", mail.subject ?? "")}${header("Date", mail.date?.toUTCString() ?? "")}</table>
    <div class="body">${mail.html || escape(mail.text ?? "")}</div>${attachments}`);
    await editor.screenshot(name, page.locator("body"));
    await page.close();
  };

  /** Types into a field and leaves it, as a user does; the dialogs check a field when it changes. */
  const type = async (field: Locator, value: string) => {
    await field.fill(value);
    await field.blur();
  };

  it("places the nodes from the palette; a new send node is marked until it has a server", async () => {
    ids.inject = await editor.drag("inject", 140, 160);
    ids.block = await editor.drag("alarm-mail-block", 340, 160);
    ids.csv = await editor.drag("alarm-mail-csv", 620, 160);
    ids.screenshot = await editor.drag("alarm-mail-screenshot", 340, 260);
    ids.send = await editor.drag("alarm-mail-send", 720, 260);
    ids.trace = await editor.drag("alarm-mail-trace", 340, 360);
    await editor.wire(ids.inject, ids.block);
    await editor.wire(ids.block, ids.csv);
    await editor.wire(ids.csv, ids.screenshot);
    await editor.wire(ids.screenshot, ids.send);
    await editor.wire(ids.inject, ids.trace);

    assert.equal(await editor.marked(ids.send), true, "no server yet");
    // The only block of the flows is the CSV node's block from the start.
    assert.equal(await editor.page.evaluate((id) => window.RED.nodes.node(id)?.block, ids.csv), ids.block);
    assert.equal(await editor.marked(ids.csv), false);
    const refused = await editor.tryDeploy();
    assert.ok(
      refused.some((entry) => entry.includes("alarm-mail-send")),
      `the deploy asks about the send node: ${refused.join(" | ")}`,
    );
  });

  it("inject: a level of 7.5 on the topic LT-201", async () => {
    const tray = await editor.openDialog(ids.inject);
    const rows = tray.locator("#node-input-property-container > li");
    const payload = rows.nth(0).locator(".red-ui-typedInput-container").nth(1);
    await payload.locator(".red-ui-typedInput-type-select").click();
    await editor.page.locator(".red-ui-typedInput-options:visible [value='num']").click();
    await payload.locator("input.red-ui-typedInput-input").fill("7.5");
    await rows
      .nth(1)
      .locator(".red-ui-typedInput-container")
      .nth(1)
      .locator("input.red-ui-typedInput-input")
      .fill("LT-201");
    await editor.done();
    const inject = await editor.page.evaluate((id) => window.RED.nodes.node(id), ids.inject);
    assert.deepEqual([inject?.payload, inject?.payloadType, inject?.topic], ["7.5", "num", "LT-201"]);
  });

  it("alarm-mail-block: an alarm row, with a setpoint that is not a number marked", async () => {
    const tray = await editor.openDialog(ids.block);
    await tray.locator(".red-ui-editableList-addButton").click();
    const row = tray.locator(".red-ui-editableList-item-content").last();
    await type(row.locator(".alarm-mail-block-id"), "LT-201-H");
    await type(row.locator(".alarm-mail-block-label"), "Basin 2 level high");
    await type(row.locator(".alarm-mail-block-topic"), "LT-201");
    await row.locator(".alarm-mail-block-condition").selectOption("high");
    await type(row.locator(".alarm-mail-block-setpoint"), "six");
    assert.equal(await editor.invalid(row.locator(".alarm-mail-block-setpoint")), true);
    await type(row.locator(".alarm-mail-block-setpoint"), "6.0");
    assert.equal(await editor.invalid(row.locator(".alarm-mail-block-setpoint")), false);
    await row.locator(".alarm-mail-block-priority").selectOption("1");
    await editor.screenshot("alarm-mail-block-new");
    await editor.done();
    assert.equal(await editor.marked(ids.block), false);
  });

  it("alarm-mail-csv: marked until a block is chosen; the active alarms of the block", async () => {
    const tray = await editor.openDialog(ids.csv);
    await tray.locator("#node-input-source").selectOption("active");
    await tray.locator("#node-input-block").selectOption(ids.block);
    await editor.done();
    assert.equal(await editor.marked(ids.csv), false);
  });

  it("alarm-mail-screenshot: a URL that is not one is marked", async () => {
    const tray = await editor.openDialog(ids.screenshot);
    await tray.locator("#node-input-mode").selectOption("page");
    await type(tray.locator("#node-input-url"), "plant dashboard");
    assert.equal(await editor.invalid(tray.locator("#node-input-url")), true);
    await type(tray.locator("#node-input-url"), dashboard.url);
    assert.equal(await editor.invalid(tray.locator("#node-input-url")), false);
    await type(tray.locator("#node-input-width"), "99999");
    assert.equal(await editor.invalid(tray.locator("#node-input-width")), true);
    await type(tray.locator("#node-input-width"), "1024");
    await type(tray.locator("#node-input-height"), "640");
    await editor.screenshot("alarm-mail-screenshot-dialog");
    await editor.done();
    assert.equal(await editor.marked(ids.screenshot), false);
  });

  it("alarm-mail-send: a server and a recipient group made from its dialog, each marking wrong input", async () => {
    const page = editor.page;
    await editor.openDialog(ids.send);
    await page.click("#node-input-btn-server-add");
    const server = editor.tray();
    await server.locator("#node-config-input-host").waitFor();
    await type(server.locator("#node-config-input-host"), "127.0.0.1");
    await type(server.locator("#node-config-input-port"), "70000");
    assert.equal(await editor.invalid(server.locator("#node-config-input-port")), true, "a port above 65535");
    await type(server.locator("#node-config-input-port"), String(smtp.port));
    assert.equal(await editor.invalid(server.locator("#node-config-input-port")), false);
    await server.locator("#node-config-input-security").selectOption("none");
    await editor.tab("alarm-mail-server-tab-sender");
    await type(server.locator("#node-config-input-from"), "gateway at plant");
    assert.equal(await editor.invalid(server.locator("#node-config-input-from")), true, "a sender that is no address");
    // Back on another tab, the Sender tab's label stays red while its field is wrong.
    const senderTab = server.locator("#red-ui-tab-alarm-mail-server-tab-sender");
    await editor.tab("alarm-mail-server-tab-connection");
    assert.equal(await senderTab.evaluate((li) => li.classList.contains("alarm-mail-server-tab-error")), true);
    await editor.tab("alarm-mail-server-tab-sender");
    await type(server.locator("#node-config-input-from"), "gateway@plant.test");
    assert.equal(await editor.invalid(server.locator("#node-config-input-from")), false);
    assert.equal(await senderTab.evaluate((li) => li.classList.contains("alarm-mail-server-tab-error")), false);
    await editor.done();

    await page.click("#node-input-btn-recipients-add");
    const group = editor.tray();
    await group.locator("#node-config-input-to").waitFor();
    await type(group.locator("#node-config-input-name"), "Shift team");
    await type(group.locator("#node-config-input-to"), "ops@plant.test; not an address");
    assert.equal(await editor.invalid(group.locator("#node-config-input-to")), true, "a wrong address");
    await type(group.locator("#node-config-input-to"), "ops@plant.test; Shift Lead <lead@plant.test>");
    assert.equal(await editor.invalid(group.locator("#node-config-input-to")), false);
    await type(group.locator("#node-config-input-subject"), "{{alarm.label}}: {{event}}");
    await editor.screenshot("alarm-mail-recipients-dialog");
    await editor.done();

    const send = editor.tray();
    await send.locator("#node-input-name").fill("Mail the shift");
    await editor.screenshot("alarm-mail-send-dialog");
    await editor.done();
    assert.equal(await editor.marked(ids.send), false);
  });

  it("alarm-mail-trace: a sample count of 0 is marked", async () => {
    const tray = await editor.openDialog(ids.trace);
    await type(tray.locator("#node-input-maxRows"), "0");
    assert.equal(await editor.invalid(tray.locator("#node-input-maxRows")), true);
    await type(tray.locator("#node-input-maxRows"), "5000");
    assert.equal(await editor.invalid(tray.locator("#node-input-maxRows")), false);
    await editor.done();
    assert.equal(await editor.page.evaluate((id) => window.RED.nodes.node(id)?.maxRows, ids.trace), "5000");
  });

  it("deploys; the statuses show the block and the trace at rest", async () => {
    await editor.deploy();
    assert.match(await editor.status(ids.block, /0 active/), /^0 active, 0 unack$/);
    assert.match(await editor.status(ids.trace, /rows/), /^0 \/ 5000 rows$/);
  });

  it("the inject raises the alarm: every node reports, and the mail arrives with the CSV and the picture", async () => {
    await editor.press(ids.inject);
    const [mail] = await smtp.waitFor(1);
    assert.deepEqual(mail.to.sort(), ["lead@plant.test", "ops@plant.test"]);
    const parsed = await mail.parse();
    assert.match(parsed.subject ?? "", /^Basin 2 level high: trigger/);
    assert.deepEqual(
      parsed.attachments.map((a) => a.contentType),
      ["text/csv", "image/png"],
      "the CSV, then the picture",
    );
    assert.match(parsed.attachments[0].content.toString("utf8"), /LT-201-H/);

    assert.match(await editor.status(ids.block, /1 active/), /^1 active, 1 unack$/);
    assert.match(await editor.status(ids.csv, /rows/), /^1 rows, \d+ KB$/);
    assert.match(await editor.status(ids.screenshot, /KB/), /KB/);
    assert.match(await editor.status(ids.send, /sent/), /sent/);
    assert.match(await editor.status(ids.trace, /^1 \//), /^1 \/ 5000 rows$/);
    await editor.screenshotNodes("flow-deployed", Object.values(ids));
    await showMail(parsed, "received-mail");
  });
});
