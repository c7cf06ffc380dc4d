import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, afterEach, describe, it } from "node:test";
import { SmtpSink } from "../dev/SmtpSink";
import { deliver, helper, loadMailFlow } from "./support/flows";

const ca = readFileSync(join(__dirname, "fixtures", "tls", "ca.pem"), "utf8");
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

  it("a wrong password: output 2 with an authentication error, the password never in it", async () => {
    const smtp = await sink({ authMethods: ["PLAIN", "LOGIN"], users });
    await loadMailFlow(smtp.port, {
      server: { security: "require-starttls", servername: "localhost", auth: "login" },
      credentials: { ca, user: "plant-gw", password: "wrong-Pa55" },
    });
    const out = await deliver({ ...alarm });
    assert.equal(out.output, 2);
    assert.equal(out.msg.error?.code, "smtp-auth-failed");
    assert.equal(smtp.authAttempts, 1);
    assert.doesNotMatch(JSON.stringify(out.msg) + (out.error ?? ""), /wrong-Pa55/);
    assert.equal(out.statuses.at(-1)?.fill, "red");
  });

  it("a locked account is told apart from a wrong password", async () => {
    const smtp = await sink({ authMethods: ["PLAIN"], users, lockAfterFailures: 0 });
    await loadMailFlow(smtp.port, {
      server: { security: "require-starttls", servername: "localhost", auth: "plain" },
      credentials: { ca, user: "plant-gw", password: "s3cret!" },
    });
    assert.equal((await deliver({ ...alarm })).msg.error?.code, "smtp-auth-locked");
  });
});

describe("alarm-mail-send: an unreachable server", () => {
  it("output 2, done(err) and a red status; Node-RED keeps running", async () => {
    const smtp = await sink();
    const port = smtp.port;
    await smtp.close();
    sinks.length = 0;
    await loadMailFlow(port);
    const out = await deliver({ ...alarm });
    assert.equal(out.output, 2);
    assert.equal(out.msg.error?.code, "smtp-connection-refused");
    assert.ok(out.error, "done(err) was called");
    assert.deepEqual(
      out.statuses.map((s) => s.fill),
      ["blue", "red"],
    );
  });
});
