import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { ParsedMail } from "mailparser";
import { SmtpSink, type ReceivedMail } from "../../dev/SmtpSink";
import { readConversationIndex } from "../../nodes/lib/mail/MailThreading";
import { HIGH } from "../support/alarms";
import { deliver, helper, loadMailFlow } from "../support/flows";
import { NodeRedProcess } from "../support/NodeRedProcess";
import { smtpServer } from "../support/smtp";

type Prop = { p: string; v: string; vt: string };
const inject = (id: string, props: Prop[], wires = [["block"]]) => ({
  id,
  z: "tab",
  type: "inject",
  props,
  repeat: "",
  once: false,
  wires,
});
const level = (id: string, value: number) =>
  inject(id, [
    { p: "topic", v: "LT-201", vt: "str" },
    { p: "payload", v: String(value), vt: "num" },
  ]);

/**
 * A block whose mails go to two recipient groups through two send nodes, as a plant mails its operators and its
 * night shift. "burst" raises the alarm and acknowledges it in the same instant: the block emits the trigger and the
 * ack one after the other, so the two mails are composed and queued at nearly the same moment. The operators'
 * trigger carries a file from the attachment folder, which the send node reads while composing: the ack, with
 * nothing to read, would be composed first if the send node did not keep the order of its thread.
 */
function flow(smtpPort: number, attachmentFolder: string): object[] {
  return [
    { id: "tab", type: "tab", label: "threads" },
    smtpServer("server", smtpPort, { attachmentFolder }),
    { id: "ops", type: "alarm-mail-recipients", to: "operators@plant.example" },
    { id: "night", type: "alarm-mail-recipients", to: "night@plant.example" },
    {
      id: "block",
      z: "tab",
      type: "alarm-mail-block",
      block: 1,
      alarms: [HIGH],
      version: 1,
      wires: [["attach", "to-night"]],
    },
    {
      id: "attach",
      z: "tab",
      type: "function",
      func: 'if (msg.event === "trigger") msg.attachments = [{ path: "trend.bin" }];\nreturn msg;',
      outputs: 1,
      wires: [["to-ops"]],
    },
    { id: "to-ops", z: "tab", type: "alarm-mail-send", server: "server", recipients: "ops", wires: [[], []] },
    { id: "to-night", z: "tab", type: "alarm-mail-send", server: "server", recipients: "night", wires: [[], []] },
    inject("burst", [], [["both"]]),
    {
      id: "both",
      z: "tab",
      type: "function",
      func: [
        'node.send({ topic: "LT-201", payload: 9 });',
        'node.send({ command: "ack", alarm: "*", user: "ana" });',
        "return null;",
      ].join("\n"),
      outputs: 1,
      wires: [["block"]],
    },
    level("level-9", 9),
    level("level-5", 5),
  ];
}

interface Mail {
  to: string;
  messageId: string;
  inReplyTo?: string;
  references: string[];
  subject: string;
  text: string;
  topic: string;
  index: string;
}

async function read(received: ReceivedMail): Promise<Mail> {
  const parsed: ParsedMail = await received.parse();
  const references = parsed.references === undefined ? [] : [parsed.references].flat();
  return {
    to: received.to.join(","),
    messageId: String(parsed.messageId),
    ...(parsed.inReplyTo ? { inReplyTo: parsed.inReplyTo } : {}),
    references,
    subject: String(parsed.subject),
    text: String(parsed.text).trim(),
    topic: String(parsed.headers.get("thread-topic")),
    index: String(parsed.headers.get("thread-index")),
  };
}

async function mails(smtp: SmtpSink, count: number, red: NodeRedProcess): Promise<Mail[]> {
  try {
    await smtp.waitFor(count, 20_000);
  } catch (err) {
    throw new Error(`${String(err)}\n${red.output}`, { cause: err });
  }
  return Promise.all(smtp.received.slice(0, count).map(read));
}

const GUID = (mail: Mail) => readConversationIndex(mail.index)?.guid;

describe("alarm-mail-send: one thread per occurrence and recipient group, on the mails a real SMTP server received", () => {
  it("trigger, ack and recovery form one thread per group, across a kill -9 of Node-RED; a new occurrence starts another", async () => {
    const smtp = new SmtpSink({ starttls: false });
    await smtp.listen();
    let red = await NodeRedProcess.start();
    try {
      const userDir = red.userDir;
      const folder = join(userDir, "attachments");
      mkdirSync(folder);
      writeFileSync(join(folder, "trend.bin"), randomBytes(256 * 1024));
      await red.deploy(flow(smtp.port, folder));
      await red.inject("burst");
      const before = await mails(smtp, 4, red);
      const ops = before.filter((m) => m.to === "operators@plant.example");
      const night = before.filter((m) => m.to === "night@plant.example");
      assert.equal(ops.length, 2, JSON.stringify(before, null, 1));
      assert.equal(night.length, 2);

      for (const [trigger, ack] of [ops, night]) {
        // The outbox delivers the trigger first, and the ack composed right behind it answers it.
        assert.equal(trigger.subject, "[P2] Basin 2 bacteria level high: ALARM");
        assert.equal(trigger.inReplyTo, undefined, "the root answers nothing");
        assert.deepEqual(trigger.references, []);
        assert.equal(Buffer.from(trigger.index, "base64").length, 22);
        assert.equal(ack.inReplyTo, trigger.messageId);
        assert.deepEqual(ack.references, [trigger.messageId]);
        assert.equal(ack.subject, `Re: ${trigger.subject}`);
        assert.match(ack.text.split("\n")[0], /^\[P2\] Basin 2 bacteria level high: /, "its own subject first");
        assert.notEqual(ack.text.split("\n")[0], trigger.subject);
        assert.equal(ack.topic, trigger.subject);
        assert.equal(Buffer.from(ack.index, "base64").length, 27);
        assert.equal(GUID(ack), GUID(trigger), "one Outlook conversation");
      }
      assert.notEqual(ops[0].messageId, night[0].messageId);
      assert.notEqual(GUID(ops[0]), GUID(night[0]), "two groups, two threads");

      // The thread store and the outbox are on disk once the mails are out: a kill -9 loses neither. The block saves
      // its state within a second, so the kill waits for that: the alarm must still be active after the start.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await red.kill();
      red = await NodeRedProcess.start({ userDir });
      await red.inject("level-5");
      const recovery = (await mails(smtp, 6, red)).slice(4);
      for (const [group, thread] of [
        ["operators@plant.example", ops],
        ["night@plant.example", night],
      ] as const) {
        const mail = recovery.find((m) => m.to === group);
        assert.ok(mail, `a recovery mail to ${group}`);
        assert.equal(mail.inReplyTo, thread[0].messageId, "the root survived the restart");
        assert.deepEqual(
          mail.references,
          thread.map((m) => m.messageId),
          "the root, then the thread's latest mails",
        );
        assert.equal(mail.subject, `Re: ${thread[0].subject}`);
        assert.equal(GUID(mail), GUID(thread[0]));
      }

      await red.inject("level-9");
      const again = (await mails(smtp, 8, red)).slice(6);
      for (const mail of again) {
        assert.equal(mail.subject, "[P2] Basin 2 bacteria level high: ALARM");
        assert.equal(mail.inReplyTo, undefined, "a new occurrence is a new thread");
        assert.ok(![...ops, ...night].some((m) => GUID(m) === GUID(mail)));
      }
      assert.doesNotMatch(red.output, /\[(error|warn)\] \[alarm-mail-send/);
    } finally {
      await red.kill();
      await smtp.close();
    }
  });

  it("a msg that waited alone in a digest window goes in its thread; a mail that lists several events in none", async () => {
    const smtp = new SmtpSink({ starttls: false });
    await smtp.listen();
    try {
      await loadMailFlow(smtp.port, { send: { digest: 100, digestBypass: 1 } });
      const alarm = { id: "LT-201-H", occurrence: "blk/LT-201-H/k1", label: "Basin 2", priority: 3 };
      await deliver({ event: "trigger", alarm, topic: "ALARM Basin 2", payload: "high" });
      await deliver({ event: "ack", alarm, topic: "ACK Basin 2", payload: "acked" });
      // With the times a block gives, the ack is an event that expects its trigger: bound for the same window as
      // the trigger, it must not wait for the trigger to take a thread's root.
      const at = new Date().toISOString();
      const other = { ...alarm, id: "LT-202-H", occurrence: "blk/LT-202-H/k1", triggeredAt: at, ackedAt: at };
      const both = [
        deliver({ event: "trigger", alarm: other, topic: "ALARM Basin 3", payload: "high" }),
        deliver({ event: "ack", alarm: other, topic: "ACK Basin 3", payload: "acked" }),
      ];
      await Promise.all(both);
      const [trigger, ack, digest] = await Promise.all((await smtp.waitFor(3)).map((m) => m.parse()));
      assert.equal(trigger.subject, "ALARM Basin 2");
      assert.equal(ack.inReplyTo, trigger.messageId);
      assert.equal(ack.subject, "Re: ALARM Basin 2");
      assert.equal(digest.inReplyTo, undefined, "a digest of two events belongs to no thread");
      assert.equal(digest.headers.get("thread-index"), undefined);
    } finally {
      await helper.unload();
      await smtp.close();
    }
  });
});
