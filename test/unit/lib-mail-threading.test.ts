import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { simpleParser } from "mailparser";
import { Journal } from "../../nodes/lib/common/Journal";
import { DEFAULT_LIMITS, MailComposer, type OutgoingMail } from "../../nodes/lib/mail/MailComposer";
import {
  conversationIndex,
  joinThread,
  MAX_REFERENCES,
  readConversationIndex,
  referencesOf,
  replySubject,
  threadGroup,
  topicOf,
} from "../../nodes/lib/mail/MailThreading";
import { Outbox } from "../../nodes/lib/outbox/Outbox";
import { MailThreads } from "../../nodes/lib/thread/MailThreads";
import { ThreadTurns } from "../../nodes/lib/thread/ThreadTurns";
import { buildMime } from "../../nodes/lib/transport/Mime";
import { tempDir } from "../support/tempDir";

const T0 = Date.UTC(2026, 11, 6, 3, 0, 0);
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const dir = () => tempDir("alarm-mail-threading-");

const composer = new MailComposer({
  from: { name: "Gateway", address: "gw@plant.example" },
  allowMsgFrom: false,
  limits: DEFAULT_LIMITS,
});
const compose = (topic: string, payload: string, html?: string) =>
  composer.compose(undefined, { to: "op@plant.example", topic, payload, ...(html ? { html } : {}) }, {});

describe("Mail threading headers", () => {
  it("leaves the root's subject and body as they are, and answers the root from every later mail", async () => {
    const trigger = joinThread(await compose("ALARM Basin 2 high", "level 4.2 m"), undefined, T0);
    assert.equal(trigger.subject, "ALARM Basin 2 high");
    assert.equal(trigger.text, "level 4.2 m");
    assert.deepEqual(trigger.thread?.references, []);
    assert.equal(trigger.thread?.root, trigger.messageId);

    const before = {
      root: trigger.messageId,
      messageIds: [trigger.messageId],
      subject: trigger.subject,
      startedAt: T0,
    };
    const ack = joinThread(await compose("ACK Basin 2 high", "acknowledged by ana", "<p>by ana</p>"), before, T0 + 1);
    assert.equal(ack.subject, "Re: ALARM Basin 2 high", "the root's subject after a prefix that clients ignore");
    assert.equal(ack.text, "ACK Basin 2 high\n\nacknowledged by ana", "its own subject is the body's first line");
    assert.equal(ack.html, "<p><strong>ACK Basin 2 high</strong></p><p>by ana</p>");
    assert.equal(ack.thread?.root, trigger.messageId);
    assert.deepEqual(ack.thread?.references, [trigger.messageId]);
    assert.equal(ack.thread?.topic, "ALARM Basin 2 high");
    assert.equal(ack.thread?.position, 2);
    assert.equal(trigger.thread?.position, 1);

    const same = joinThread(await compose("ALARM Basin 2 high", "still high"), before, T0 + 2);
    assert.equal(same.text, "still high", "a subject that says the same as the root's adds no line");
  });

  it("strips reply and forward prefixes once, whatever their case and language", () => {
    assert.equal(topicOf("Re: RE: Fwd: AW: Basin 2"), "Basin 2");
    assert.equal(topicOf("ALARM: Basin 2"), "ALARM: Basin 2", "a word of the alarm's own is no prefix");
    assert.equal(replySubject("Re: Basin 2"), "Re: Basin 2", "never Re: Re:");
  });

  it("keeps References to the root and the latest mails", () => {
    const ids = Array.from({ length: 25 }, (_, i) => `<${i}@x>`);
    const refs = referencesOf(ids);
    assert.equal(refs.length, MAX_REFERENCES);
    assert.equal(refs[0], "<0@x>", "the root stays");
    assert.deepEqual(refs.slice(1), ids.slice(25 - (MAX_REFERENCES - 1)), "then the latest, oldest first");
    assert.deepEqual(referencesOf(ids.slice(0, 3)), ids.slice(0, 3), "a short thread is kept whole");
  });

  it("builds Outlook's conversation index: 22 bytes for the root, one 5-byte level for each answer", () => {
    const root = conversationIndex("<root@x>", T0);
    const answer = conversationIndex("<root@x>", T0, { messageId: "<ack@x>", at: T0 + 7 * MINUTE });
    assert.equal(Buffer.from(root, "base64").length, 22);
    assert.equal(Buffer.from(answer, "base64").length, 27);
    assert.ok(Buffer.from(answer, "base64").subarray(0, 22).equals(Buffer.from(root, "base64")), "same header");
    const read = readConversationIndex(answer);
    assert.ok(read);
    assert.equal(read.guid, readConversationIndex(conversationIndex("<root@x>", T0 + DAY))?.guid, "GUID from root");
    assert.notEqual(read.guid, readConversationIndex(conversationIndex("<other@x>", T0))?.guid);
    // The header keeps the top 40 bits of the FILETIME (1.7 s steps), the level the delta's bits from 18 (26 ms).
    assert.ok(Math.abs(read.times[0] - T0) < 1700, `header time ${new Date(read.times[0]).toISOString()}`);
    assert.ok(Math.abs(read.times[1] - (T0 + 7 * MINUTE)) < 60, `answer time ${new Date(read.times[1]).toISOString()}`);
    const late = readConversationIndex(
      conversationIndex("<root@x>", T0, { messageId: "<late@x>", at: T0 + 3 * 365 * DAY }),
    );
    assert.ok(late && Math.abs(late.times[1] - (T0 + 3 * 365 * DAY)) < 1000, "beyond 1.7 years: the coarse code");
  });

  it("names a thread's group by the recipients node, and by the recipient for an individual group", () => {
    assert.equal(threadGroup("ops"), "ops");
    assert.equal(threadGroup(undefined), "msg");
    assert.equal(threadGroup("ops", "Ana@Plant.example"), "ops/ana@plant.example");
  });

  it("writes the headers into the MIME that Graph and Gmail send", async () => {
    const before = {
      root: "<root@plant.example>",
      messageIds: ["<root@plant.example>"],
      subject: "Bäsin",
      startedAt: T0,
    };
    const ack = joinThread(await compose("ACK Bäsin", "acked"), before, T0 + MINUTE);
    const parsed = await simpleParser(await buildMime(ack));
    assert.equal(parsed.inReplyTo, "<root@plant.example>");
    assert.equal(parsed.references, "<root@plant.example>");
    assert.equal(parsed.subject, "Re: Bäsin");
    assert.equal(parsed.headers.get("thread-topic"), "=?UTF-8?Q?B=C3=A4sin?=", "a non-ASCII topic as an encoded word");
    assert.equal(parsed.headers.get("thread-index"), ack.thread?.index);
    const root = await simpleParser(await buildMime(joinThread(await compose("Bäsin", "x"), undefined, T0)));
    assert.equal(root.inReplyTo, undefined, "the root answers nothing");
    assert.equal(root.references, undefined);
    assert.equal(Buffer.from(String(root.headers.get("thread-index")), "base64").length, 22);
  });
});

describe("Threading in the outbox and the thread store", () => {
  it("keeps a queued mail's threading across a reopen, and still loads records written before it existed", async () => {
    const path = dir();
    const old = await compose("old alarm", "queued by an older version");
    const { thread: _none, ...plain } = old;
    // A queued record exactly as an older version wrote it: no thread in the mail nor in the summary.
    const journal = await Journal.open<unknown>(
      path,
      () => undefined,
      () => undefined,
      () => undefined,
    );
    await journal.append({
      t: "q",
      seq: 1,
      id: plain.messageId,
      rank: 3,
      createdAt: T0,
      summary: { to: ["op@plant.example"], subject: plain.subject },
      mail: { ...plain, date: plain.date.toISOString(), attachments: [] },
    });
    await journal.close();

    const outbox = await Outbox.open(path);
    const before = {
      root: "<root@plant.example>",
      messageIds: ["<root@plant.example>"],
      subject: "ALARM",
      startedAt: T0,
    };
    const ack: OutgoingMail = joinThread(await compose("ACK", "acked"), before, T0 + MINUTE);
    await outbox.enqueue(ack, { rank: 1 });
    await outbox.close();

    const again = await Outbox.open(path);
    const [first, second] = [...again.pending()].sort((a, b) => a.rank - b.rank);
    assert.deepEqual(second.summary, { to: ["op@plant.example"], subject: "old alarm" });
    assert.equal((await again.load(old.messageId)).mail.thread, undefined);
    assert.deepEqual(first.summary.thread, { root: "<root@plant.example>", topic: "ALARM", position: 2 });
    assert.deepEqual((await again.load(ack.messageId)).mail.thread, ack.thread);
    await again.close();
  });

  it("gives a mail its place when reserved, keeps that order on disk, and forgets a withdrawn one after a reopen", async () => {
    const path = dir();
    const threads = await MailThreads.open(path, { now: () => T0 });
    const base = { occurrence: "b/A/1", block: "b", alarm: "A", group: "ops", recipients: ["op@x"] };
    assert.equal(threads.reserve({ ...base, messageId: "<t@x>", at: T0, subject: "ALARM" }), undefined, "the root");
    const ackBefore = threads.reserve({ ...base, messageId: "<a@x>", at: T0 + 1, subject: "ACK" });
    assert.equal(ackBefore?.root, "<t@x>", "answers the root before the root is on disk");
    assert.deepEqual(ackBefore?.messageIds, ["<t@x>"]);
    threads.reserve({ ...base, messageId: "<r@x>", at: T0 + 2, subject: "RTN" });
    // The ack is recorded (queued) before the root: the root stays the root.
    await threads.record({ ...base, messageId: "<a@x>", at: T0 + 1, subject: "ACK" });
    await threads.record({ ...base, messageId: "<t@x>", at: T0, subject: "ALARM" });
    threads.withdraw("<r@x>");
    await threads.close();

    const again = await MailThreads.open(path, { now: () => T0 });
    const thread = again.thread("b/A/1", "ops");
    assert.equal(thread?.root, "<t@x>");
    assert.equal(thread?.subject, "ALARM");
    assert.equal(thread?.startedAt, T0);
    assert.deepEqual(thread?.messageIds, ["<t@x>", "<a@x>"], "the withdrawn mail stays out");
    await again.close();
    const compacted = await MailThreads.open(path, { now: () => T0 });
    assert.equal(compacted.thread("b/A/1", "ops")?.subject, "ALARM", "the root's subject survives a compaction");
    assert.equal(compacted.thread("b/A/1", "ops")?.startedAt, T0, "and its start");
    await compacted.close();
  });

  it("says that a closed store could not keep a mail, only to the one who records it", async () => {
    const threads = await MailThreads.open(dir(), { now: () => T0 });
    await threads.close();
    const base = { occurrence: "b/A/1", block: "b", alarm: "A", group: "ops", recipients: [], at: T0 };
    threads.reserve({ ...base, messageId: "<kept@x>" });
    threads.reserve({ ...base, messageId: "<dropped@x>" });
    threads.withdraw("<dropped@x>");
    await assert.rejects(threads.record({ ...base, messageId: "<kept@x>" }), /thread store closed/);
    // An unhandled rejection would end this test run here.
    await new Promise((resolve) => setImmediate(resolve));
  });

  it("takes turns per thread in the order asked, while other threads go on", async () => {
    const turns = new ThreadTurns();
    const order: string[] = [];
    const first = turns.take("a");
    const second = turns.take("a");
    const other = turns.take("b");
    void second.ready.then(() => order.push("a2"));
    await other.ready;
    order.push("b1");
    other.release();
    await first.ready;
    order.push("a1");
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(order, ["b1", "a1"], "the second turn of a waits for the first");
    first.release();
    await second.ready;
    second.release();
    assert.deepEqual(order, ["b1", "a1", "a2"]);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(turns.busy, 0, "a thread with no turn left is forgotten");
  });

  it("lets mails wait for their thread's root, wakes them in the order they came, and gives up after the wait", async () => {
    const turns = new ThreadTurns();
    const woken: string[] = [];
    // The waits do not keep the process alive (a stopping Node-RED must not wait for them): this test does.
    const alive = setInterval(() => undefined, 1000);
    try {
      const ack = turns.whenStarted("a", 60_000).then((came) => woken.push(`ack ${came}`));
      const recovery = turns.whenStarted("a", 60_000).then((came) => woken.push(`recovery ${came}`));
      const other = turns.whenStarted("b", 1);
      assert.equal(await other, false, "no root within the wait");
      turns.started("a");
      await Promise.all([ack, recovery]);
      assert.deepEqual(woken, ["ack true", "recovery true"]);
      assert.equal(turns.busy, 0);
    } finally {
      clearInterval(alive);
    }
  });
});
