import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, afterEach, describe, it } from "node:test";
import { SmtpSink } from "../../dev/SmtpSink";
import type { OutgoingMail } from "../../nodes/lib/mail/MailComposer";
import { TransportFault } from "../../nodes/lib/transport/TransportFault";
import { SmtpTransport } from "../../nodes/lib/transport/SmtpTransport";
import { ConnectProxy } from "../support/ConnectProxy";
import { deliver, helper, loadMailFlow, until, watchStatuses } from "../support/flows";

const ca = readFileSync(join(__dirname, "..", "fixtures", "tls", "ca.pem"), "utf8");
const sinks: SmtpSink[] = [];

async function sink(options: ConstructorParameters<typeof SmtpSink>[0] = {}): Promise<SmtpSink> {
  const s = new SmtpSink(options);
  sinks.push(s);
  await s.listen();
  return s;
}

afterEach(async () => {
  await helper.unload();
  await Promise.all(sinks.splice(0).map((s) => s.close()));
});
after(() => helper.stopServer?.());

const alarm = { topic: "Bassin 2: bacteria level high", payload: "Level 7.4 (setpoint 6.0)" };

describe("alarm-mail-send: security modes against a real SMTP server", () => {
  it("none: sends in clear text to a server without STARTTLS", async () => {
    const smtp = await sink({ starttls: false });
    await loadMailFlow(smtp.port, { server: { security: "none" } });
    const out = await deliver({ ...alarm });
    assert.equal(out.output, 1);
    const [mail] = await smtp.waitFor(1);
    assert.equal(mail.secure, false);
    assert.deepEqual(mail.to, ["operator@plant.example"]);
    assert.equal((await mail.parse()).subject, alarm.topic);
  });

  it("none: never upgrades even when the server offers STARTTLS", async () => {
    const smtp = await sink();
    await loadMailFlow(smtp.port, { server: { security: "none" } });
    assert.equal((await deliver({ ...alarm })).output, 1);
    assert.equal((await smtp.waitFor(1))[0].secure, false);
  });

  it("starttls: upgrades when offered, checking the certificate against the CA", async () => {
    const smtp = await sink();
    await loadMailFlow(smtp.port, {
      server: { security: "starttls", servername: "mail.plant.test" },
      credentials: { ca },
    });
    assert.equal((await deliver({ ...alarm })).output, 1);
    assert.equal((await smtp.waitFor(1))[0].secure, true);
  });

  it("require-starttls: a server that offers no STARTTLS gets nothing, and the error says why", async () => {
    const smtp = await sink({ starttls: false });
    await loadMailFlow(smtp.port, { server: { security: "require-starttls" } });
    const out = await deliver({ ...alarm });
    assert.equal(out.output, 2);
    assert.equal(out.msg.error?.code, "smtp-starttls-missing");
    assert.match(out.error ?? "", /smtp-starttls-missing/);
    assert.equal(smtp.received.length, 0);
  });

  it("tls: implicit TLS (SMTPS)", async () => {
    const smtp = await sink({ secure: true });
    await loadMailFlow(smtp.port, { server: { security: "tls", servername: "localhost" }, credentials: { ca } });
    assert.equal((await deliver({ ...alarm })).output, 1);
    assert.equal((await smtp.waitFor(1))[0].secure, true);
  });

  it("tls on a plain port: a TLS-mode mismatch, not a vague socket error", async () => {
    const smtp = await sink({ starttls: false });
    await loadMailFlow(smtp.port, { server: { security: "tls", servername: "localhost" }, credentials: { ca } });
    const out = await deliver({ ...alarm });
    assert.equal(out.output, 2);
    assert.equal(out.msg.error?.code, "smtp-tls-mismatch");
  });
});

describe("alarm-mail-send: mails that robots do not answer", () => {
  it("marks an alarm mail auto-generated (RFC 3834) and asks Exchange for no out-of-office or auto-reply", async () => {
    const smtp = await sink({ starttls: false });
    await loadMailFlow(smtp.port, { server: { security: "none" } });
    assert.equal((await deliver({ ...alarm })).output, 1);
    const [mail] = await smtp.waitFor(1);
    const parsed = await mail.parse();
    assert.equal(parsed.headers.get("auto-submitted"), "auto-generated");
    assert.equal(parsed.headers.get("x-auto-response-suppress"), "OOF, AutoReply");
    const head = mail.raw.toString("utf8").split("\r\n\r\n")[0];
    assert.equal(head.match(/^Auto-Submitted:/gim)?.length, 1, "one header, not one per layer that adds it");
  });
});

describe("alarm-mail-send: certificates", () => {
  it("refuses a self-signed chain when no CA is given", async () => {
    const smtp = await sink();
    await loadMailFlow(smtp.port, { server: { security: "require-starttls", servername: "localhost" } });
    const out = await deliver({ ...alarm });
    assert.equal(out.output, 2);
    assert.equal(out.msg.error?.code, "smtp-cert-untrusted");
    assert.equal(smtp.received.length, 0);
  });

  it("refuses a certificate for another name when the host is an IP and no servername is set", async () => {
    const smtp = await sink();
    await loadMailFlow(smtp.port, { server: { security: "require-starttls" }, credentials: { ca } });
    const out = await deliver({ ...alarm });
    assert.equal(out.msg.error?.code, "smtp-cert-name");
  });

  it("rejectUnauthorized false is the explicit, visible opt-out", async () => {
    const smtp = await sink();
    await loadMailFlow(smtp.port, { server: { security: "require-starttls", rejectUnauthorized: false } });
    assert.equal((await deliver({ ...alarm })).output, 1);
  });
});

describe("alarm-mail-send: authentication, checked by the server", () => {
  const users = { "plant-gw": "s3cret!" };
  for (const [auth, method] of [
    ["plain", "PLAIN"],
    ["login", "LOGIN"],
    ["cram-md5", "CRAM-MD5"],
    ["auto", "PLAIN"],
  ] as const) {
    it(`${auth}: logs in with ${method}`, async () => {
      const smtp = await sink({ authMethods: ["PLAIN", "LOGIN", "CRAM-MD5"], users });
      await loadMailFlow(smtp.port, {
        server: { security: "require-starttls", servername: "localhost", auth },
        credentials: { ca, user: "plant-gw", password: "s3cret!" },
      });
      assert.equal((await deliver({ ...alarm })).output, 1);
      assert.equal((await smtp.waitFor(1))[0].login, `${method} plant-gw`);
    });
  }

  it("a wrong password: the mail stays queued, logins stop at the limit, the status says why", async () => {
    const smtp = await sink({ authMethods: ["PLAIN", "LOGIN"], users });
    await loadMailFlow(smtp.port, {
      server: { security: "require-starttls", servername: "localhost", auth: "login", retryDelay: 20 },
      credentials: { ca, user: "plant-gw", password: "wrong-Pa55" },
    });
    const statuses = watchStatuses("send");
    const outputs: unknown[] = [];
    helper.getNode("ok").on("input", (msg: unknown) => outputs.push(msg));
    helper.getNode("failed").on("input", (msg: unknown) => outputs.push(msg));
    for (let i = 0; i < 5; i++) helper.getNode("send").receive({ ...alarm });
    await until(() => statuses.some((s) => s.fill === "red"), "a red status");
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(smtp.authAttempts, 3, "three logins, then the gateway stops before the account locks");
    assert.deepEqual(outputs, [], "nothing is reported as failed: the mails wait for better settings");
    assert.match(String(statuses.at(-1)?.text), /authBlocked/);
    assert.doesNotMatch(JSON.stringify(statuses), /wrong-Pa55/);
  });

  it("a locked account is told apart from a wrong password", async () => {
    const smtp = await sink({ authMethods: ["PLAIN"], users, lockAfterFailures: 0 });
    const red = new SmtpTransport({
      host: "127.0.0.1",
      port: smtp.port,
      security: "require-starttls",
      servername: "localhost",
      ca,
      auth: "plain",
      user: "plant-gw",
      password: "s3cret!",
      rejectUnauthorized: true,
      connectionTimeout: 3000,
      socketTimeout: 3000,
    });
    await assert.rejects(
      red.probe(),
      (err: unknown) => err instanceof TransportFault && err.code === "smtp-auth-locked",
    );
    red.close();
  });
});

describe("SMTP through the plant's proxy", () => {
  const settings = (port: number) => ({
    host: "127.0.0.1",
    port,
    security: "none" as const,
    auth: "none" as const,
    rejectUnauthorized: true,
    connectionTimeout: 3000,
    socketTimeout: 3000,
  });
  const mail = (subject: string): OutgoingMail => ({
    messageId: `<${subject.replace(/\W/g, "")}@plant.example>`,
    date: new Date(),
    from: { name: "", address: "gateway@plant.example" },
    replyTo: [],
    to: [{ name: "", address: "ops@plant.example" }],
    cc: [],
    bcc: [],
    subject,
    text: "level high",
    attachments: [],
    priority: "normal",
  });

  it("tunnels through HTTPS_PROXY with CONNECT, and goes direct to a host in NO_PROXY", async () => {
    const smtp = await sink({ starttls: false });
    const proxy = new ConnectProxy();
    await proxy.start();
    try {
      const proxied = new SmtpTransport(settings(smtp.port), { HTTPS_PROXY: proxy.url });
      assert.equal(await proxied.reachable(), true);
      await proxied.send(mail("through the proxy"));
      proxied.close();
      assert.deepEqual(proxy.tunnels, [`127.0.0.1:${smtp.port}`]);
      const direct = new SmtpTransport(settings(smtp.port), { HTTPS_PROXY: proxy.url, NO_PROXY: "127.0.0.1" });
      await direct.send(mail("around the proxy"));
      direct.close();
      assert.equal(proxy.tunnels.length, 1, "NO_PROXY keeps a plant relay direct");
      assert.equal(smtp.received.length, 2);
    } finally {
      await proxy.stop();
    }
  });
});
