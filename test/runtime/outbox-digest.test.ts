import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { SmtpSink } from "../../dev/SmtpSink";
import { DigestBuffer } from "../../nodes/lib/digest/DigestBuffer";
import { helper, loadMailFlow, until } from "../support/flows";
import { tempDir } from "../support/tempDir";

let smtp: SmtpSink | undefined;
afterEach(async () => {
  await helper.unload();
  await smtp?.close();
});

const event = (i: number, priority: number) => ({
  event: "trigger",
  topic: `alarm ${i}`,
  alarm: { id: `A${i}`, label: `Tank ${i} level high`, value: 70 + i, priority },
});

describe("flood control: the digest window", () => {
  it("turns an alarm storm into one mail that lists every event; urgent alarms go at once", async () => {
    smtp = new SmtpSink({ starttls: false });
    await smtp.listen();
    await loadMailFlow(smtp.port, {
      send: { digest: 400, digestBypass: 1 },
      recipients: { subject: "{{alarm.label}}", body: "{{alarm.label}} = {{alarm.value}}" },
    });
    const delivered: Array<{ topic?: string; mail?: { messageId: string } }> = [];
    helper.getNode("ok").on("input", (msg: (typeof delivered)[number]) => delivered.push(msg));
    const send = helper.getNode("send");
    for (let i = 1; i <= 12; i++) send.receive(event(i, 3));
    send.receive(event(99, 1));

    const [urgent] = await smtp.waitFor(1);
    assert.equal((await urgent.parse()).subject, "Tank 99 level high", "the urgent alarm did not wait");
    const [, digest] = await smtp.waitFor(2);
    const parsed = await digest.parse();
    assert.match(parsed.subject ?? "", /digest\.subject/);
    for (let i = 1; i <= 12; i++) assert.match(parsed.text ?? "", new RegExp(`Tank ${i} level high\\s+${70 + i}`));
    assert.match(parsed.html || "", /<td>Tank 12 level high<\/td>/);

    await until(() => delivered.length === 13, "13 msgs on output 1");
    const digestIds = delivered.filter((m) => m.topic !== "alarm 99").map((m) => m.mail?.messageId);
    assert.equal(new Set(digestIds).size, 1, "each collected msg reports the digest mail");
    assert.equal(digestIds[0], digest.messageId);
    assert.equal(smtp.received.length, 2);
  });

  it("gives each recipient of an individual group a digest of its own; each msg leaves once, with every mail", async () => {
    smtp = new SmtpSink({ starttls: false });
    await smtp.listen();
    await loadMailFlow(smtp.port, {
      send: { digest: 300, digestBypass: 0 },
      recipients: { to: "ana@plant.example, ben@plant.example", individual: true },
    });
    const delivered: Array<{ topic?: string; mail?: { messageId: string }; mails?: Array<{ messageId: string }> }> = [];
    helper.getNode("ok").on("input", (msg: (typeof delivered)[number]) => delivered.push(msg));
    const send = helper.getNode("send");
    for (let i = 1; i <= 3; i++) send.receive(event(i, 3));

    const digests = await smtp.waitFor(2);
    assert.deepEqual(digests.map((mail) => mail.to).sort(), [["ana@plant.example"], ["ben@plant.example"]]);
    for (const digest of digests) {
      const text = (await digest.parse()).text ?? "";
      for (let i = 1; i <= 3; i++) assert.match(text, new RegExp(`Tank ${i} level high\\s+${70 + i}`));
      assert.doesNotMatch(text, /alarm-mail\/ack/, "no ackBaseUrl: no link");
    }
    await until(() => delivered.length === 3, "3 msgs on output 1");
    for (const msg of delivered) {
      assert.deepEqual(
        msg.mails?.map((m) => m.messageId).sort(),
        digests.map((d) => d.messageId).sort(),
        `${msg.topic}: both digests`,
      );
    }
    assert.equal(smtp.received.length, 2);
  });

  it("a window of one sends that msg as its own mail", async () => {
    smtp = new SmtpSink({ starttls: false });
    await smtp.listen();
    await loadMailFlow(smtp.port, { send: { digest: 100 }, recipients: { subject: "{{alarm.label}}" } });
    helper.getNode("send").receive(event(5, 3));
    assert.equal((await (await smtp.waitFor(1))[0].parse()).subject, "Tank 5 level high");
  });
});

describe("DigestBuffer", () => {
  it("keeps the collected msgs across a restart until the digest is queued", async () => {
    const dir = tempDir("alarm-mail-digest-");
    const buffer = await DigestBuffer.open(dir, () => undefined);
    const a = await buffer.add({ topic: "a" }, 1000);
    await buffer.add({ topic: "b" }, 2000);
    await buffer.close();
    const again = await DigestBuffer.open(dir, () => undefined);
    assert.equal(again.openedAt, 1000);
    assert.deepEqual(
      again.contents().map((i) => i.msg),
      [{ topic: "a" }, { topic: "b" }],
    );
    await again.remove([a.id]);
    await again.close();
    const third = await DigestBuffer.open(dir, () => undefined);
    assert.deepEqual(
      third.contents().map((i) => i.msg),
      [{ topic: "b" }],
    );
    await third.close();
  });

  it("keeps a msg whose record was being written when the window was emptied", async () => {
    // A msg arrives while the digest that empties the window is being queued.
    const dir = tempDir("alarm-mail-digest-");
    const buffer = await DigestBuffer.open(dir, () => undefined);
    const a = await buffer.add({ topic: "a" }, 1000);
    const adding = buffer.add({ topic: "b" }, 2000);
    await buffer.remove([a.id]);
    await adding;
    await buffer.close();
    const again = await DigestBuffer.open(dir, () => undefined);
    assert.deepEqual(
      again.contents().map((i) => i.msg),
      [{ topic: "b" }],
      "on disk, as its add said",
    );
    await again.close();
  });
});
