import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Locator, Page } from "playwright-core";
import { SmtpSink } from "../../dev/SmtpSink";
import { findChromium } from "../../nodes/lib/screenshot/Screenshotter";
import { Editor } from "../support/Editor";
import { freePort, NodeRedProcess } from "../support/NodeRedProcess";
import { until } from "../support/until";
import { OAuthServer } from "../support/OAuthServer";

const USER = "gateway";
const PASSWORD = "relay-Pa55";
const MAILBOX = "gateway@plant.example";
const SUBJECT = "Pump P-12 overload";
const TO = "maintenance@plant.example";

type Catalogue = { [key: string]: string | Catalogue };
const catalogues = new Map<string, Catalogue>();

/** A catalogue in a language: the server node's, which its dialog shows, or the outbox sidebar plugin's. */
function catalogue(language: string, name: "alarm-mail-server" | "alarm-mail-outbox"): Catalogue {
  let found = catalogues.get(`${language}/${name}`);
  if (!found) {
    const file = join(__dirname, "..", "..", "locales", language, `${name}.json`);
    found = JSON.parse(readFileSync(file, "utf8")) as Catalogue;
    catalogues.set(`${language}/${name}`, found);
  }
  return found;
}

/**
 * A text of the catalogues ("test.connected", or "errors.smtp-auth-failed" of the server's; "outboxTab.resent" of the
 * outbox sidebar's), its parameters filled in.
 */
function text(key: string, params: Record<string, string | number> = {}, language = "en-US"): string {
  const [head, ...rest] = key.split(".");
  const name = head === "outboxTab" ? "alarm-mail-outbox" : "alarm-mail-server";
  const path = head === "errors" ? [head, ...rest] : head === "outboxTab" ? [name, ...rest] : [name, head, ...rest];
  let found: string | Catalogue | undefined = catalogue(language, name);
  for (const part of path) found = typeof found === "object" ? found[part] : undefined;
  if (typeof found !== "string") throw new Error(`no text ${key} in ${language}`);
  return found.replace(/__(\w+)__/g, (all, name: string) => (name in params ? String(params[name]) : all));
}

/** The same text as a pattern: the parameters not given match anything. */
function pattern(key: string, params: Record<string, string | number> = {}, language = "en-US"): RegExp {
  const escaped = text(key, params, language).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^${escaped.replace(/__\w+__/g, ".+")}$`);
}

/** The server dialog, open on top of the editor's tray stack. */
class ServerDialog {
  readonly tray: Locator;

  constructor(private readonly editor: Editor) {
    this.tray = editor.tray();
  }

  field(name: string): Locator {
    return this.tray.locator(`#node-config-input-${name}`);
  }

  tab(id: "connection" | "security" | "oauth" | "sender" | "delivery"): Promise<void> {
    return this.editor.tab(`alarm-mail-server-tab-${id}`);
  }

  /** Clicks a button of the Check the settings section and returns the outcome it shows: ok or failed, and the text. */
  async check(button: "verify" | "send-test"): Promise<{ ok: boolean; text: string }> {
    const row = this.tray.locator(".alarm-mail-server-result");
    return this.outcome(row, () => this.tray.locator(`#alarm-mail-server-${button}`).click());
  }

  /** The outcome row of the OAuth2 tab, once it no longer shows a spinner. */
  async oauthOutcome(action: () => Promise<void>, timeoutMs?: number): Promise<{ ok: boolean; text: string }> {
    return this.outcome(this.tray.locator(".alarm-mail-server-oauth-result"), action, timeoutMs);
  }

  signInState(): Locator {
    return this.tray.locator(".alarm-mail-server-oauth-status-text");
  }

  private async outcome(
    row: Locator,
    action: () => Promise<void>,
    timeoutMs = 15_000,
  ): Promise<{ ok: boolean; text: string }> {
    await action();
    const icon = row.locator(".alarm-mail-server-result-icon");
    await row.locator(".alarm-mail-server-result-icon:is(.fa-check, .fa-times)").waitFor({ timeout: timeoutMs });
    await row.waitFor();
    const ok = await icon.evaluate((el) => el.classList.contains("fa-check"));
    return { ok, text: (await row.locator(".alarm-mail-server-result-text").textContent()) ?? "" };
  }
}

describe(
  "the mail server dialog and the outbox sidebar in the Node-RED editor",
  {
    skip: findChromium().path ? false : "no Chromium here",
  },
  () => {
    const oauth = new OAuthServer();
    let refuse = false;
    const sink = new SmtpSink({
      starttls: false,
      authMethods: ["PLAIN", "LOGIN", "XOAUTH2"],
      users: { [USER]: PASSWORD },
      verifyToken: (user, token) => user === MAILBOX && oauth.verifyAccessToken(token),
      onRecipient: (address) =>
        refuse && address === TO ? { code: 550, message: "5.1.1 Mailbox unavailable" } : undefined,
    });
    let red: NodeRedProcess;
    let editor: Editor;
    let page: Page;
    /** The nodes the tests put on the workspace, by role. */
    const ids = { inject: "", send: "", server: "", recipients: "", oauthInject: "", oauthSend: "", oauthServer: "" };

    before(async () => {
      await Promise.all([oauth.start(), sink.listen()]);
      red = await NodeRedProcess.start({ adminAuth: true });
      editor = await Editor.open(red, { user: "admin" });
      page = editor.page;
      // A step that cannot happen fails in seconds, with what it waited for, rather than at the suite's timeout.
      page.setDefaultTimeout(10_000);
    });
    after(async () => {
      await editor?.close();
      await red?.kill();
      await sink.close();
      await oauth.stop();
    });

    /** Clicks away the editor's notifications (such as "Successfully injected"), as a user does, until none shows. */
    const dismissNotifications = async () => {
      const shown = page.locator(".red-ui-notification").filter({ visible: true });
      for (let i = 0; i < 20 && (await shown.count()) > 0; i++) {
        await shown
          .first()
          .click({ timeout: 1000 })
          .catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(await shown.count(), 0, "no notification left");
    };

    /** Adds a new server from the open send node's dialog, with the + beside its server list. */
    const addServer = async (): Promise<ServerDialog> => {
      await page.click("#node-input-btn-server-add");
      const dialog = new ServerDialog(editor);
      await dialog.tray.locator("#alarm-mail-server-tabs").waitFor();
      await dialog.tray.locator(".red-ui-tray-titlebar", { hasText: "mail server" }).waitFor();
      await editor.settled();
      return dialog;
    };

    /** The relay's settings typed into a new server's dialog, tab by tab, with a picture of each tab. */
    const fillRelay = async (dialog: ServerDialog, port: number) => {
      await dialog.field("name").fill("Plant relay");
      await dialog.field("host").fill("127.0.0.1");
      await dialog.field("security").selectOption("none");
      await dialog.field("port").fill(String(port));
      await editor.screenshot("alarm-mail-server-connection");
      await dialog.tab("security");
      await dialog.field("auth").selectOption("plain");
      await dialog.field("user").fill(USER);
      await dialog.field("password").fill(PASSWORD);
      await editor.screenshot("alarm-mail-server-security");
      await dialog.tab("sender");
      await dialog.field("from").fill(MAILBOX);
      await dialog.field("fromName").fill("Line 3 gateway");
      await editor.screenshot("alarm-mail-server-sender");
      await dialog.tab("delivery");
      await editor.screenshot("alarm-mail-server-delivery");
      await dialog.tab("connection");
    };

    it("Test connection tries the dialog's settings of a server never deployed and explains each fault", async () => {
      ids.inject = await editor.drag("inject", 120, 80);
      ids.send = await editor.drag("alarm-mail-send", 380, 80);
      await editor.wire(ids.inject, ids.send);
      await editor.openDialog(ids.send);
      const dialog = await addServer();
      await fillRelay(dialog, sink.port);

      const attempts = sink.authAttempts;
      const connected = await dialog.check("verify");
      assert.equal(connected.ok, true, connected.text);
      assert.match(connected.text, pattern("test.connected"));
      assert.equal(sink.authAttempts, attempts + 1, "it logged in");
      await dialog.tray.locator(".alarm-mail-server-result").scrollIntoViewIfNeeded();
      await editor.screenshot("alarm-mail-server-test-connection");

      const closed = await freePort();
      await dialog.field("port").fill(String(closed));
      const refused = await dialog.check("verify");
      assert.equal(refused.ok, false);
      assert.equal(refused.text, text("errors.smtp-connection-refused", { host: "127.0.0.1", port: closed }));
      await dialog.field("port").fill(String(sink.port));

      await dialog.tab("security");
      await dialog.field("password").fill("not-the-password");
      const wrong = await dialog.check("verify");
      assert.equal(wrong.ok, false);
      assert.match(wrong.text, pattern("errors.smtp-auth-failed", { host: "127.0.0.1" }));
      assert.match(wrong.text, /535/, "with the server's answer");
      await dialog.field("password").fill(PASSWORD);
      await dialog.tab("connection");
    });

    it("Send test mail sends to the typed address from the dialog's settings, and refuses a bad address", async () => {
      const dialog = new ServerDialog(editor);
      const to = dialog.tray.locator("#alarm-mail-server-test-to");

      const empty = await dialog.check("send-test");
      assert.deepEqual(empty, { ok: false, text: text("validation.testTo") });

      await to.fill("operator at plant");
      const bad = await dialog.check("send-test");
      assert.equal(bad.ok, false);
      assert.equal(bad.text, text("errors.address-invalid", { field: "to", address: "operator at plant" }));

      const received = sink.received.length;
      await to.fill("operator@plant.example");
      const sent = await dialog.check("send-test");
      assert.equal(sent.ok, true, sent.text);
      assert.match(sent.text, pattern("test.sent", { to: "operator@plant.example" }));
      const [mail] = (await sink.waitFor(received + 1)).slice(received);
      assert.deepEqual(mail.to, ["operator@plant.example"]);
      assert.equal(mail.from, MAILBOX);
      assert.equal(mail.login, `PLAIN ${USER}`);
      const parsed = await mail.parse();
      assert.equal(parsed.subject, text("test.subject"));
      assert.equal(parsed.from?.value[0].name, "Line 3 gateway");

      // Keep the server, then give the send node a recipient group.
      await editor.done();
      await page.click("#node-input-btn-recipients-add");
      const group = editor.tray();
      await group.locator("#node-config-input-to").waitFor();
      await group.locator("#node-config-input-name").fill("Maintenance");
      await group.locator("#node-config-input-to").fill(TO);
      await group.locator("#node-config-input-subject").fill(SUBJECT);
      await editor.done();
      await editor.done();
      const send = await page.evaluate((id) => window.RED.nodes.node(id), ids.send);
      ids.server = String(send?.server);
      ids.recipients = String(send?.recipients);
      assert.ok(ids.server && ids.recipients, "the send node uses the new server and group");
      assert.equal(await editor.marked(ids.send), false);
    });

    it("after a deploy, the dialog keeps the password stored and still tests and sends with it", async () => {
      await editor.deploy();
      await editor.openDialog(ids.send);
      await page.click("#node-input-btn-server-edit");
      const dialog = new ServerDialog(editor);
      await dialog.tray.locator("#alarm-mail-server-tabs").waitFor();
      await dialog.tab("security");
      assert.equal(await dialog.field("password").inputValue(), "__PWRD__", "the stored password's placeholder");
      assert.equal(await dialog.field("user").inputValue(), USER);

      const attempts = sink.authFailures;
      const connected = await dialog.check("verify");
      assert.equal(connected.ok, true, connected.text);
      assert.match(connected.text, pattern("test.connected"));
      assert.equal(sink.authFailures, attempts, "the stored password was accepted");

      const received = sink.received.length;
      await dialog.tray.locator("#alarm-mail-server-test-to").fill("shift-lead@plant.example");
      const sent = await dialog.check("send-test");
      assert.equal(sent.ok, true, sent.text);
      const [mail] = (await sink.waitFor(received + 1)).slice(received);
      assert.deepEqual([mail.to, mail.login], [["shift-lead@plant.example"], `PLAIN ${USER}`]);
      await editor.cancel();
      await editor.cancel();
    });

    it("in an editor in French, the outcome of a test and its faults are in French", async () => {
      const french = await Editor.open(red, { user: "admin", locale: "fr" });
      try {
        french.page.setDefaultTimeout(10_000);
        await french.openDialog(ids.send);
        await french.page.click("#node-input-btn-server-edit");
        const dialog = new ServerDialog(french);
        await dialog.tray.locator("#alarm-mail-server-tabs").waitFor();
        assert.equal(
          (await dialog.tray.locator("#alarm-mail-server-verify").textContent())?.trim(),
          text("button.verify", {}, "fr"),
        );
        const connected = await dialog.check("verify");
        assert.equal(connected.ok, true, connected.text);
        assert.match(connected.text, pattern("test.connected", {}, "fr"));

        await dialog.tray.locator("#alarm-mail-server-test-to").fill("operator@plant.example");
        const sent = await dialog.check("send-test");
        assert.equal(sent.ok, true, sent.text);
        assert.match(sent.text, pattern("test.sent", { to: "operator@plant.example" }, "fr"));

        const closed = await freePort();
        await dialog.field("port").fill(String(closed));
        const refused = await dialog.check("verify");
        assert.deepEqual(refused, {
          ok: false,
          text: text("errors.smtp-connection-refused", { host: "127.0.0.1", port: closed }, "fr"),
        });
        await french.cancel();
        await french.cancel();
      } finally {
        await french.close();
      }
    });

    it("OAuth2: the device code screen and Sign in (state, PKCE) in a popup sign in; mails go through XOAUTH2", async () => {
      ids.oauthInject = await editor.drag("inject", 120, 200);
      ids.oauthSend = await editor.drag("alarm-mail-send", 380, 200);
      await editor.wire(ids.oauthInject, ids.oauthSend);
      await editor.openDialog(ids.oauthSend);
      const dialog = await addServer();
      await dialog.field("name").fill("Mailbox with OAuth2");
      await dialog.field("host").fill("127.0.0.1");
      await dialog.field("security").selectOption("none");
      await dialog.field("port").fill(String(sink.port));
      await dialog.tab("sender");
      await dialog.field("from").fill(MAILBOX);
      await dialog.tab("security");
      await dialog.field("auth").selectOption("oauth2");
      await dialog.field("user").fill(MAILBOX);
      assert.equal(await dialog.field("password").isVisible(), false, "no password with OAuth2");
      await dialog.tab("oauth");
      await dialog.tray.locator("#alarm-mail-server-oauth-preset").selectOption("custom");
      // Each flow shows the endpoints it uses.
      await dialog.field("oauthFlow").selectOption("authorization_code");
      await dialog.field("authorizeUrl").fill(oauth.endpoints.authorizeUrl);
      assert.equal(await dialog.field("deviceUrl").isVisible(), false);
      await dialog.field("oauthFlow").selectOption("device_code");
      assert.equal(await dialog.field("authorizeUrl").isVisible(), false);
      await dialog.field("deviceUrl").fill(oauth.endpoints.deviceUrl);
      await dialog.field("tokenUrl").fill(oauth.endpoints.tokenUrl);
      await dialog.field("scope").fill("https://outlook.office.com/SMTP.Send offline_access");
      await dialog.field("clientId").fill("gateway-app");
      await dialog.field("clientSecret").fill("app-secret-7f3a9c");
      await dialog
        .signInState()
        .filter({ hasText: text("oauth.status.signedOut") })
        .waitFor();

      // The device code: the dialog shows the code and the address; the person signs in on another device.
      const panel = dialog.tray.locator(".alarm-mail-server-device");
      const device = await dialog.oauthOutcome(async () => {
        await dialog.tray.locator("#alarm-mail-server-oauth-device").click();
        await panel.waitFor();
        const userCode = (await panel.locator(".alarm-mail-server-device-code").textContent()) ?? "";
        assert.match(userCode, /^[0-9A-F]{4}-[0-9A-F]{4}$/);
        assert.equal(await panel.locator(".alarm-mail-server-device-link").textContent(), `${oauth.url}/device`);
        assert.match(
          (await panel.locator(".alarm-mail-server-device-time").textContent()) ?? "",
          /^Code valid for [12]:\d\d$/,
        );
        assert.equal(
          await dialog.tray
            .locator(".alarm-mail-server-oauth-result")
            .textContent()
            .then((t) => t?.trim()),
          text("oauth.device.waiting"),
        );
        // The sign-in section at the top of the dialog, as a user scrolls to it.
        await dialog.tray
          .locator(".alarm-mail-server-oauth-heading")
          .evaluate((el) => el.scrollIntoView({ block: "start" }));
        await editor.screenshot("alarm-mail-server-oauth-device");
        oauth.approveDevice(userCode);
      }, 20_000);
      assert.deepEqual(device, { ok: true, text: text("oauth.device.done") });
      assert.equal(await panel.isVisible(), false, "the code is put away once signed in");
      await dialog
        .signInState()
        .filter({ hasText: `Signed in as ${MAILBOX}, token valid until` })
        .waitFor();

      // Sign in: a popup goes to the provider, with a state and a PKCE challenge, and comes back to the callback.
      await dialog.field("oauthFlow").selectOption("authorization_code");
      assert.equal(
        await dialog.tray.locator("#alarm-mail-server-oauth-redirect").inputValue(),
        `${red.url}/alarm-mail-server/oauth/callback`,
      );
      const codes = oauth.tokenRequests.authorization_code ?? 0;
      const authorizeRequests: URL[] = [];
      const onRequest = (request: { url(): string }) => {
        if (request.url().startsWith(oauth.endpoints.authorizeUrl)) authorizeRequests.push(new URL(request.url()));
      };
      editor.context.on("request", onRequest);
      let popup: Page | undefined;
      const signedIn = await dialog.oauthOutcome(async () => {
        const opened = editor.context.waitForEvent("page");
        await dialog.tray.locator("#alarm-mail-server-oauth-signin").click();
        popup = await opened;
      });
      editor.context.off("request", onRequest);
      assert.ok(popup, "a window for the provider's sign-in page");
      await popup.waitForURL(/\/alarm-mail-server\/oauth\/callback\?/);
      assert.equal((await popup.locator("body").textContent())?.trim(), text("oauth.done"));
      await popup.close();
      assert.equal(authorizeRequests.length, 1);
      const [authorize] = authorizeRequests;
      assert.equal(authorize.searchParams.get("code_challenge_method"), "S256");
      assert.ok(authorize.searchParams.get("code_challenge") && authorize.searchParams.get("state"));
      assert.equal(authorize.searchParams.get("client_id"), "gateway-app");
      assert.deepEqual(signedIn, { ok: true, text: text("oauth.signIn.done") });
      assert.equal((oauth.tokenRequests.authorization_code ?? 0) - codes, 1, "one code exchanged");
      await dialog
        .signInState()
        .filter({ hasText: `Signed in as ${MAILBOX}, token valid until` })
        .waitFor();

      await editor.done();
      await page.locator("#node-input-recipients").selectOption({ label: "Maintenance" });
      await editor.done();
      const send = await page.evaluate((id) => window.RED.nodes.node(id), ids.oauthSend);
      ids.oauthServer = String(send?.server);
      assert.notEqual(ids.oauthServer, ids.server);

      await editor.deploy();
      const received = sink.received.length;
      await editor.press(ids.oauthInject);
      await editor.status(ids.oauthSend, /^sent /);
      const [mail] = (await sink.waitFor(received + 1)).slice(received);
      assert.equal(mail.login, `XOAUTH2 ${MAILBOX}`, "logged in with a token the OAuth2 server signed");
      assert.deepEqual(mail.to, [TO]);
      assert.equal((await mail.parse()).subject, SUBJECT);
    });

    it("the outbox sidebar lists sent and failed mails, resends and purges; a viewer reads it but cannot change it", async () => {
      const fromRelay = () => sink.received.filter((m) => m.login === `PLAIN ${USER}` && m.to.includes(TO));
      await editor.press(ids.inject);
      await editor.status(ids.send, /^sent /);
      assert.equal(fromRelay().length, 1);
      refuse = true;
      await editor.press(ids.inject);
      await editor.status(ids.send, /^failed, see debug$/);

      const sidebar = await editor.sidebar("alarm-mail-outbox");
      const relay = sidebar.locator(".alarm-mail-outbox-server").filter({
        has: page.locator(".alarm-mail-outbox-title", { hasText: "Plant relay" }),
      });
      /** A section's heading, "Sent (2)", as the catalogue writes it. */
      const count = (kind: string, n: number) => text(`outboxTab.section.${kind}`, { count: n });
      const heading = (kind: string) => relay.locator(`.alarm-mail-outbox-heading-${kind}`);
      const rows = (kind: string) =>
        relay
          .locator(".alarm-mail-outbox-section")
          .filter({ has: page.locator(`.alarm-mail-outbox-heading-${kind}`) })
          .locator(".alarm-mail-outbox-entry");
      await heading("failed")
        .filter({ hasText: count("failed", 1) })
        .waitFor();
      assert.equal(await heading("sent").textContent(), count("sent", 1));
      const sentRow = rows("sent").first();
      assert.equal(await sentRow.locator(".alarm-mail-outbox-subject").textContent(), SUBJECT);
      assert.equal(await sentRow.locator(".alarm-mail-outbox-to").textContent(), TO);
      const failedRow = rows("failed").first();
      assert.equal(await failedRow.locator(".alarm-mail-outbox-subject").textContent(), SUBJECT);
      assert.match(
        (await failedRow.locator(".alarm-mail-outbox-col-error").textContent()) ?? "",
        /rejected the mail: 550 5\.1\.1 Mailbox unavailable/,
      );
      const oauthBox = sidebar.locator(".alarm-mail-outbox-server", { hasText: "Mailbox with OAuth2" });
      assert.equal(await oauthBox.locator(".alarm-mail-outbox-heading-sent").textContent(), count("sent", 1));
      assert.match(
        (await sentRow.locator(".alarm-mail-outbox-col-result").textContent()) ?? "",
        /^250 .*queued as \d+$/,
        "the server's reply",
      );
      // A wider sidebar, as a user drags its edge, so that the picture shows subjects and addresses whole.
      const edge = await page.locator("#red-ui-sidebar-separator").boundingBox();
      assert.ok(edge);
      await page.mouse.move(edge.x + edge.width / 2, edge.y + edge.height * 0.75);
      await page.mouse.down();
      await page.mouse.move(edge.x - 200, edge.y + edge.height * 0.75, { steps: 10 });
      await page.mouse.up();
      // The mouse leaves the edge, whose collapse button shows while it is over it.
      await page.mouse.move(edge.x - 600, edge.y + edge.height / 2);
      await until(
        async () => ((await page.locator("#red-ui-sidebar").boundingBox())?.width ?? 0) > 450,
        "the wider sidebar",
        15_000,
      );
      await dismissNotifications();
      await editor.screenshot("alarm-mail-outbox-sidebar", page.locator("#red-ui-sidebar"));

      // A viewer: the same log, and the buttons that change it are off, saying why; the endpoints refuse anyway.
      const viewer = await Editor.open(red, { user: "viewer" });
      try {
        const seen = await viewer.sidebar("alarm-mail-outbox");
        const box = seen.locator(".alarm-mail-outbox-server", { hasText: "Plant relay" });
        await box.locator(".alarm-mail-outbox-heading-failed", { hasText: count("failed", 1) }).waitFor();
        assert.equal(await box.locator(".alarm-mail-outbox-subject").first().textContent(), SUBJECT);
        assert.equal(await box.locator(".alarm-mail-outbox-to").first().textContent(), TO);
        for (const button of [box.locator(".alarm-mail-outbox-resend"), box.locator(".alarm-mail-outbox-purge")]) {
          assert.equal(await button.isDisabled(), true);
          assert.equal(await button.getAttribute("title"), text("outboxTab.writePermission"));
        }
        const token = await red.token("viewer");
        const id = await rows("failed").first().getAttribute("data-id");
        assert.equal((await red.request("POST", `/alarm-mail/outbox/${ids.server}/resend`, { id }, token)).status, 401);
        assert.equal((await red.request("POST", `/alarm-mail/outbox/${ids.server}/purge`, {}, token)).status, 401);
      } finally {
        await viewer.close();
      }
      assert.equal(fromRelay().length, 1, "nothing resent by the viewer");

      // The admin resends the failed mail once the mailbox takes it again.
      refuse = false;
      const failedId = await failedRow.getAttribute("data-id");
      await failedRow.locator(".alarm-mail-outbox-resend").click();
      await page.locator(".red-ui-notification", { hasText: text("outboxTab.resent") }).waitFor();
      await until(() => fromRelay().length === 2, "the resent mail", 15_000);
      assert.equal(fromRelay()[1].messageId, failedId, "the same mail, with its Message-ID");
      await heading("sent")
        .filter({ hasText: count("sent", 2) })
        .waitFor();
      assert.equal(await heading("failed").textContent(), count("failed", 0));

      // Purge asks first, then empties the log.
      await relay.locator(".alarm-mail-outbox-purge").click();
      const confirm = page.locator(".red-ui-notification", {
        hasText: text("outboxTab.purgeConfirm", { server: "Plant relay" }),
      });
      await confirm.locator("button", { hasText: text("outboxTab.button.purge") }).click();
      await page
        .locator(".red-ui-notification", { hasText: text("outboxTab.purged", { count: 2, server: "Plant relay" }) })
        .waitFor();
      await heading("sent")
        .filter({ hasText: count("sent", 0) })
        .waitFor();
      assert.equal(await heading("failed").textContent(), count("failed", 0));
      assert.equal(await relay.locator(".alarm-mail-outbox-purge").isDisabled(), true, "nothing left to purge");
      assert.equal(
        await oauthBox.locator(".alarm-mail-outbox-heading-sent").textContent(),
        count("sent", 1),
        "other servers keep theirs",
      );
    });

    it("OAuth2 providers fill the endpoints, move the SMTP side with them, and an app-only sign-in needs its tenant", async () => {
      const send = await editor.drag("alarm-mail-send", 380, 320);
      await editor.openDialog(send);
      const dialog = await addServer();
      const tray = dialog.tray;
      const oauthPreset = tray.locator("#alarm-mail-server-oauth-preset");
      const microsoft = (tenant: string) => `https://login.microsoftonline.com/${tenant}/oauth2/v2.0/token`;

      await tray.locator("#alarm-mail-server-preset").selectOption("gmail");
      await dialog.tab("security");
      await dialog.field("auth").selectOption("oauth2");
      await dialog.tab("oauth");
      // OAuth2 set up for the first time takes the provider of the SMTP host.
      assert.equal(await oauthPreset.inputValue(), "gmail");
      assert.equal(await dialog.field("tokenUrl").inputValue(), "https://oauth2.googleapis.com/token");
      assert.equal(await dialog.field("oauthFlow").inputValue(), "authorization_code");

      await oauthPreset.selectOption("ms365");
      assert.equal(await dialog.field("tokenUrl").inputValue(), microsoft("organizations"));
      assert.equal(await dialog.field("oauthFlow").inputValue(), "device_code");
      assert.equal(await dialog.field("host").inputValue(), "smtp.office365.com");
      assert.equal(await dialog.field("port").inputValue(), "587");
      assert.equal(await dialog.field("security").inputValue(), "starttls");
      assert.equal(await tray.locator("#alarm-mail-server-preset").inputValue(), "office365");

      // Personal accounts sign in on the "consumers" tenant and send through Outlook.com's host.
      await dialog.field("tenant").fill("consumers");
      await dialog.field("tenant").press("Tab");
      assert.equal(await dialog.field("tokenUrl").inputValue(), microsoft("consumers"));
      assert.equal(await dialog.field("host").inputValue(), "smtp-mail.outlook.com");

      // An app signs in on its own tenant's endpoint only: a shared tenant is marked.
      await dialog.field("oauthFlow").selectOption("client_credentials");
      assert.equal(await oauthPreset.inputValue(), "ms365-app");
      assert.equal(await dialog.field("scope").inputValue(), "https://outlook.office365.com/.default");
      assert.equal(await editor.invalid(dialog.field("tenant")), true, "consumers is a shared tenant");
      await dialog.field("tenant").fill("contoso.onmicrosoft.com");
      await dialog.field("tenant").press("Tab");
      assert.equal(await dialog.field("tokenUrl").inputValue(), microsoft("contoso.onmicrosoft.com"));
      assert.equal(await editor.invalid(dialog.field("tenant")), false);
      assert.equal(await editor.invalid(dialog.field("tokenUrl")), false);
      await editor.cancel();
      await editor.cancel();
    });

    it("the acknowledge links' gateway address and lifetime are checked as they are typed", async () => {
      const send = await editor.drag("alarm-mail-send", 380, 380);
      await editor.openDialog(send);
      const dialog = await addServer();
      await dialog.tab("sender");
      const marked = async (field: string, value: string) => {
        await dialog.field(field).fill(value);
        await dialog.field(field).press("Tab");
        return editor.invalid(dialog.field(field));
      };
      assert.equal(await marked("ackBaseUrl", ""), false, "empty: no links");
      for (const wrong of ["gw-12.plant.example", "ftp://gw-12.plant.example", "https://gw/?a=1", "https://op:pw@gw"]) {
        assert.equal(await marked("ackBaseUrl", wrong), true, wrong);
      }
      assert.equal(await marked("ackBaseUrl", "https://gw-12.plant.example:1880"), false);
      assert.equal(await marked("ackLinkTtl", "1000"), true, "under a minute");
      assert.equal(await marked("ackLinkTtl", "3600000"), false);
      await editor.cancel();
      await editor.cancel();
    });

    it("Connections shows 2 for a new server, refuses 0 and 11 as they are typed, and stores 4 as a number", async () => {
      const send = await editor.drag("alarm-mail-send", 380, 460);
      await editor.openDialog(send);
      const dialog = await addServer();
      await dialog.tab("delivery");
      const connections = dialog.field("connections");
      assert.equal(await connections.inputValue(), "2", "the runtime's default");
      const marked = async (value: string) => {
        await connections.fill(value);
        await connections.press("Tab");
        return editor.invalid(connections);
      };
      for (const wrong of ["0", "11", "2.5", "many"]) assert.equal(await marked(wrong), true, wrong);
      assert.equal(await marked(""), false, "empty: the default");
      assert.equal(await marked("4"), false);
      const known: string[] = await editor.page.evaluate(() => {
        const ids: string[] = [];
        window.RED.nodes.eachConfig((n) => ids.push(n.id));
        return ids;
      });
      await editor.done();
      const stored = await editor.page.evaluate((before) => {
        let value: unknown;
        window.RED.nodes.eachConfig((n) => {
          if (n.type === "alarm-mail-server" && !before.includes(n.id)) value = n.connections;
        });
        return value;
      }, known);
      assert.equal(stored, 4);
      await editor.cancel();
    });
  },
);
