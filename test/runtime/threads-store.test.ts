import assert from "node:assert/strict";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { SmtpSink } from "../../dev/SmtpSink";
import { MailThreads } from "../../nodes/lib/thread/MailThreads";
import { deliver, helper, loadMailFlow } from "../support/flows";
import { tempDir } from "../support/tempDir";

let smtp: SmtpSink;
beforeEach(async () => {
  smtp = new SmtpSink({ starttls: false });
  await smtp.listen();
});
afterEach(async () => {
  await helper.unload();
  await smtp.close();
});

const alarm = (occurrence: string) => ({ id: "LT-201-H", occurrence, label: "Basin 2", priority: 1 });

describe("alarm-mail-send: the gateway's thread store", () => {
  it("keeps every alarm mail under its occurrence and group with the addresses it went to, after the flow stops", async () => {
    const userDir = tempDir("alarm-mail-threads-");
    await loadMailFlow(smtp.port, { userDir, recipients: { to: "Ana <Ana@plant.example>", cc: "bob@plant.example" } });
    const first = await deliver({ event: "trigger", alarm: alarm("blk/LT-201-H/k1"), payload: "high" });
    const second = await deliver({ event: "ack", alarm: alarm("blk/LT-201-H/k1"), payload: "acked" });
    const other = await deliver({ event: "trigger", alarm: alarm("blk/LT-201-H/k2"), payload: "high again" });
    const plain = await deliver({ topic: "no alarm", payload: "x" });
    await smtp.waitFor(4);
    await helper.unload();

    const threads = await MailThreads.open(join(userDir, "alarm-mail", "threads"));
    const id = (out: typeof first) => String(out.msg.mail?.messageId);
    const thread = threads.find(id(second));
    assert.ok(thread, "the ack mail is in a thread");
    assert.equal(thread.root, id(first), "the trigger mail is its root");
    assert.deepEqual(
      [thread.block, thread.alarm, thread.group, thread.occurrence],
      ["blk", "LT-201-H", "recipients", "blk/LT-201-H/k1"],
    );
    assert.deepEqual(thread.recipients.sort(), ["ana@plant.example", "bob@plant.example"]);
    assert.equal(threads.find(id(other))?.root, id(other), "a new occurrence is a new thread");
    assert.equal(threads.find(id(plain)), undefined, "a mail about no alarm is in no thread");
    await threads.close();
  });
});
