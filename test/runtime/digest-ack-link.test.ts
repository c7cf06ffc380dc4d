import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { ParsedMail } from "mailparser";
import { SmtpSink } from "../../dev/SmtpSink";
import { HIGH } from "../support/alarms";
import { NodeRedProcess, recorded, recorder } from "../support/NodeRedProcess";
import { until } from "../support/until";
import { smtpServer } from "../support/smtp";

const LINKS = /https?:\/\/\S+\/alarm-mail\/ack\/[\w.-]+/g;
const TANKS = [1, 2, 3, 4, 5];
/** What the recorder keeps of each msg out of the block. */
const RECORD = "({ event: msg.event, alarm: msg.alarm.id, ackBy: msg.alarm.ackBy, ackVia: msg.alarm.ackVia })";

interface Line {
  event: string;
  alarm: string;
  ackBy: string | null;
  ackVia: string | null;
}

/** A function node that sends its msgs to the block one after the other, in one go. */
function burst(id: string, msgs: object[]): object[] {
  return [
    { id, z: "tab", type: "inject", props: [], wires: [[`${id}-msgs`]] },
    {
      id: `${id}-msgs`,
      z: "tab",
      type: "function",
      func: `node.send([${JSON.stringify(msgs)}]);\nreturn null;`,
      outputs: 1,
      wires: [["block"]],
    },
  ];
}

/**
 * A block of five tank alarms whose triggers a send node collects in a digest window, to a group that gets one mail
 * per recipient. The send node mails triggers only: an ack reaches the mail only through the block's state.
 */
function flow(smtpPort: number, ackBaseUrl: string, record: string): object[] {
  return [
    { id: "tab", type: "tab", label: "digest with links" },
    smtpServer("server", smtpPort, { ackBaseUrl }),
    { id: "ops", type: "alarm-mail-recipients", to: "ana@plant.example, ben@plant.example", individual: true },
    {
      id: "block",
      z: "tab",
      type: "alarm-mail-block",
      block: "Tanks",
      alarms: TANKS.map((n) => ({ ...HIGH, id: `A${n}`, label: `Tank ${n} level high`, topic: `T${n}`, priority: 3 })),
      wires: [["send", "block-json"]],
    },
    ...recorder("block", "tab", record, RECORD),
    // Three alarms at once: a storm.
    ...burst("storm", [{ payload: { T1: 9.1, T2: 9.2, T3: 9.3 } }]),
    // Tank 2 back to normal, then high again: a new occurrence.
    ...burst("again", [{ payload: { T2: 2 } }, { payload: { T2: 9.4 } }]),
    // Two alarms, the first acknowledged from the flow before the window closes.
    ...burst("settled", [{ payload: { T4: 9.5, T5: 9.6 } }, { command: "ack", alarm: "A4", user: "Eve" }]),
    {
      id: "send",
      z: "tab",
      type: "alarm-mail-send",
      server: "server",
      recipients: "ops",
      events: ["trigger"],
      digest: 1500,
      digestBypass: 0,
      wires: [[], []],
    },
  ];
}

/** What a link's token names, read from its (signed, not secret) first part. */
function claimsOf(link: string): { alarm: string; recipient: string | null } {
  const body = link.split("/").at(-1)?.split(".")[0] ?? "";
  const payload = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as unknown[];
  return { alarm: String(payload[2]), recipient: payload[4] === null ? null : String(payload[4]) };
}

describe("digest mails with acknowledge links, in a real Node-RED with a real SMTP server", () => {
  let smtp: SmtpSink;
  let red: NodeRedProcess;
  const record = join(mkdtempSync(join(tmpdir(), "alarm-mail-digest-ack-")), "block.jsonl");
  /** The storm's links, by recipient, then by alarm. */
  const links = new Map<string, Map<string, string>>();

  /** The next `count` mails from `from` on, parsed, by their envelope's recipient. */
  const mails = async (from: number, count: number): Promise<Map<string, ParsedMail>> => {
    const received = (await smtp.waitFor(from + count, 20_000)).slice(from, from + count);
    const parsed = await Promise.all(received.map((mail) => mail.parse()));
    return new Map(received.map((mail, index) => [mail.to[0], parsed[index]]));
  };
  const link = (to: string, alarm: string) => links.get(to)?.get(alarm) ?? assert.fail(`${to}'s link for ${alarm}`);
  const get = (url: string) => fetch(url, { headers: { "accept-language": "en" } });
  const post = (url: string) =>
    fetch(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "accept-language": "en" },
      body: new URLSearchParams({ comment: "pump restarted" }).toString(),
    });
  const acks = () => recorded<Line>(record).filter((line) => line.event === "ack");

  before(async () => {
    smtp = new SmtpSink({ starttls: false });
    await smtp.listen();
    red = await NodeRedProcess.start();
    await red.deploy(flow(smtp.port, red.url, record));
  });
  after(async () => {
    await red.stop();
    await smtp.close();
  });

  it("lists each alarm of a storm with a link of its own, in text and HTML, naming each recipient", async () => {
    await red.inject("storm");
    const digests = await mails(0, 2);
    assert.deepEqual([...digests.keys()].sort(), ["ana@plant.example", "ben@plant.example"], "one digest each");
    for (const [to, mail] of digests) {
      const text = mail.text ?? "";
      assert.match(mail.subject ?? "", /3 alarm events/);
      const inText = text.match(LINKS) ?? [];
      assert.equal(inText.length, 3, text);
      const inHtml = [...(mail.html || "").matchAll(/<a href="([^"]+)">Acknowledge<\/a>/g)].map((m) => m[1]);
      assert.deepEqual(inHtml, inText, "the same links in the HTML part");
      const byAlarm = new Map(inText.map((url) => [claimsOf(url).alarm, url]));
      assert.deepEqual([...byAlarm.keys()].sort(), ["A1", "A2", "A3"]);
      for (const [alarm, url] of byAlarm) {
        assert.equal(claimsOf(url).recipient, to, "the link names the mail's recipient");
        // Each link sits under its alarm's row.
        const n = alarm.slice(1);
        assert.match(
          text,
          new RegExp(`Tank ${n} level high\\s+9\\.${n}\\n\\s+Acknowledge: ${url.replace(/\./g, "\\.")}`),
        );
      }
      links.set(to, byAlarm);
    }
    const all = [...links.values()].flatMap((byAlarm) => [...byAlarm.values()]);
    assert.equal(new Set(all).size, 6, "six distinct links");
    assert.match(await (await get(link("ana@plant.example", "A1"))).text(), /You acknowledge as ana@plant\.example/);
  });

  it("a POST on one link acknowledges that alarm only: the block's ack says ana, by link", async () => {
    const done = await post(link("ana@plant.example", "A2"));
    assert.equal(done.status, 200);
    assert.match(await done.text(), /Acknowledged/);
    await until(() => acks().length > 0, "the block's ack msg");
    assert.deepEqual(acks(), [{ event: "ack", alarm: "A2", ackBy: "ana@plant.example", ackVia: "link" }]);
    for (const alarm of ["A1", "A3"]) {
      assert.match(await (await get(link("ana@plant.example", alarm))).text(), /<form method="post">/, alarm);
    }
    const bens = await get(link("ben@plant.example", "A2"));
    assert.match(await bens.text(), /Already acknowledged/, "ben's link of the same alarm");
  });

  it("the link of an acknowledged alarm that occurred again is outdated, and changes nothing", async () => {
    const start = smtp.received.length;
    await red.inject("again");
    // The new occurrence is alone in its window: it goes as its own mail, with its own link.
    const single = await mails(start, 2);
    const fresh = (single.get("ben@plant.example")?.text ?? "").match(LINKS) ?? [];
    assert.equal(fresh.length, 1);
    assert.notEqual(fresh[0], link("ben@plant.example", "A2"));
    const old = await post(link("ben@plant.example", "A2"));
    assert.equal(old.status, 409);
    assert.match(await old.text(), /Outdated link/);
    assert.equal(acks().length, 1, "no second ack");
    assert.match(await (await get(fresh[0])).text(), /<form method="post">/, "the new occurrence awaits its ack");
  });

  it("an alarm acknowledged before its digest is composed is listed without a link", async () => {
    const start = smtp.received.length;
    await red.inject("settled");
    const digests = await mails(start, 2);
    await until(() => acks().length === 2, "the flow's ack of A4");
    for (const [to, mail] of digests) {
      const text = mail.text ?? "";
      assert.match(text, /Tank 4 level high/, `${to}: the trigger is listed`);
      const found = text.match(LINKS) ?? [];
      assert.deepEqual(
        found.map((url) => claimsOf(url).alarm),
        ["A5"],
        `${to}: only the alarm still awaiting its ack has a link`,
      );
      assert.equal((mail.html || "").match(/<a href=/g)?.length, 1);
    }
  });
});
