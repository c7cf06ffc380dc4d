import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { SmtpSink } from "../../dev/SmtpSink";
import { Editor } from "../support/Editor";
import { cutTexts, overlaps } from "../support/layout";
import { NodeRedProcess } from "../support/NodeRedProcess";
import { downPort, Sinks } from "../support/smtp";

const SUBJECT = "Basin 2 bacteria level high, LT-201 at 7.5 mg/l since 07:42";

/**
 * A person looks for what happened to the mails: one sent, one refused by the relay, one waiting for a relay that
 * is down. The outbox is a button away in the server's dialog and an entry of the main menu, and reads whole at the
 * sidebar's default width, the details one click further.
 */
describe("the outbox, found and read at the sidebar's default width", () => {
  const sinks = new Sinks();
  let sink: SmtpSink;
  let red: NodeRedProcess;
  let editor: Editor;

  before(async () => {
    sink = await sinks.start({
      onRecipient: (address) =>
        address.startsWith("nobody@") ? { code: 550, message: "5.1.1 Mailbox unavailable" } : undefined,
    });
    const down = await downPort();
    const server = (id: string, name: string, port: number) => ({
      id,
      type: "alarm-mail-server",
      name,
      host: "127.0.0.1",
      port,
      security: "none",
      auth: "none",
      from: "gateway@plant.example",
      connectionTimeout: 2000,
    });
    const inject = (id: string, send: string, y: number) => ({
      id,
      z: "tab",
      type: "inject",
      topic: "",
      payload: "LT-201 7.5 mg/l",
      payloadType: "str",
      props: [{ p: "payload" }],
      x: 100,
      y,
      wires: [[send]],
    });
    const send = (id: string, srv: string, group: string, y: number) => ({
      id,
      z: "tab",
      type: "alarm-mail-send",
      server: srv,
      recipients: group,
      x: 350,
      y,
      wires: [[], []],
    });
    red = await NodeRedProcess.start();
    await red.deploy([
      { id: "tab", type: "tab", label: "plant" },
      server("relay", "Plant relay", sink.port),
      server("spare", "Spare relay", down),
      { id: "ops", type: "alarm-mail-recipients", name: "Operators", to: "operator@plant.example", subject: SUBJECT },
      { id: "gone", type: "alarm-mail-recipients", name: "Old list", to: "nobody@plant.example", subject: SUBJECT },
      inject("i1", "s1", 60),
      inject("i2", "s2", 140),
      inject("i3", "s3", 220),
      send("s1", "relay", "ops", 60),
      send("s2", "relay", "gone", 140),
      send("s3", "spare", "ops", 220),
    ]);
    for (const id of ["i1", "i2", "i3"]) await red.inject(id);
    editor = await Editor.open(red);
  });
  after(async () => {
    await editor?.close();
    await red?.kill();
    await sinks.closeAll();
  });

  it("opens from the server's dialog, with a button", async () => {
    await editor.sidebar("info");
    await editor.openDialog("s1");
    await editor.tray().locator("#node-input-btn-server-edit").click();
    const button = editor.page.locator("#alarm-mail-server-outbox");
    await button.waitFor();
    await button.click();
    await editor.sidebarShows("alarm-mail-outbox");
    await editor.cancel();
    await editor.cancel();
  });

  it("opens from the main menu", async () => {
    await editor.sidebar("info");
    assert.equal(await editor.sidebarShown("alarm-mail-outbox"), false);
    await editor.page.click("#red-ui-header-button-sidemenu");
    await editor.page.hover("#menu-item-view-menu");
    await editor.page.click("#menu-item-alarm-mail-outbox");
    await editor.sidebarShows("alarm-mail-outbox");
  });

  it("shows every mail whole at the default sidebar width, with details on demand", async () => {
    const sidebar = await editor.sidebar("alarm-mail-outbox");
    const relay = sidebar.locator(".alarm-mail-outbox-server", { hasText: "Plant relay" });
    const spare = sidebar.locator(".alarm-mail-outbox-server", { hasText: "Spare relay" });
    await relay.locator(".alarm-mail-outbox-heading-sent", { hasText: "Sent (1)" }).waitFor({ timeout: 30_000 });
    await relay.locator(".alarm-mail-outbox-heading-failed", { hasText: "Failed (1)" }).waitFor({ timeout: 30_000 });
    await spare.locator(".alarm-mail-outbox-heading-queued", { hasText: "Queued (1)" }).waitFor({ timeout: 30_000 });
    assert.ok(
      (await editor.page.locator("#red-ui-sidebar").evaluate((el) => el.getBoundingClientRect().width)) <= 317,
      "the sidebar at its default width",
    );

    const entries = sidebar.locator(".alarm-mail-outbox-entry");
    assert.equal(await entries.count(), 3);
    for (let i = 0; i < 3; i++) {
      const entry = entries.nth(i);
      assert.equal(await entry.locator(".alarm-mail-outbox-subject").textContent(), SUBJECT, "the subject whole");
      assert.deepEqual(await overlaps(entry.locator(".alarm-mail-outbox-line"), "span, div, button"), []);
    }
    assert.deepEqual(await cutTexts(sidebar), []);
    const failed = relay
      .locator(".alarm-mail-outbox-entry")
      .filter({ has: editor.page.locator(".alarm-mail-outbox-resend") });
    assert.match(
      (await failed.locator(".alarm-mail-outbox-col-error").textContent()) ?? "",
      /550 5\.1\.1 Mailbox unavailable/,
    );

    const details = failed.locator(".alarm-mail-outbox-details");
    assert.equal(await details.isVisible(), false, "details wait until asked for");
    await failed.locator(".alarm-mail-outbox-open").click();
    assert.match((await details.textContent()) ?? "", /nobody@plant\.example/);
    assert.match((await details.textContent()) ?? "", new RegExp((await failed.getAttribute("data-id")) ?? "^$"));
    assert.deepEqual(await cutTexts(sidebar), []);
    await editor.screenshot("alarm-mail-outbox-default-width", editor.page.locator("#red-ui-sidebar"));
  });
});
