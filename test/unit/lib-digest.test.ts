import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DigestItem } from "../../nodes/lib/digest/DigestBuffer";
import { digestAwaitsAck, digestHtml, digestLines, digestText } from "../../nodes/lib/digest/DigestMail";

const WORDS = {
  intro: "3 alarm events between 08:00:00 and 08:00:02:",
  headings: { time: "Time", event: "Event", label: "Alarm", value: "Value" },
  ackLink: "Acknowledge",
};

/** A msg as the block sends it, collected at second `at` of the window. */
function item(at: number, event: string, alarm: Record<string, unknown>): DigestItem {
  return { id: `${at}`, at, msg: { event, alarm } };
}
const occurrence = (id: string, n = 1) => `b1/${id}/t${n}`;
const raised = (id: string, n = 1) => ({
  id,
  label: `${id} high`,
  value: 9,
  occurrence: occurrence(id, n),
  ackedAt: null,
});
const acked = (id: string, n = 1) => ({ ...raised(id, n), ackedAt: "2026-01-15T08:00:01.000Z" });

describe("digestAwaitsAck: which rows of a digest ask for an acknowledgement", () => {
  it("each trigger, reminder and escalation; never a recovery nor an ack", () => {
    const items = [
      item(0, "trigger", raised("A1")),
      item(1, "reminder", raised("A2")),
      item(2, "escalation", raised("A3")),
      item(3, "recovery", raised("A4")),
      item(4, "ack", acked("A5")),
      item(5, "shelve", raised("A6")),
    ];
    assert.deepEqual(digestAwaitsAck(items), [true, true, true, false, false, false]);
  });

  it("not a trigger whose occurrence was acknowledged later in the same window", () => {
    const items = [
      item(0, "trigger", raised("A1")),
      item(1, "trigger", raised("A2")),
      item(2, "trigger", raised("A3")),
      item(3, "ack", acked("A1")),
      // A node that mails no acks still sees it in the recovery's ackedAt.
      item(4, "recovery", acked("A2")),
    ];
    assert.deepEqual(digestAwaitsAck(items), [false, false, true, false, false]);
  });

  it("a recovery that is not acknowledged leaves its trigger awaiting the ack", () => {
    const items = [item(0, "trigger", raised("A1")), item(1, "recovery", raised("A1"))];
    assert.deepEqual(digestAwaitsAck(items), [true, false]);
  });

  it("an ack before a new occurrence of the same alarm does not answer that one", () => {
    const items = [
      item(0, "trigger", raised("A1", 1)),
      item(1, "ack", acked("A1", 1)),
      item(2, "trigger", raised("A1", 2)),
    ];
    assert.deepEqual(digestAwaitsAck(items), [false, false, true]);
  });

  it("msgs that are not the block's (no alarm, no occurrence) are read without failing", () => {
    const items: DigestItem[] = [
      { id: "1", at: 0, msg: null },
      { id: "2", at: 1, msg: { event: "trigger", topic: "pump 3" } },
      { id: "3", at: 2, msg: { event: "ack", alarm: { ackedAt: "x" } } },
    ];
    assert.deepEqual(digestAwaitsAck(items), [false, true, false]);
  });
});

describe("digest text and HTML with acknowledge links", () => {
  const time = (ms: number) => `08:00:0${ms}`;
  const items = [
    item(0, "trigger", raised("A1")),
    item(1, "trigger", raised("LONG-ALARM-2")),
    item(2, "recovery", raised("A3")),
  ];
  const plain = digestLines(items, time);
  const linked = plain.map((line, i) =>
    i === 2 ? line : { ...line, ackUrl: `https://gw.example/alarm-mail/ack/tok${i}.mac&x="<y>"` },
  );

  it("the text puts each row's link on the line under it, in the event column", () => {
    assert.equal(
      digestText(linked, WORDS),
      [
        WORDS.intro,
        "",
        "Time      Event     Alarm              Value",
        "08:00:00  trigger   A1 high            9",
        '          Acknowledge: https://gw.example/alarm-mail/ack/tok0.mac&x="<y>"',
        "08:00:01  trigger   LONG-ALARM-2 high  9",
        '          Acknowledge: https://gw.example/alarm-mail/ack/tok1.mac&x="<y>"',
        "08:00:02  recovery  A3 high            9",
      ].join("\n"),
    );
  });

  it("the HTML has a link column, the address escaped in its attribute, an empty cell where a row has none", () => {
    const html = digestHtml(linked, WORDS);
    assert.match(html, /<tr><th>Time<\/th><th>Event<\/th><th>Alarm<\/th><th>Value<\/th><th><\/th><\/tr>/);
    assert.match(
      html,
      /<td>A1 high<\/td><td>9<\/td><td><a href="https:\/\/gw\.example\/alarm-mail\/ack\/tok0\.mac&amp;x=&quot;&lt;y&gt;&quot;">Acknowledge<\/a><\/td><\/tr>/,
    );
    assert.match(html, /<td>recovery<\/td><td>A3 high<\/td><td>9<\/td><td><\/td><\/tr>/);
    assert.equal(html.match(/<a href=/g)?.length, 2);
  });

  it("without any link, text and HTML are the digest as it was: no link line, no link column", () => {
    assert.equal(
      digestText(plain, WORDS),
      [
        WORDS.intro,
        "",
        "Time      Event     Alarm              Value",
        "08:00:00  trigger   A1 high            9",
        "08:00:01  trigger   LONG-ALARM-2 high  9",
        "08:00:02  recovery  A3 high            9",
      ].join("\n"),
    );
    const html = digestHtml(plain, WORDS);
    assert.doesNotMatch(html, /<a |<th><\/th>|<td><\/td>/);
    assert.match(html, /<tr><td>08:00:02<\/td><td>recovery<\/td><td>A3 high<\/td><td>9<\/td><\/tr>/);
  });
});
