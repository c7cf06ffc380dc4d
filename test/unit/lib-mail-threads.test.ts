import assert from "node:assert/strict";
import { appendFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { MailThreads, type ThreadedMail } from "../../nodes/lib/thread/MailThreads";
import { tempDir } from "../support/tempDir";

const T0 = Date.UTC(2026, 11, 6, 3, 0, 0);
const DAY = 24 * 60 * 60 * 1000;

function mail(messageId: string, fields: Partial<ThreadedMail> = {}): ThreadedMail {
  return {
    messageId,
    occurrence: "b1/LT-201-H/abc",
    block: "b1",
    alarm: "LT-201-H",
    group: "ops",
    recipients: ["Ana@Plant.example"],
    at: T0,
    ...fields,
  };
}

const dir = () => tempDir("threads-");

describe("MailThreads", () => {
  it("makes the first mail of an occurrence and group the root, and finds the thread from any of its mails", async () => {
    const threads = await MailThreads.open(dir(), { now: () => T0 });
    await threads.record(mail("<1@x>"));
    await threads.record(mail("<2@x>", { recipients: ["bob@plant.example", "ana@plant.example"] }));
    await threads.record(mail("<3@x>", { group: "night" }));
    const ops = threads.thread("b1/LT-201-H/abc", "ops");
    assert.equal(ops?.root, "<1@x>");
    assert.deepEqual(ops?.messageIds, ["<1@x>", "<2@x>"]);
    assert.deepEqual(ops?.recipients, ["ana@plant.example", "bob@plant.example"], "lower case, once each");
    assert.equal(threads.find("<2@x>"), ops);
    assert.equal(threads.thread("b1/LT-201-H/abc", "night")?.root, "<3@x>", "another group is another thread");
    assert.equal(threads.find("<nope@x>"), undefined);
    await threads.close();
  });

  it("gives the threads back after a reopen, skips a damaged line, and compacts what it read", async () => {
    const folder = dir();
    const threads = await MailThreads.open(folder, { now: () => T0 });
    for (let i = 0; i < 5; i += 1) await threads.record(mail(`<${i}@x>`, { occurrence: `b1/A/${i % 2}` }));
    await threads.close();
    const [segment] = readdirSync(folder).filter((f) => f.startsWith("journal-"));
    appendFileSync(join(folder, segment), "00000000 {torn");
    const damaged: string[] = [];
    const again = await MailThreads.open(folder, { now: () => T0, onCorrupt: (c) => damaged.push(c.reason) });
    assert.deepEqual(damaged, ["torn"]);
    assert.deepEqual(again.thread("b1/A/0", "ops")?.messageIds, ["<0@x>", "<2@x>", "<4@x>"]);
    assert.equal(again.find("<3@x>")?.root, "<1@x>");
    await again.close();
  });

  it("forgets threads past their retention and the least recently used beyond its bound", async () => {
    const folder = dir();
    let now = T0;
    const threads = await MailThreads.open(folder, { now: () => now, retentionMs: DAY, maxThreads: 2 });
    await threads.record(mail("<a@x>", { occurrence: "b/A/1" }));
    await threads.record(mail("<b@x>", { occurrence: "b/A/2" }));
    await threads.record(mail("<a2@x>", { occurrence: "b/A/1" }));
    await threads.record(mail("<c@x>", { occurrence: "b/A/3" }));
    assert.equal(threads.find("<b@x>"), undefined, "the least recently used of three, with room for two");
    assert.equal(threads.find("<a@x>")?.root, "<a@x>");
    await threads.close();
    now = T0 + 2 * DAY;
    const later = await MailThreads.open(folder, { now: () => now, retentionMs: DAY });
    assert.equal(later.find("<c@x>"), undefined, "older than the retention");
    await later.close();
  });
});
