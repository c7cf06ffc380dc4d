import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { simpleParser } from "mailparser";
import { parseAddressList } from "../../nodes/lib/mail/AddressList";
import { MailComposer } from "../../nodes/lib/mail/MailComposer";
import { joinThread } from "../../nodes/lib/mail/MailThreading";
import { TokenStore } from "../../nodes/lib/oauth/TokenStore";
import { parseServerSettings, type ServerConfig } from "../../nodes/lib/server/ServerSettings";
import { createTokenProvider, createTransport } from "../../nodes/lib/server/ServerStack";
import type { Transport } from "../../nodes/lib/transport/Transport";
import { TransportFault } from "../../nodes/lib/transport/TransportFault";
import { TEST_CA } from "../support/ApiServer";
import { GmailServer } from "../support/GmailServer";
import { OAuthServer } from "../support/OAuthServer";
import { tempDir } from "../support/tempDir";

const ACCOUNT = "plant.alarms@gmail.example";
const GMAIL_SEND = "https://www.googleapis.com/auth/gmail.send";

describe("Gmail API transport, against a loopback Gmail API and a real OAuth2 server", () => {
  const oauth = new OAuthServer();
  const gmail = new GmailServer((token) => oauth.verifyAccessToken(token));
  const store = tempDir("alarm-mail-gmail-");
  const open: Transport[] = [];
  let serial = 0;

  before(async () => {
    await oauth.start();
    await gmail.start();
  });
  after(async () => {
    open.forEach((t) => t.close());
    await gmail.stop();
    await oauth.stop();
  });

  const transport = async (extra: ServerConfig = {}) => {
    const settings = parseServerSettings(
      {
        transport: "gmail",
        gmailUrl: gmail.url,
        from: ACCOUNT,
        oauthFlow: "client_credentials",
        tokenUrl: oauth.endpoints.tokenUrl,
        scope: GMAIL_SEND,
        ...extra,
      },
      { ca: TEST_CA, clientId: "gateway-app", clientSecret: "s3cret" },
    );
    assert.ok(settings.oauth);
    const tokens = createTokenProvider(settings.oauth, undefined, await TokenStore.open(store, "k"), `gm-${serial++}`);
    const made = createTransport(settings, tokens);
    open.push(made);
    return { transport: made, composer: new MailComposer(settings.sender) };
  };
  const mail = (composer: MailComposer, subject: string) =>
    composer.compose(
      {
        to: parseAddressList("op@plant.example", "to"),
        cc: [],
        bcc: parseAddressList("night-shift@plant.example", "bcc"),
        subject: "",
        body: "",
        html: "",
      },
      { topic: subject, payload: `value of ${subject}` },
      {},
    );
  const fault = (code: string, kind: string) => (err: unknown) => {
    assert.ok(err instanceof TransportFault, String(err));
    assert.equal(err.code, code, err.message);
    assert.equal(err.kind, kind);
    return true;
  };

  it("sends the same nodemailer MIME as message/rfc822, with the outbox's Message-ID, and reports Gmail's id", async () => {
    const { transport: t, composer } = await transport();
    const m = await mail(composer, "Pump 2 tripped");
    const receipt = await t.send(m);
    const delivered = gmail.delivered.at(-1);
    assert.equal(delivered?.messageId, m.messageId);
    assert.match(receipt.response, new RegExp(`Gmail API id ${delivered.id}`));
    const parsed = await simpleParser(delivered.mime);
    assert.equal(parsed.subject, "Pump 2 tripped");
    assert.equal(parsed.headers.get("auto-submitted"), "auto-generated");
    assert.equal(parsed.headers.get("x-auto-response-suppress"), "OOF, AutoReply");
    assert.match(delivered.mime.toString(), /^Bcc: night-shift@plant\.example/m);
  });

  it("carries an alarm thread's In-Reply-To, References, Thread-Topic and Thread-Index in the MIME it sends", async () => {
    const { transport: t, composer } = await transport();
    const root = "<trigger@gmail.example>";
    const ack = joinThread(
      await mail(composer, "Pump 2 tripped: acknowledged"),
      { root, messageIds: [root], subject: "Pump 2 tripped", startedAt: Date.now() - 60_000 },
      Date.now(),
    );
    await t.send(ack);
    const parsed = await simpleParser(gmail.delivered.at(-1)?.mime ?? Buffer.alloc(0));
    assert.equal(parsed.inReplyTo, root);
    assert.equal(parsed.references, root);
    assert.equal(parsed.subject, "Re: Pump 2 tripped", "the subject Gmail matches the thread by");
    assert.equal(parsed.headers.get("thread-topic"), "Pump 2 tripped");
    assert.equal(parsed.headers.get("thread-index"), ack.thread?.index);
    assert.equal(Buffer.from(String(parsed.headers.get("thread-index")), "base64").length, 27);
    assert.equal(parsed.headers.get("auto-submitted"), "auto-generated", "beside the thread's headers");
  });

  it("tries once more after a 401, with a renewed token if the last is old enough; a second 401 is an authentication fault", async () => {
    const { transport: t, composer } = await transport();
    gmail.refuseTokens = 1;
    await t.send(await mail(composer, "after a refusal"));
    gmail.refuseTokens = 2;
    await assert.rejects(t.send(await mail(composer, "refused")), fault("http-auth-failed", "auth"));
  });

  it("says a token without gmail.send lacks the scope, and tests the connection without sending", async () => {
    const wrong = await transport({ scope: "https://www.googleapis.com/auth/gmail.readonly" });
    await assert.rejects(wrong.transport.send(await mail(wrong.composer, "scope")), fault("gmail-scope", "permanent"));
    await assert.rejects(wrong.transport.probe(), fault("gmail-scope", "permanent"));
    const before = gmail.delivered.length;
    const probe = await (await transport()).transport.probe();
    assert.match(probe.response, /^400 Recipient address required/);
    assert.equal(gmail.delivered.length, before, "nothing sent");
  });

  it("calls 429 with Retry-After and 503 transient, a 403 rate limit transient, and 400 and 413 permanent", async () => {
    const { transport: t, composer } = await transport();
    gmail.script.push({
      status: 429,
      headers: { "retry-after": "1" },
      body: { error: { code: 429, message: "Too many" } },
    });
    await assert.rejects(t.send(await mail(composer, "429")), (err: unknown) => {
      assert.ok(err instanceof TransportFault && err.code === "http-throttled" && err.retryAfterMs === 1000);
      return true;
    });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    gmail.script.push({ status: 503, body: { error: { code: 503, message: "Backend Error" } } });
    await assert.rejects(t.send(await mail(composer, "503")), fault("http-throttled", "transient"));
    const rate = { code: 403, message: "User-rate limit exceeded", errors: [{ reason: "userRateLimitExceeded" }] };
    gmail.script.push({ status: 403, body: { error: rate } });
    await assert.rejects(t.send(await mail(composer, "403 rate")), fault("http-throttled", "transient"));
    gmail.script.push({ status: 400, body: { error: { code: 400, message: "Invalid To header" } } });
    await assert.rejects(t.send(await mail(composer, "400")), fault("http-rejected", "permanent"));
    gmail.script.push({ status: 413, body: { error: { code: 413, message: "Media upload too large." } } });
    await assert.rejects(t.send(await mail(composer, "413")), fault("http-too-large", "permanent"));
    await t.send(await mail(composer, "fine again"));
  });
});
