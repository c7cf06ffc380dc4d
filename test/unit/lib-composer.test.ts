import assert from "node:assert/strict";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { DEFAULT_LIMITS, MailComposer, type SenderPolicy } from "../../nodes/lib/mail/MailComposer";
import { MailError } from "../../nodes/lib/mail/MailError";
import { MAX_CONNECTIONS, parseServerSettings } from "../../nodes/lib/server/ServerSettings";
import { tempDir } from "../support/tempDir";

const policy = (extra: Partial<SenderPolicy> = {}): SenderPolicy => ({
  from: { name: "Gateway", address: "gw@plant.example" },
  allowMsgFrom: false,
  limits: { ...DEFAULT_LIMITS },
  ...extra,
});
const group = { to: [{ name: "", address: "op@plant.example" }], cc: [], bcc: [], subject: "", body: "", html: "" };

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof MailError, String(err));
    return err.code;
  }
  return "no error";
}

describe("MailComposer", () => {
  it("refuses a msg.priority that is an object without a prototype with its own error, not a TypeError", async () => {
    const composer = new MailComposer(policy());
    const priority = Object.create(null) as object;
    assert.equal(await codeOf(composer.compose(group, { payload: "x", priority }, {})), "priority-invalid");
  });

  it("gives every mail its own Message-ID in the sender's domain", async () => {
    const composer = new MailComposer(policy());
    const a = await composer.compose(group, { payload: "x" }, {});
    const b = await composer.compose(group, { payload: "x" }, {});
    assert.match(a.messageId, /^<[0-9a-f-]{36}@plant\.example>$/);
    assert.notEqual(a.messageId, b.messageId);
  });

  it("prefers the group's templates and falls back to msg.topic and msg.payload", async () => {
    const composer = new MailComposer(policy());
    const plain = await composer.compose(group, { topic: "T", payload: { v: 1 } }, {});
    assert.equal(plain.subject, "T");
    assert.equal(plain.text, '{\n  "v": 1\n}');
    const templated = await composer.compose(
      { ...group, subject: "S {{topic}}", body: "B {{payload.v}}" },
      { topic: "T", payload: { v: 1 } },
      { topic: "T", payload: { v: 1 } },
    );
    assert.equal(templated.subject, "S T");
    assert.equal(templated.text, "B 1");
  });

  it("ends a body no template wrote with the acknowledge link; a template places {{ackUrl}} itself", async () => {
    const composer = new MailComposer(policy());
    const url = "https://gw.plant.example/alarm-mail/ack/abc.def";
    const link = { label: "Acknowledge", url };
    const plain = await composer.compose(group, { payload: "Level high", html: "<b>Level high</b>" }, {}, [], link);
    assert.equal(plain.text, `Level high\n\nAcknowledge: ${url}`);
    assert.equal(plain.html, `<b>Level high</b><p><a href="${url.replace(/\//g, "&#47;")}">Acknowledge</a></p>`);
    const templated = await composer.compose(
      { ...group, body: "Ack at {{ackUrl}}", html: "<a href='{{ackUrl}}'>ack</a>" },
      { payload: "Level high" },
      { ackUrl: url },
      [],
      link,
    );
    assert.equal(templated.text, `Ack at ${url}`);
    assert.equal(templated.html, `<a href='${url.replace(/\//g, "&#47;")}'>ack</a>`);
  });

  it("ends both bodies with the notes it is given, escaped in HTML, within the body limit", async () => {
    const composer = new MailComposer(policy());
    const note = "Not attached: the page <dashboard> did not load";
    const mail = await composer.compose(group, { payload: "Level high", html: "<b>Level high</b>" }, {}, [note]);
    assert.equal(mail.text, `Level high\n\n${note}`);
    assert.equal(mail.html, "<b>Level high</b><p>Not attached: the page &lt;dashboard&gt; did not load</p>");
    const noHtml = await composer.compose(group, { payload: "" }, {}, [note]);
    assert.equal(noHtml.text, note);
    assert.equal(noHtml.html, undefined);
  });

  it("sends a Buffer payload as an attachment, as node-red-node-email does", async () => {
    const mail = await new MailComposer(policy()).compose(
      group,
      { payload: Buffer.from("a;b"), filename: "x.csv" },
      {},
    );
    assert.equal(mail.text, "");
    assert.deepEqual(
      mail.attachments.map((a) => [a.filename, a.content.toString()]),
      [["x.csv", "a;b"]],
    );
  });

  it("accepts a Buffer that went through JSON and base64 text content", async () => {
    const mail = await new MailComposer(policy()).compose(
      group,
      {
        payload: "x",
        attachments: [
          { filename: "a.bin", content: { type: "Buffer", data: [1, 2, 3] } },
          { filename: "b.txt", content: Buffer.from("hello").toString("base64"), encoding: "base64" },
        ],
      },
      {},
    );
    assert.deepEqual(
      mail.attachments.map((a) => a.content.toString("hex")),
      ["010203", Buffer.from("hello").toString("hex")],
    );
  });

  it("reads `path` attachments only inside the server's attachment folder", async () => {
    const folder = tempDir("alarm-mail-att-");
    mkdirSync(join(folder, "reports"));
    writeFileSync(join(folder, "reports", "day.csv"), "t;v\n");
    symlinkSync("/etc/passwd", join(folder, "reports", "escape.csv"));
    const allowed = new MailComposer(policy({ attachmentFolder: folder }));
    const mail = await allowed.compose(group, { payload: "x", attachments: [{ path: "reports/day.csv" }] }, {});
    assert.deepEqual(
      mail.attachments.map((a) => [a.filename, a.content.toString()]),
      [["day.csv", "t;v\n"]],
    );
    for (const path of ["../../etc/passwd", "/etc/passwd", "reports/escape.csv", "reports/missing.csv", "."]) {
      assert.equal(
        await codeOf(allowed.compose(group, { payload: "x", attachments: [{ path }] }, {})),
        "attachment-path-refused",
        path,
      );
    }
    const closed = new MailComposer(policy());
    assert.equal(
      await codeOf(
        closed.compose(group, { payload: "x", attachments: [{ path: join(folder, "reports", "day.csv") }] }, {}),
      ),
      "attachment-path-refused",
    );
  });

  it("refuses attachments without content or name", async () => {
    const composer = new MailComposer(policy());
    for (const attachment of [{ filename: "a" }, { content: "x" }, "just text", { filename: "a", content: 12 }]) {
      assert.equal(
        await codeOf(composer.compose(group, { payload: "x", attachments: [attachment] }, {})),
        "attachment-invalid",
      );
    }
  });
});

describe("ServerSettings", () => {
  it("fills defaults: port from the security mode, timeouts, limits, verification on", () => {
    const s = parseServerSettings({
      host: "smtp.plant.example",
      security: "tls",
      from: "gw@plant.example",
      auth: "none",
    });
    assert.equal(s.connection.port, 465);
    assert.equal(s.connection.rejectUnauthorized, true);
    assert.equal(s.connection.connectionTimeout, 15000);
    assert.deepEqual(s.sender.limits, DEFAULT_LIMITS);
  });

  it("makes no acknowledge links without an ackBaseUrl; with one, links last 24 h unless ackLinkTtl says", () => {
    const base = { host: "h", from: "a@plant.example", auth: "none" };
    assert.equal(parseServerSettings(base).ack, undefined);
    assert.deepEqual(parseServerSettings({ ...base, ackBaseUrl: " https://gw-12.plant.example:1880/ " }).ack, {
      baseUrl: "https://gw-12.plant.example:1880",
      ttlMs: 86_400_000,
    });
    assert.equal(
      parseServerSettings({ ...base, ackBaseUrl: "http://gw/nr", ackLinkTtl: "3600000" }).ack?.ttlMs,
      3_600_000,
    );
  });

  it("automatic authentication logs in when a user name is set, and sends without a login otherwise", () => {
    const config = { host: "relay.plant.example", from: "gw@plant.example", auth: "auto" };
    assert.equal(parseServerSettings(config).connection.auth, "none");
    assert.equal(parseServerSettings(config, { user: "gw", password: "pw" }).connection.auth, "auto");
  });

  it("connections: 2 for a flow saved before the setting, 1 to 10 as set, at most 4 through Graph and Gmail", () => {
    // A server as the dialog stored it before `connections` existed: every delivery setting but that one.
    const saved = {
      host: "relay.plant.example",
      port: 25,
      security: "none",
      auth: "none",
      from: "gw@plant.example",
      rateMinute: "",
      rateHour: "",
      rateDay: "",
      retryDelay: 5000,
      retryMaxDelay: 600000,
      maxAgeHours: 24,
      authAttempts: 3,
      backup: "",
      failoverAfter: 2,
      failbackAfter: 60000,
    };
    assert.equal(parseServerSettings(saved).delivery.concurrency, 2);
    assert.equal(parseServerSettings({ ...saved, connections: "" }).delivery.concurrency, 2);
    assert.equal(parseServerSettings({ ...saved, connections: 1 }).delivery.concurrency, 1);
    assert.equal(parseServerSettings({ ...saved, connections: " 7 " }).delivery.concurrency, 7);
    assert.equal(parseServerSettings({ ...saved, connections: "10" }).delivery.concurrency, 10);
    assert.equal(
      parseServerSettings({ ...saved, connections: "03" }).delivery.concurrency,
      3,
      "digits, read as decimal",
    );
    assert.equal(parseServerSettings({ ...saved, connections: 4.0 }).delivery.concurrency, 4);
    assert.equal(parseServerSettings({ ...saved, connections: MAX_CONNECTIONS }).delivery.concurrency, 10);
    const oauth = { auth: "oauth2", oauthFlow: "client_credentials", tokenUrl: "https://login.example/token" };
    const graph = { ...saved, ...oauth, transport: "graph", mailbox: "gw@plant.example" };
    const gmail = { ...saved, ...oauth, transport: "gmail" };
    for (const service of [graph, gmail]) {
      const credentials = { clientId: "app", clientSecret: "s" };
      assert.equal(parseServerSettings({ ...service, connections: 10 }, credentials).delivery.concurrency, 4);
      assert.equal(parseServerSettings({ ...service, connections: 3 }, credentials).delivery.concurrency, 3);
      assert.equal(parseServerSettings(service, credentials).delivery.concurrency, 2);
    }
  });

  it("names the setting that is wrong, and the dialog's rule it breaks", () => {
    const ok = { host: "h", from: "a@plant.example", auth: "none" };
    const cases: Array<[Record<string, unknown>, string, string | undefined]> = [
      [{ host: "" }, "host", "host"],
      [{ host: "a b" }, "host", "host"],
      [{ host: "h", from: "nope" }, "from", "from"],
      [{ ...ok, security: "ssl" }, "security", "choice"],
      [{ ...ok, port: "0" }, "port", "port"],
      [{ ...ok, port: 65536 }, "port", "port"],
      [{ host: "h", from: "a@plant.example", auth: "plain" }, "user", "user"],
      [{ ...ok, maxAttachments: -1 }, "maxAttachments", "positive"],
      [{ ...ok, rateHour: 1.5 }, "rateHour", "cap"],
      [{ ...ok, connections: 0 }, "connections", "connections"],
      [{ ...ok, connections: 11 }, "connections", "connections"],
      [{ ...ok, connections: "2.5" }, "connections", "connections"],
      [{ ...ok, connections: "many" }, "connections", "connections"],
      // What Number() would have read as a count: a boolean, an array, hexadecimal and exponent notation.
      [{ ...ok, connections: true }, "connections", "connections"],
      [{ ...ok, connections: false }, "connections", "connections"],
      [{ ...ok, connections: [5] }, "connections", "connections"],
      [{ ...ok, connections: "0x4" }, "connections", "connections"],
      [{ ...ok, connections: "1e1" }, "connections", "connections"],
      [{ ...ok, connections: 10.5 }, "connections", "connections"],
      [{ ...ok, connections: "+3" }, "connections", "connections"],
      [{ ...ok, connections: "-1" }, "connections", "connections"],
      [{ ...ok, connections: "3 4" }, "connections", "connections"],
      [{ ...ok, connections: "  " }, "connections", "connections"],
      [{ ...ok, connections: { n: 3 } }, "connections", "connections"],
      [{ ...ok, connections: Number.NaN }, "connections", "connections"],
      [{ ...ok, connections: "11" }, "connections", "connections"],
      [{ ...ok, port: "0x19" }, "port", "port"],
      [{ ...ok, ehloName: "gw_01" }, "ehloName", undefined],
      [{ ...ok, ackBaseUrl: "ftp://gw.plant.example" }, "ackBaseUrl", "url"],
      [{ ...ok, ackBaseUrl: "https://gw/?x=1" }, "ackBaseUrl", undefined],
      [{ ...ok, ackBaseUrl: "https://op:pw@gw" }, "ackBaseUrl", undefined],
      [{ ...ok, ackLinkTtl: 59_999 }, "ackLinkTtl", undefined],
      [{ ...ok, ackLinkTtl: "a day" }, "ackLinkTtl", undefined],
    ];
    for (const [config, field, rule] of cases) {
      assert.throws(
        () => parseServerSettings(config),
        (err: unknown) =>
          err instanceof MailError &&
          err.code === (rule ? "config-rule" : "config-invalid") &&
          err.params.field === field &&
          err.params.validation === rule &&
          (rule === undefined || err.terms.includes("validation")),
        JSON.stringify(config),
      );
    }
  });
});
