import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Locator } from "playwright-core";
import { findChromium } from "../../nodes/lib/screenshot/Screenshotter";
import { Dovecot } from "../support/Dovecot";
import { Editor } from "../support/Editor";
import { NodeRedProcess } from "../support/NodeRedProcess";

const MAILBOX = "alarms@plant.example";

const english = JSON.parse(
  readFileSync(join(__dirname, "..", "..", "locales", "en-US", "alarm-mail-inbox.json"), "utf8"),
) as { "alarm-mail-inbox": { test: Record<string, string>; status: Record<string, string> } };

/** The inbox dialog, open on top of the editor. */
class InboxDialog {
  readonly tray: Locator;

  constructor(editor: Editor) {
    this.tray = editor.tray();
  }

  field(name: string): Locator {
    return this.tray.locator(`#node-input-${name}`);
  }

  /** Clicks Test connection and returns what the dialog shows once the spinner is gone: ok or failed, and the text. */
  async testConnection(): Promise<{ ok: boolean; text: string }> {
    const row = this.tray.locator(".alarm-mail-inbox-result");
    await this.tray.locator("#alarm-mail-inbox-verify").click();
    await row.locator(".alarm-mail-inbox-result-icon:is(.fa-check, .fa-times)").waitFor({ timeout: 20_000 });
    const ok = await row.locator(".alarm-mail-inbox-result-icon").evaluate((el) => el.classList.contains("fa-check"));
    return { ok, text: (await row.locator(".alarm-mail-inbox-result-text").textContent()) ?? "" };
  }
}

describe(
  "the alarm inbox dialog in the Node-RED editor",
  { skip: findChromium().path ? false : "no Chromium on this machine" },
  () => {
    let dovecot: Dovecot;
    let red: NodeRedProcess;
    let editor: Editor;

    before(async () => {
      dovecot = await Dovecot.start();
      red = await NodeRedProcess.start();
      editor = await Editor.open(red);
    });
    after(async () => {
      await editor?.close();
      await red?.kill();
      await dovecot?.close();
    });

    it("tests the connection with the dialog's settings, shows the OAuth2 choice, and deploys to a watching inbox", async () => {
      const id = await editor.drag("alarm-mail-inbox", 200, 120);
      assert.equal(await editor.marked(id), true, "a new inbox needs its host");
      await editor.openDialog(id);
      const dialog = new InboxDialog(editor);
      await dialog.field("host").fill("127.0.0.1");
      await dialog.field("port").fill(String(dovecot.port));
      await dialog.field("security").selectOption("none");
      await dialog.field("user").fill(MAILBOX);
      await dialog.field("password").fill("not-the-password");

      const refused = await dialog.testConnection();
      assert.equal(refused.ok, false);
      assert.match(refused.text, /^The IMAP server refused the login/);

      await dialog.field("password").fill(dovecot.users[MAILBOX]);
      const connected = await dialog.testConnection();
      assert.equal(connected.ok, true, connected.text);
      assert.equal(
        connected.text,
        english["alarm-mail-inbox"].test.connected.replace("__mailbox__", "INBOX").replace("__count__", "0"),
      );
      await dialog.tray.locator(".alarm-mail-inbox-result").scrollIntoViewIfNeeded();
      await editor.screenshot("alarm-mail-inbox-dialog");

      // OAuth2 takes a server's sign-in instead of the password.
      await dialog.field("auth").selectOption("oauth2");
      assert.equal(await dialog.field("password").isVisible(), false);
      assert.equal(await dialog.tray.locator(".alarm-mail-inbox-oauth2").first().isVisible(), true);
      await dialog.field("auth").selectOption("login");
      assert.equal(await dialog.field("password").isVisible(), true);

      await editor.done();
      assert.equal(await editor.marked(id), false);
      await editor.deploy();
      await editor.status(id, new RegExp(`^${english["alarm-mail-inbox"].status.idle}$`));
    });
  },
);
