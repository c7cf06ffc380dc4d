import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  baseSubject,
  headerValue,
  matchSubject,
  judgeReply,
  matchReply,
  messageIds,
  settle,
  type RepliedMail,
  type Reply,
  type ReplyLookup,
} from "../../nodes/lib/inbox/ReplyDecision";
import { firstLine, htmlToText, newText, startsWithAckWord } from "../../nodes/lib/inbox/ReplyText";
import { INBOX_CONFIG_VERSION, migrateInboxConfig, parseInboxSettings } from "../../nodes/lib/inbox/InboxSettings";
import { InboxError } from "../../nodes/lib/inbox/InboxError";
import { UidMark } from "../../nodes/lib/inbox/UidMark";
import { tempDir } from "../support/tempDir";

describe("ReplyText: what the person wrote", () => {
  it("takes the lines above the quoted alarm mail and its header, in each client's wording", () => {
    const cases: Array<[string, string]> = [
      [
        "OK, on my way\r\n\r\nOn Mon, 6 Jan 2026 at 08:42, Alarm <a@plant.example> wrote:\r\n> LT-201 high",
        "OK, on my way",
      ],
      ["ack\n\nOn 6 Jan 2026, at 08:42, Alarm Mail\n<a@plant.example> wrote:\n\n> text", "ack"],
      ["Acquitter.\n\nLe lun. 6 janv. 2026 à 08:42, Alarme <a@b.fr> a écrit :\n> texte", "Acquitter."],
      ["Quittieren\n\nAm Mo., 6. Jan. 2026 um 08:42 Uhr schrieb Alarm <a@b.de>:\n> Text", "Quittieren"],
      ["ok\n\nÎn lun., 6 ian. 2026 la 08:42, Alarm <a@b.ro> a scris:\n> text", "ok"],
      ["confirm\n\n-----Original Message-----\nFrom: Alarm\nSubject: x", "confirm"],
      ["ok\n________________________________\nFrom: Alarm <a@b>\nSent: Monday", "ok"],
      ["ok\nDe : Alarme <a@b>\nEnvoyé : lundi", "ok"],
      ["ack\n-- \nAna Pop\nShift lead", "ack"],
      ["ok\n\nSent from my iPhone\n\n> quoted", "ok"],
    ];
    for (const [text, expected] of cases) assert.equal(newText(text), expected, JSON.stringify(text));
  });

  it("finds the first line that holds anything and is not quoted", () => {
    assert.equal(firstLine("\n\n  OK, on it  \nsecond line\n> old"), "OK, on it");
    assert.equal(firstLine("> OK quoted only\n> more"), "");
    assert.equal(firstLine(""), "");
  });

  it("counts only the listed words, as the first word, in any case", () => {
    for (const line of ["OK", "ok.", "Ack!", "ACK bin dran", "acquitter", "Quittieren, bin unterwegs", "CONFIRM"]) {
      assert.equal(startsWithAckWord(line), true, line);
    }
    for (const line of ["okay", "acknowledged", "not ok", "Thanks, ok", "", "k", "> ok"]) {
      assert.equal(startsWithAckWord(line), false, line);
    }
  });

  it("turns an HTML-only reply into text whose quote is cut", () => {
    const html =
      '<html><head><style>p{color:red}</style></head><body><div dir="ltr">OK&nbsp;&amp; thanks<br></div>' +
      '<div class="gmail_quote"><div>On Mon, 6 Jan 2026 Alarm &lt;a@b&gt; wrote:</div>' +
      "<blockquote>LT-201 <b>high</b></blockquote></div></body></html>";
    const text = htmlToText(html);
    assert.equal(firstLine(text), "OK & thanks");
    assert.equal(newText(text), "OK & thanks");
    assert.equal(htmlToText("&#x41;&#66;&bogus;"), "AB&bogus;");
  });
});

describe("ReplyDecision: which alarm a reply answers, and what becomes of it", () => {
  const root: RepliedMail = {
    occurrence: "b1/LT-201-H/abc",
    block: "b1",
    alarm: "LT-201-H",
    recipients: ["ana@plant.example", "ion@plant.example"],
  };
  const older: RepliedMail = { ...root, occurrence: "b1/LT-201-H/old" };
  const lookup = (byId: Record<string, RepliedMail>, bySubject?: RepliedMail): ReplyLookup => ({
    byMessageId: (id) => byId[id],
    bySubject: () => bySubject,
  });
  const reply = (over: Partial<Reply> = {}): Reply => ({
    from: "ana@plant.example",
    subject: "Re: [P1] Tank high: trigger",
    inReplyTo: ["root@gw"],
    references: [],
    text: "OK",
    automatic: false,
    ...over,
  });

  it("matches In-Reply-To first, then References newest first, then the subject", () => {
    const ids = { "root@gw": root, "ack@gw": older };
    assert.equal(matchReply(reply({ inReplyTo: ["root@gw"], references: ["ack@gw"] }), lookup(ids)), root);
    assert.equal(matchReply(reply({ inReplyTo: ["x@y"], references: ["root@gw", "ack@gw"] }), lookup(ids)), older);
    assert.equal(matchReply(reply({ inReplyTo: [], references: [] }), lookup({}, root)), root);
    assert.equal(matchReply(reply({ inReplyTo: [], references: [] }), lookup({})), undefined);
  });

  it("applies the contract's rules in order", () => {
    const ids = { "root@gw": root };
    assert.deepEqual(judgeReply(reply(), lookup(ids)), { event: "ack", mail: root });
    assert.deepEqual(judgeReply(reply({ messageId: "root@gw", text: "OK" }), lookup(ids)), {
      event: "ignored",
      reason: "own-mail",
      mail: root,
    });
    assert.deepEqual(judgeReply(reply({ inReplyTo: ["other@x"] }), lookup(ids)), {
      event: "ignored",
      reason: "not-alarm-reply",
    });
    assert.deepEqual(judgeReply(reply({ automatic: true }), lookup(ids)), {
      event: "ignored",
      reason: "automatic",
      mail: root,
    });
    assert.deepEqual(judgeReply(reply({ from: "eve@elsewhere.example" }), lookup(ids)), {
      event: "refused",
      reason: "unknown-sender",
      mail: root,
    });
    assert.deepEqual(judgeReply(reply({ from: undefined }), lookup(ids)), {
      event: "refused",
      reason: "unknown-sender",
      mail: root,
    });
    assert.deepEqual(judgeReply(reply({ text: "Who is on duty?\n> OK" }), lookup(ids)), {
      event: "ignored",
      reason: "no-ack-word",
      mail: root,
    });
  });

  it("reports the block's answer: over or taken already is ignored, a missing alarm or an unsaved ack refused", () => {
    assert.deepEqual(settle(root, "acked"), { event: "ack", mail: root });
    assert.deepEqual(settle(root, "already-acked"), { event: "ignored", reason: "already-acked", mail: root });
    assert.deepEqual(settle(root, "outdated"), { event: "ignored", reason: "outdated", mail: root });
    for (const outcome of ["unknown-alarm", "block-unavailable", "unsaved"] as const) {
      assert.deepEqual(settle(root, outcome), { event: "refused", reason: outcome, mail: root });
    }
  });

  it("reads Message-IDs and folded headers", () => {
    assert.deepEqual(messageIds("<a@b>\r\n <c@d> junk <e@f>"), ["a@b", "c@d", "e@f"]);
    assert.deepEqual(messageIds(undefined), []);
    const raw = "References: <a@b>\r\n\t<c@d>\r\nAuto-Submitted: auto-replied\r\n\r\n";
    assert.equal(headerValue(raw, "references"), "<a@b> <c@d>");
    assert.equal(headerValue(raw, "AUTO-SUBMITTED"), "auto-replied");
    assert.equal(headerValue(raw, "in-reply-to"), undefined);
  });

  it("strips the reply and forward prefixes of every language", () => {
    for (const subject of ["Re: X", "RE: X", "AW: X", "TR: Re: X", "Fwd: X", "WG:X", "Re[2]: X", "X"]) {
      assert.equal(baseSubject(subject), "X", subject);
    }
  });
});

describe("InboxSettings: the node's properties checked at deploy", () => {
  it("fills the defaults of the contract", () => {
    assert.deepEqual(parseInboxSettings({ host: "imap.plant.example" }, { user: "a", password: "p" }), {
      host: "imap.plant.example",
      port: 993,
      security: "tls",
      auth: "login",
      mailbox: "INBOX",
      afterRead: "seen",
      rejectUnauthorized: true,
      pollMs: 30_000,
      user: "a",
      password: "p",
    });
    const starttls = parseInboxSettings(
      { host: "h", security: "starttls", port: "1143" },
      { user: "a", password: "p" },
    );
    assert.equal(starttls.port, 1143);
  });

  it("names the first field that is missing or wrong", () => {
    const field = (config: Record<string, unknown>, credentials: Record<string, string>) => {
      try {
        parseInboxSettings(config, credentials);
        return "none";
      } catch (err) {
        assert.ok(err instanceof InboxError);
        return `${err.code}:${String(err.params.field)}`;
      }
    };
    assert.equal(field({}, { user: "a", password: "p" }), "config-missing:host");
    assert.equal(field({ host: "h" }, { password: "p" }), "config-missing:user");
    assert.equal(field({ host: "h" }, { user: "a" }), "config-missing:password");
    assert.equal(field({ host: "h", auth: "oauth2" }, { user: "a" }), "config-missing:server");
    assert.equal(field({ host: "h", auth: "oauth2", server: "s1" }, { user: "a" }), "none");
    assert.equal(field({ host: "h", port: 70000 }, { user: "a", password: "p" }), "config-invalid:port");
    assert.equal(field({ host: "h", security: "ssl" }, { user: "a", password: "p" }), "config-invalid:security");
    assert.equal(field({ host: "h", afterRead: "move" }, { user: "a", password: "p" }), "config-invalid:afterRead");
    for (const pollSeconds of [4, 601, 2.5, "10s", -30, true]) {
      assert.equal(
        field({ host: "h", pollSeconds, version: 2 }, { user: "a", password: "p" }),
        "config-invalid:pollSeconds",
      );
    }
  });

  it("polls every pollSeconds, 5 to 600, and an inbox saved before the setting (version 1) every 30 s, as it did", () => {
    const login = { user: "a", password: "p" };
    const poll = (config: Record<string, unknown>) => parseInboxSettings({ host: "h", ...config }, login).pollMs;
    assert.equal(poll({ pollSeconds: 5, version: 2 }), 5_000);
    assert.equal(poll({ pollSeconds: "600", version: 2 }), 600_000, "as the dialog's text field stores it");
    assert.equal(poll({ pollSeconds: "", version: 2 }), 30_000, "an emptied field is the default");
    // A flow exported before the setting: no version, no pollSeconds.
    const saved = { host: "h", port: 993, security: "tls", auth: "login", mailbox: "INBOX", afterRead: "seen" };
    assert.deepEqual(migrateInboxConfig(saved), { ...saved, pollSeconds: 30, version: INBOX_CONFIG_VERSION });
    assert.equal(poll({ version: 1 }), 30_000);
    assert.equal(poll({ version: "1", pollSeconds: 12 }), 12_000, "a value already there is kept");
    for (const version of [3, "3"]) {
      assert.throws(
        () => poll({ version }),
        (err: unknown) => err instanceof InboxError && err.code === "config-version" && err.params.supported === 2,
      );
    }
  });
});

describe("matchSubject: the fallback when no header names an alarm mail", () => {
  const tank = { block: "b1", alarm: "LT-201-H", label: "Tank 1 level high", priority: 1, occurrence: "b1/LT-201-H/x" };
  const pump = { block: "b1", alarm: "P-101", label: "Pump 101 fault", priority: 2, occurrence: "b1/P-101/y" };
  it("matches the code of the block's subject behind the reply prefixes, in English and French", () => {
    assert.equal(matchSubject("Re: [P1] Tank 1 level high: trigger", [tank, pump]), tank);
    assert.equal(matchSubject("RE : TR: [P2] Pump 101 fault : déclenchement", [tank, pump]), pump);
  });
  it("matches nothing on a partial label, another priority, or a code two alarms carry", () => {
    assert.equal(matchSubject("Re: [P1] Tank 1 level: trigger", [tank]), undefined);
    assert.equal(matchSubject("Re: [P1] Tank 1 level high 2: trigger", [tank]), undefined);
    assert.equal(matchSubject("Re: [P3] Tank 1 level high: trigger", [tank]), undefined);
    assert.equal(matchSubject("Re: [P1] Tank 1 level high: trigger", [tank, { ...tank, block: "b2" }]), undefined);
  });
});

describe("UidMark: where reading resumes", () => {
  it("resumes for the same account and UIDVALIDITY only, and reads a damaged file as none", async () => {
    const dir = tempDir("alarm-mail-uidmark-");
    const file = join(dir, "inbox", "n1.json");
    const mark = new UidMark(file);
    assert.equal(mark.resume("a@h:993/INBOX", "7"), undefined, "nothing read yet");
    await mark.save({ account: "a@h:993/INBOX", uidValidity: "7", lastUid: 42 });
    assert.equal(new UidMark(file).resume("a@h:993/INBOX", "7"), 42);
    assert.equal(new UidMark(file).resume("a@h:993/INBOX", "8"), undefined, "a rebuilt mailbox");
    assert.equal(new UidMark(file).resume("a@h:993/Alarms", "7"), undefined, "another folder");
    writeFileSync(file, '{"account":"a@h:993/INBOX","uidValidity":"7","lastUid":');
    assert.equal(new UidMark(file).resume("a@h:993/INBOX", "7"), undefined);
    writeFileSync(file, '{"account":"a@h:993/INBOX","uidValidity":"7","lastUid":-1}');
    assert.equal(new UidMark(file).resume("a@h:993/INBOX", "7"), undefined);
    await mark.remove();
    assert.equal(existsSync(file), false);
  });
});

describe("alarm-mail-inbox statuses", () => {
  it("fit under a node (under 20 characters) in every language", () => {
    for (const language of ["en-US", "fr", "de", "ro"]) {
      const catalogue = JSON.parse(
        readFileSync(join(__dirname, "..", "..", "locales", language, "alarm-mail-inbox.json"), "utf8"),
      ) as { "alarm-mail-inbox": { status: Record<string, string> } };
      for (const [key, text] of Object.entries(catalogue["alarm-mail-inbox"].status)) {
        const shown = text.replace("__time__", "08:42");
        assert.ok(shown.length < 20, `${language} status.${key}: "${shown}"`);
      }
    }
  });
});
