import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { SmtpSink } from "../../dev/SmtpSink";
import { deliver, helper, loadMailFlow } from "../support/flows";

let smtp: SmtpSink;
beforeEach(async () => {
  smtp = new SmtpSink({ starttls: false });
  await smtp.listen();
});
afterEach(async () => {
  await helper.unload();
  await smtp.close();
});

async function refused(msg: Record<string, unknown>, code: string, options = {}): Promise<string> {
  await loadMailFlow(smtp.port, options);
  const out = await deliver(msg);
  assert.equal(out.output, 2, `expected output 2 for ${code}`);
  assert.equal(out.msg.error?.code, code);
  assert.match(out.error ?? "", new RegExp(`errors\\.${code}`), "done(err) carries the localised error key");
  assert.equal(out.statuses.at(-1)?.fill, "red");
  assert.equal(smtp.received.length, 0, "nothing reached the server");
  return out.error ?? "";
}

describe("alarm-mail-send: recipients", () => {
  it("puts To and CC in headers and envelope, BCC in the envelope only", async () => {
    await loadMailFlow(smtp.port, {
      recipients: {
        to: "Jean Dupont <jean@plant.example>; shift@plant.example",
        cc: "maintenance@plant.example\nquality@plant.example",
        bcc: "audit@plant.example",
      },
    });
    assert.equal((await deliver({ topic: "t", payload: "b" })).output, 1);
    const [mail] = await smtp.waitFor(1);
    assert.deepEqual(mail.to.sort(), [
      "audit@plant.example",
      "jean@plant.example",
      "maintenance@plant.example",
      "quality@plant.example",
      "shift@plant.example",
    ]);
    const head = mail.raw.toString("utf8").split(/\r?\n\r?\n/)[0];
    assert.match(head, /^To: "?Jean Dupont"? <jean@plant\.example>, shift@plant\.example$/m);
    assert.match(head, /^Cc: maintenance@plant\.example, quality@plant\.example$/m);
    assert.doesNotMatch(head, /audit@plant\.example/);
    assert.doesNotMatch(head, /^Bcc:/im);
    assert.equal(mail.from, "gateway@plant.example");
  });

  it("an individual group mails each address alone; the msg leaves once, with msg.mails", async () => {
    await loadMailFlow(smtp.port, {
      recipients: { to: "ana@plant.example", cc: "ben@plant.example", bcc: "audit@plant.example", individual: true },
    });
    const out = await deliver({ topic: "t", payload: "b" });
    assert.equal(out.output, 1);
    const mails = out.msg.mails as Array<{ accepted: string[] }>;
    assert.deepEqual(
      mails.map((mail) => mail.accepted),
      [["ana@plant.example"], ["ben@plant.example"], ["audit@plant.example"]],
    );
    const received = await smtp.waitFor(3);
    assert.deepEqual(received.map((mail) => mail.to).sort(), [
      ["ana@plant.example"],
      ["audit@plant.example"],
      ["ben@plant.example"],
    ]);
    for (const mail of received) assert.match(mail.raw.toString("utf8"), new RegExp(`^To: ${mail.to[0]}$`, "m"));
    // msg.to makes the one mail it names, as for any group.
    assert.deepEqual((await deliver({ to: "x@plant.example", payload: "b" })).msg.mails, undefined);
  });

  it("an individual group without any address refuses the msg, as any group without one", async () => {
    await refused({ payload: "x" }, "address-missing", { recipients: { to: "", individual: true } });
  });

  it("msg.to, msg.cc and msg.bcc override the group's fields; msg.from is ignored unless allowed", async () => {
    await loadMailFlow(smtp.port, { recipients: { to: "group@plant.example", cc: "groupcc@plant.example" } });
    const out = await deliver({ to: ["a@plant.example", "b@plant.example"], from: "ceo@plant.example", payload: "x" });
    assert.equal(out.output, 1);
    const [mail] = await smtp.waitFor(1);
    assert.deepEqual(mail.to.sort(), ["a@plant.example", "b@plant.example", "groupcc@plant.example"]);
    assert.equal(mail.from, "gateway@plant.example");
  });

  it("msg.from is used when the server allows it", async () => {
    await loadMailFlow(smtp.port, { server: { allowMsgFrom: true } });
    await deliver({ from: "line2@plant.example", payload: "x" });
    assert.equal((await smtp.waitFor(1))[0].from, "line2@plant.example");
  });

  it("works without a recipient group when the msg carries the addresses", async () => {
    await loadMailFlow(smtp.port, { recipients: null });
    const out = await deliver({ to: "solo@plant.example", topic: "s", payload: "b" });
    assert.equal(out.output, 1);
    assert.deepEqual((await smtp.waitFor(1))[0].to, ["solo@plant.example"]);
  });

  it("a wrong address is an error naming it", async () => {
    await refused({ to: "operator@plant.", payload: "x" }, "address-invalid");
  });

  it("no recipient at all is an error", async () => {
    await refused({ payload: "x" }, "address-missing", { recipients: null });
  });

  it("msg.error and output 1 carry what the contract says", async () => {
    await loadMailFlow(smtp.port);
    const out = await deliver({ payload: "x" });
    const mail = out.msg.mail as Record<string, unknown>;
    assert.deepEqual(Object.keys(mail).sort(), [
      "accepted",
      "attempts",
      "messageId",
      "queuedAt",
      "rejected",
      "rejectedErrors",
      "response",
      "sentAt",
    ]);
    assert.deepEqual(mail.accepted, ["operator@plant.example"]);
    assert.equal(mail.messageId, (await smtp.waitFor(1))[0].messageId);
    assert.equal(out.statuses.at(-1)?.fill, "green");
  });
});

describe("alarm-mail-send: templates", () => {
  it("renders process values, msg.alarm, msg.event, flow and global context and a timestamp", async () => {
    await loadMailFlow(smtp.port, {
      recipients: {
        subject: "[{{event}}] {{alarm.label}} = {{alarm.value}} {{alarm.unit}}",
        body: "Plant {{global.plant}}, line {{flow.line}}: {{payload}} at {{timestamp}}",
      },
    });
    const send = helper.getNode("send");
    send.context().global.set("plant", "Station Nord");
    send.context().flow.set("line", 2);
    const out = await deliver({
      event: "trigger",
      alarm: { label: "Bassin 2 bacteria", value: 7.4, unit: "mg/l" },
      payload: "level high",
    });
    assert.equal(out.output, 1);
    const parsed = await (await smtp.waitFor(1))[0].parse();
    assert.equal(parsed.subject, "[trigger] Bassin 2 bacteria = 7.4 mg/l");
    assert.match(parsed.text ?? "", /^Plant Station Nord, line 2: level high at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s*$/);
  });

  it("escapes values in HTML templates, and only there", async () => {
    await loadMailFlow(smtp.port, {
      recipients: { subject: "{{payload}}", body: "{{payload}}", html: "<p>{{payload}}</p>" },
    });
    await deliver({ payload: `<img src=x onerror="alert(1)"> & more` });
    const parsed = await (await smtp.waitFor(1))[0].parse();
    assert.equal(parsed.html, "<p>&lt;img src&#61;x onerror&#61;&quot;alert(1)&quot;&gt; &amp; more</p>");
    assert.equal(parsed.text?.trim(), `<img src=x onerror="alert(1)"> & more`);
  });

  it("a broken template is a clear error", async () => {
    await refused({ payload: "x" }, "template-invalid", { recipients: { subject: "{{#alarm}}unclosed" } });
  });
});

describe("alarm-mail-send: header injection", () => {
  it("refuses CR/LF in the subject", async () => {
    await refused({ topic: "Alarm\r\nBcc: victim@evil.example", payload: "x" }, "header-crlf");
  });

  it("refuses CR/LF that a template brings into the subject", async () => {
    await refused({ payload: "line1\nBcc: victim@evil.example" }, "header-crlf", {
      recipients: { subject: "{{payload}}" },
    });
  });

  it("refuses CR/LF in msg.to", async () => {
    await refused({ to: "a@plant.example\r\nBcc: victim@evil.example", payload: "x" }, "address-crlf");
  });

  it("refuses CR/LF in an attachment file name", async () => {
    await refused({ payload: "x", attachments: [{ filename: "a.csv\r\nX-Evil: 1", content: "a;b" }] }, "header-crlf");
  });

  it("refuses attachments that point at files or URLs", async () => {
    await refused(
      { payload: "x", attachments: [{ filename: "passwd", path: "/etc/passwd" }] },
      "attachment-path-refused",
    );
    await helper.unload();
    await refused({ payload: "x", attachments: [{ href: "http://127.0.0.1:1880/flows" }] }, "attachment-href-refused");
  });
});

describe("alarm-mail-send: limits set on the server node", () => {
  it("addresses per field", async () => {
    const error = await refused(
      { to: ["a@x.example", "b@x.example", "c@x.example"], payload: "x" },
      "limit-addresses",
      {
        server: { maxAddresses: 2 },
      },
    );
    assert.match(error, /limit-addresses/);
  });

  it("subject length", async () => {
    await refused({ topic: "x".repeat(21), payload: "x" }, "limit-subject", { server: { maxSubjectLength: 20 } });
  });

  it("body length", async () => {
    await refused({ payload: "x".repeat(101) }, "limit-body", { server: { maxBodyLength: 100 } });
  });

  it("attachment count", async () => {
    const attachments = [1, 2, 3].map((i) => ({ filename: `${i}.txt`, content: "x" }));
    await refused({ payload: "x", attachments }, "limit-attachments", { server: { maxAttachments: 2 } });
  });

  it("attachment total size", async () => {
    const attachments = [{ filename: "big.bin", content: Buffer.alloc(1025) }];
    await refused({ payload: "x", attachments }, "limit-attachment-size", { server: { maxAttachmentKB: 1 } });
  });

  it("within the limits the attachments arrive intact", async () => {
    await loadMailFlow(smtp.port, { server: { maxAttachmentKB: 1 } });
    const content = Buffer.from([0, 1, 2, 250, 255]);
    const out = await deliver({
      payload: "x",
      attachments: [
        { filename: "trend.bin", content, contentType: "application/octet-stream" },
        { filename: "history.csv", content: "time;value\n1;2\n" },
      ],
    });
    assert.equal(out.output, 1);
    const parsed = await (await smtp.waitFor(1))[0].parse();
    assert.deepEqual(
      parsed.attachments.map((a) => [a.filename, a.content.toString("hex")]),
      [
        ["trend.bin", content.toString("hex")],
        ["history.csv", Buffer.from("time;value\n1;2\n").toString("hex")],
      ],
    );
  });
});

describe("alarm-mail-send: configuration problems", () => {
  it("a send node without a server says so", async () => {
    await refused({ payload: "x" }, "config-missing", { send: { server: "" } });
  });

  it("a server with an invalid setting says which", async () => {
    await refused({ payload: "x" }, "config-rule", { server: { port: 70000 } });
  });

  it("a malformed msg.priority is an error, a valid one is passed on", async () => {
    await refused({ payload: "x", priority: "urgent!" }, "priority-invalid");
    await helper.unload();
    await loadMailFlow(smtp.port);
    await deliver({ payload: "x", priority: "high" });
    assert.match((await smtp.waitFor(1))[0].raw.toString(), /^X-Priority: 1/m);
  });

  it("the event filter mails only the chosen events", async () => {
    await loadMailFlow(smtp.port, { send: { events: ["trigger", "recovery"] } });
    helper.getNode("send").receive({ event: "ack", payload: "acked" });
    const out = await deliver({ event: "trigger", payload: "triggered" });
    assert.equal(out.msg.payload, "triggered");
    await deliver({ event: "recovery", payload: "recovered" });
    const mails = await smtp.waitFor(2);
    assert.deepEqual((await Promise.all(mails.map((m) => m.parse()))).map((p) => p.text?.trim()).sort(), [
      "recovered",
      "triggered",
    ]);
  });

  it("a node that mails triggers mails the reminders and escalations of an unacknowledged alarm too", async () => {
    await loadMailFlow(smtp.port, { send: { events: ["trigger"] } });
    helper.getNode("send").receive({ event: "ack", payload: "acked" });
    await deliver({ event: "reminder", payload: "reminded" });
    await deliver({ event: "escalation", payload: "escalated" });
    const mails = await smtp.waitFor(2);
    assert.deepEqual((await Promise.all(mails.map((m) => m.parse()))).map((p) => p.text?.trim()).sort(), [
      "escalated",
      "reminded",
    ]);
  });
});
