import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parse } from "csv-parse/sync";
import type { ParsedMail } from "mailparser";
import { SmtpSink } from "../../dev/SmtpSink";
import { AckSigner, type AckClaims } from "../../nodes/lib/ack/AckToken";
import { HIGH } from "../support/alarms";
import { NodeRedProcess } from "../support/NodeRedProcess";
import { smtpServer } from "../support/smtp";

/** Node-RED's httpNode routes under a root of their own: the link must carry it. */
const NODE_ROOT = "/hooks";
const LINK = /https?:\/\/\S+\/alarm-mail\/ack\/[\w.-]+/;
/**
 * A mail's text as its template wrote it: a later mail of an alarm's thread starts with its own subject and a blank
 * line (its subject is the thread's), which the templates here do not write.
 */
function ownText(mail: ParsedMail | undefined): string {
  const text = mail?.text ?? "";
  return mail?.inReplyTo ? text.split("\n").slice(2).join("\n") : text;
}

/** The audit group's template shows what the block's msgs carried, field by field. */
const AUDIT_BODY = "{{event}}|{{alarm.id}}|{{alarm.ackBy}}|{{alarm.ackVia}}|{{comment}}|{{ackUrl}}";

/**
 * The flow of these tests. `ready` names an inject node of its own: a deploy answers before the new flows have
 * started, and pressing that inject works only once they have.
 */
function flow(smtpPort: number, options: { ackBaseUrl: string; block?: boolean; ready?: string }): object[] {
  const inject = (id: string, value: number) => ({
    id,
    z: "tab",
    type: "inject",
    props: [{ p: "payload" }, { p: "topic", vt: "str" }],
    topic: "LT-201",
    payload: String(value),
    payloadType: "num",
    wires: [["block"]],
  });
  return [
    { id: "tab", type: "tab", label: "ack by link" },
    smtpServer("server", smtpPort, { ackBaseUrl: options.ackBaseUrl }),
    { id: "ops", type: "alarm-mail-recipients", to: "ana@plant.example, ben@plant.example", individual: true },
    {
      id: "audit",
      type: "alarm-mail-recipients",
      to: "audit@plant.example",
      subject: "{{event}} {{alarm.id}}",
      body: AUDIT_BODY,
    },
    ...(options.block === false
      ? []
      : [
          {
            id: "block",
            z: "tab",
            type: "alarm-mail-block",
            block: "Basin 2",
            alarms: [HIGH],
            wires: [["send-ops", "send-audit"]],
          },
          // The block's history as a CSV, mailed to the audit group when "export" is pressed.
          {
            id: "export",
            z: "tab",
            type: "inject",
            props: [{ p: "topic", v: "history", vt: "str" }],
            wires: [["csv"]],
          },
          { id: "csv", z: "tab", type: "alarm-mail-csv", source: "history", block: "block", wires: [["send-audit"]] },
        ]),
    inject("high", 9),
    inject("normal", 2),
    ...(options.ready ? [{ ...inject(options.ready, 0), wires: [[]] }] : []),
    { id: "send-ops", z: "tab", type: "alarm-mail-send", server: "server", recipients: "ops", wires: [[], []] },
    { id: "send-audit", z: "tab", type: "alarm-mail-send", server: "server", recipients: "audit", wires: [[], []] },
  ];
}

describe("acknowledge by link, in a real Node-RED with a real SMTP server", () => {
  let smtp: SmtpSink;
  let red: NodeRedProcess;
  /** The mails of the trigger, by recipient, and the links in them. */
  const links = new Map<string, string>();
  let usedLink = "";

  /** The next `count` mails from `from` on, parsed, by their first recipient. */
  const mails = async (from: number, count: number): Promise<Map<string, ParsedMail>> => {
    const received = (await smtp.waitFor(from + count, 20_000)).slice(from, from + count);
    const parsed = await Promise.all(received.map((mail) => mail.parse()));
    return new Map(received.map((mail, index) => [mail.to[0], parsed[index]]));
  };
  const linkIn = (mail: ParsedMail | undefined): string => {
    const found = LINK.exec(mail?.text ?? "");
    assert.ok(found, `a link in:\n${mail?.text}`);
    return found[0];
  };
  /** A link as the current runtime serves it: a restart listens on another port than the one mailed. */
  const here = (link: string) => link.replace(/^http:\/\/127\.0\.0\.1:\d+/, red.url);
  const get = (link: string, language = "en") => fetch(here(link), { headers: { "accept-language": language } });
  const post = (link: string, fields: Record<string, string> = {}) =>
    fetch(here(link), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "accept-language": "en" },
      body: new URLSearchParams(fields).toString(),
    });
  /** The high value, and the three trigger mails it makes (one for each of ana and ben, one for the audit). */
  const trigger = async (): Promise<Map<string, ParsedMail>> => {
    const start = smtp.received.length;
    await red.inject("high");
    return mails(start, 3);
  };

  before(async () => {
    smtp = new SmtpSink({ starttls: false });
    await smtp.listen();
    red = await NodeRedProcess.start({ settings: { httpNodeRoot: NODE_ROOT } });
    await red.deploy(flow(smtp.port, { ackBaseUrl: `${red.url}/`, ready: "started" }));
  });
  after(async () => {
    await red.stop();
    await smtp.close();
  });

  it("mails each recipient of an individual group a link of its own, and templates see {{ackUrl}}", async () => {
    const triggered = await trigger();
    assert.deepEqual([...triggered.keys()].sort(), ["ana@plant.example", "audit@plant.example", "ben@plant.example"]);
    for (const [to, mail] of triggered) {
      assert.deepEqual(
        mail.to && !Array.isArray(mail.to) ? mail.to.value.map((a) => a.address) : [],
        [to],
        "one recipient a mail",
      );
      links.set(to, linkIn(mail));
    }
    const ana = links.get("ana@plant.example") ?? "";
    assert.ok(ana.startsWith(`${red.url}${NODE_ROOT}/alarm-mail/ack/`), ana);
    assert.match(triggered.get("ana@plant.example")?.text ?? "", /Acknowledge: http/, "the default body ends with it");
    assert.notEqual(ana, links.get("ben@plant.example"));
    assert.match(triggered.get("audit@plant.example")?.text ?? "", /^trigger\|LT-201-H\|\|\|\|http/);
  });

  it("GET shows the alarm in the phone's language and acknowledges nothing", async () => {
    const ana = links.get("ana@plant.example") ?? "";
    const page = await get(ana, "fr-CH, fr;q=0.9, en;q=0.5");
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("cache-control"), "no-store");
    assert.equal(page.headers.get("referrer-policy"), "no-referrer");
    assert.match(page.headers.get("content-security-policy") ?? "", /default-src 'none'/);
    const html = await page.text();
    assert.match(html, /<html lang="fr">/);
    assert.match(html, /Basin 2 bacteria level high \(LT-201-H\)/);
    assert.match(html, /en alarme, non acquittée/, "the state in French");
    assert.match(html, /Vous acquittez en tant que ana@plant\.example/);
    assert.doesNotMatch(html, /name="name"/, "the link names its recipient");
    assert.match(await (await get(links.get("audit@plant.example") ?? "")).text(), /name="name"/, "this one nobody");
    // Had the first GET acknowledged, this one would say so.
    assert.match(await (await get(ana)).text(), /<form method="post">/);
  });

  it("POST acknowledges: the ack msg has ackBy, ackVia link and the comment, and the confirmation is mailed", async () => {
    const audit = links.get("audit@plant.example") ?? "";
    const nameless = await post(audit, { comment: "valve closed" });
    assert.equal(nameless.status, 400, "a link naming nobody needs a name");
    const again = await nameless.text();
    assert.match(again, /Type your name/);
    assert.match(again, />valve closed<\/textarea>/, "the comment is kept");

    const start = smtp.received.length;
    const done = await post(audit, { name: "Chris Night", comment: "valve closed" });
    assert.equal(done.status, 200);
    assert.match(await done.text(), /Acknowledged.*acknowledged by Chris Night/s);
    usedLink = audit;
    const confirmations = await mails(start, 3);
    assert.equal(
      ownText(confirmations.get("audit@plant.example")).trim(),
      "ack|LT-201-H|Chris Night|link|valve closed|",
      "no link in the ack's own mail",
    );
    assert.match(confirmations.get("ana@plant.example")?.text ?? "", /acknowledged by Chris Night/);
    assert.doesNotMatch(confirmations.get("ana@plant.example")?.text ?? "", LINK);
  });

  it("a used link is refused as used; another link of that occurrence finds it already acknowledged", async () => {
    const reused = await post(usedLink, { name: "Mallory" });
    assert.equal(reused.status, 409);
    assert.match(await reused.text(), /Link already used/);
    const ben = await post(links.get("ben@plant.example") ?? "");
    assert.equal(ben.status, 200);
    assert.match(await ben.text(), /Already acknowledged/);
  });

  it("a forged link, or one signed by another key, is refused and changes nothing", async () => {
    const [body, mac] = (links.get("ana@plant.example") ?? "").split("/").at(-1)?.split(".") ?? [];
    const base = `${red.url}${NODE_ROOT}/alarm-mail/ack/`;
    const flipped = `${mac.slice(0, 10)}${mac[10] === "A" ? "B" : "A"}${mac.slice(11)}`;
    const forged = await get(`${base}${body}.${flipped}`);
    assert.equal(forged.status, 403);
    assert.match(await forged.text(), /Invalid link/);
    const claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as unknown[];
    const stranger = new AckSigner(Buffer.alloc(32, 7)).sign({
      block: String(claims[1]),
      alarm: String(claims[2]),
      occurrence: String(claims[3]),
      recipient: null,
      expires: Date.now() + 60_000,
    });
    assert.equal((await post(`${base}${stranger}`, { name: "Mallory" })).status, 403);
  });

  it("after a new occurrence, a link of the earlier one is outdated, and the new one still awaits its ack", async () => {
    const old = links.get("ben@plant.example") ?? "";
    const start = smtp.received.length;
    await red.inject("normal");
    const recovered = await mails(start, 3);
    assert.match(ownText(recovered.get("audit@plant.example")), /^recovery\|/);
    const triggered = await trigger();
    for (const [to, mail] of triggered) links.set(to, linkIn(mail));
    const outdated = await post(old);
    assert.equal(outdated.status, 409);
    assert.match(await outdated.text(), /Outdated link/);
    assert.match(await (await get(links.get("ben@plant.example") ?? "")).text(), /<form method="post">/);
  });

  it("an expired link, signed with this gateway's own key, is refused as expired", async () => {
    const key = readFileSync(join(red.userDir, "alarm-mail", "ack", ".key"));
    const token = (links.get("ana@plant.example") ?? "").split("/").at(-1) ?? "";
    const payload = JSON.parse(Buffer.from(token.split(".")[0], "base64url").toString("utf8")) as unknown[];
    const claims: AckClaims = {
      block: String(payload[1]),
      alarm: String(payload[2]),
      occurrence: String(payload[3]),
      recipient: "ana@plant.example",
      expires: Date.now() - 1000,
    };
    const expired = await post(`${red.url}${NODE_ROOT}/alarm-mail/ack/${new AckSigner(key).sign(claims)}`);
    assert.equal(expired.status, 410);
    assert.match(await expired.text(), /Link expired/);
    const valid = new AckSigner(key).sign({ ...claims, expires: Date.now() + 60_000 });
    assert.match(await (await get(`${red.url}${NODE_ROOT}/alarm-mail/ack/${valid}`)).text(), /<form/, "the key");
  });

  it("a used link stays used after a restart", async () => {
    await red.stop();
    red = await NodeRedProcess.start({ userDir: red.userDir, settings: { httpNodeRoot: NODE_ROOT } });
    await red.inject("started");
    const reused = await post(usedLink, { name: "Mallory" });
    assert.equal(reused.status, 409);
    assert.match(await reused.text(), /Link already used/);
    assert.match(await (await get(links.get("ana@plant.example") ?? "")).text(), /<form method="post">/);
  });

  it("a typed name and comment become one line each, and the page shows them as text", async () => {
    const start = smtp.received.length;
    const done = await post(links.get("audit@plant.example") ?? "", {
      name: "Dana\r\nBcc: x@evil.example <i>",
      comment: "=1+1\nline 2",
    });
    assert.equal(done.status, 200);
    assert.match(await done.text(), /Dana Bcc: x@evil\.example &lt;i&gt;/);
    const audit = (await mails(start, 3)).get("audit@plant.example");
    assert.equal(ownText(audit).trim(), "ack|LT-201-H|Dana Bcc: x@evil.example <i>|link|=1+1 line 2|");
  });

  it("keeps each comment typed on the page in the block's history, and its CSV, as text a spreadsheet never runs", async () => {
    const start = smtp.received.length;
    await red.inject("export");
    const exported = (await mails(start, 1)).get("audit@plant.example");
    const csv = exported?.attachments.find((a) => a.filename?.endsWith(".csv"));
    assert.ok(csv, "the history attached");
    const rows = parse(csv.content, { bom: true, relax_column_count: true }) as string[][];
    const column = (name: string) => rows[0].indexOf(name);
    assert.ok(column("Comment") > column("Acknowledged via"), `a column beside ackVia: ${rows[0].join(",")}`);
    const acks = rows.filter((r) => r[column("Event")] === "ack");
    assert.deepEqual(
      acks.map((r) => [r[column("User")], r[column("Acknowledged via")], r[column("Comment")]]),
      [
        ["Chris Night", "link", "valve closed"],
        // Typed as a formula: a spreadsheet shows it as text.
        ["Dana Bcc: x@evil.example <i>", "link", "'=1+1 line 2"],
      ],
    );
  });

  it("a block that was removed gives a page that says so", async () => {
    await red.deploy(flow(smtp.port, { ackBaseUrl: red.url, block: false, ready: "without-block" }));
    await red.inject("without-block");
    const gone = await post(links.get("ana@plant.example") ?? "");
    assert.equal(gone.status, 404);
    assert.match(await gone.text(), /Alarm not found/);
  });

  it("turns an address away with 429 after ten refused links in a minute", async () => {
    const base = `${red.url}${NODE_ROOT}/alarm-mail/ack/`;
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await get(`${base}guess-${i}.AAAA`)).status);
    const first = statuses.indexOf(429);
    assert.ok(first > 0, `refused, then turned away: ${statuses.join(",")}`);
    assert.ok(
      statuses.slice(0, first).every((s) => s === 403),
      statuses.join(","),
    );
    assert.ok(
      statuses.slice(first).every((s) => s === 429),
      statuses.join(","),
    );
    const busy = await get(links.get("ana@plant.example") ?? "");
    assert.equal(busy.status, 429, "a good link too, until the minute is over");
    assert.ok(Number(busy.headers.get("retry-after")) <= 60);
    assert.match(await busy.text(), /Too many tries/);
  });

  it("stands aside while no server has an ackBaseUrl", async () => {
    await red.deploy(flow(smtp.port, { ackBaseUrl: "", ready: "without-links" }));
    await red.inject("without-links");
    const res = await get(links.get("ana@plant.example") ?? "");
    assert.equal(res.status, 404);
    assert.doesNotMatch(await res.text(), /Alarm not found|Too many tries/, "Node-RED's own 404");
  });
});

describe("acknowledge by link: a comment longer than the page takes, in a real Node-RED", () => {
  it("is cut between characters, never inside an emoji's surrogate pair", async () => {
    const smtp = new SmtpSink({ starttls: false });
    await smtp.listen();
    const red = await NodeRedProcess.start({ settings: { httpNodeRoot: NODE_ROOT } });
    try {
      await red.deploy(flow(smtp.port, { ackBaseUrl: `${red.url}/`, ready: "started" }));
      await red.inject("started");
      await red.inject("high");
      const triggers = (await smtp.waitFor(3, 20_000)).slice(0, 3);
      const auditMail = await triggers.find((mail) => mail.to[0] === "audit@plant.example")?.parse();
      const link = LINK.exec(auditMail?.text ?? "")?.[0];
      assert.ok(link, "the audit mail's link");
      // A form posted by a script rather than the page (whose field stops at 500): 601 UTF-16 units, the 500th of
      // which is the first half of an emoji.
      const done = await fetch(link, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", "accept-language": "en" },
        body: new URLSearchParams({ name: "Dana", comment: `a${"😀".repeat(300)}` }).toString(),
      });
      assert.equal(done.status, 200);
      const acks = (await smtp.waitFor(6, 20_000)).slice(3, 6);
      const ack = await acks.find((mail) => mail.to[0] === "audit@plant.example")?.parse();
      const comment = ownText(ack).split("|")[4];
      assert.equal(comment, `a${"😀".repeat(249)}`, "whole emojis only, no replacement character");
    } finally {
      await red.stop();
      await smtp.close();
    }
  });
});

describe("acknowledge by link: a form too large to read, in a real Node-RED whose editor is off the root", () => {
  it("is refused, and nothing is acknowledged without the comment and name it held", async () => {
    const smtp = new SmtpSink({ starttls: false });
    await smtp.listen();
    // With the editor at the root, its body parser reads every form first; moved away (as hardening guides advise),
    // the page reads the form itself, up to its bound.
    const red = await NodeRedProcess.start({ settings: { httpNodeRoot: NODE_ROOT, httpAdminRoot: "/admin" } });
    try {
      await red.deploy(flow(smtp.port, { ackBaseUrl: `${red.url}/`, ready: "started" }));
      await red.inject("started");
      await red.inject("high");
      const triggers = (await smtp.waitFor(3, 20_000)).slice(0, 3);
      const anaMail = await triggers.find((mail) => mail.to[0] === "ana@plant.example")?.parse();
      const link = LINK.exec(anaMail?.text ?? "")?.[0];
      assert.ok(link, "ana's link");
      const refused = await fetch(link, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", "accept-language": "en" },
        body: new URLSearchParams({ comment: "pressure held at 4 bar ".repeat(450) }).toString(),
      });
      assert.equal(refused.status, 413);
      assert.match(await refused.text(), /The form was too large/);
      assert.match(await (await fetch(link)).text(), /<form method="post">/, "still awaiting its ack");
    } finally {
      await red.stop();
      await smtp.close();
    }
  });
});
