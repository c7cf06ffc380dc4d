import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { simpleParser } from "mailparser";
import { parseAddressList } from "../../nodes/lib/mail/AddressList";
import { MailComposer, type OutgoingMail } from "../../nodes/lib/mail/MailComposer";
import { OAuthClient } from "../../nodes/lib/oauth/OAuthClient";
import { TokenProvider } from "../../nodes/lib/oauth/TokenProvider";
import { TokenStore } from "../../nodes/lib/oauth/TokenStore";
import { parseServerSettings, type ServerConfig } from "../../nodes/lib/server/ServerSettings";
import { createTransport } from "../../nodes/lib/server/ServerStack";
import { GraphTransport } from "../../nodes/lib/transport/GraphTransport";
import type { Transport } from "../../nodes/lib/transport/Transport";
import { TransportFault } from "../../nodes/lib/transport/TransportFault";
import { TEST_CA } from "../support/ApiServer";
import { ConnectProxy } from "../support/ConnectProxy";
import { GraphServer } from "../support/GraphServer";
import { OAuthServer } from "../support/OAuthServer";
import { tempDir } from "../support/tempDir";

const MAILBOX = "gateway@plant.example";
const APP_SCOPE = "https://graph.microsoft.com/.default";

describe("Microsoft Graph transport, against a loopback Graph and a real OAuth2 server", () => {
  const oauth = new OAuthServer();
  const graph = new GraphServer((token) => oauth.verifyAccessToken(token), [MAILBOX]);
  const store = tempDir("alarm-mail-graph-");
  const open: Transport[] = [];
  let serial = 0;

  before(async () => {
    await oauth.start();
    await graph.start();
  });
  after(async () => {
    open.forEach((t) => t.close());
    await graph.stop();
    await oauth.stop();
  });

  /** A server node's settings for Graph, app-only, through the same parsing and stack as a deployed node. */
  const transport = async (
    extra: ServerConfig = {},
    credentials: Record<string, string> = {},
    now: () => number = Date.now,
  ) => {
    const config: ServerConfig = {
      transport: "graph",
      mailbox: MAILBOX,
      graphUrl: graph.root,
      from: MAILBOX,
      auth: "oauth2",
      oauthFlow: "client_credentials",
      tokenUrl: oauth.endpoints.tokenUrl,
      scope: APP_SCOPE,
      connectionTimeout: 3000,
      socketTimeout: 5000,
      ...extra,
    };
    const settings = parseServerSettings(config, {
      ca: TEST_CA,
      clientId: "gateway-app",
      clientSecret: "s3cret",
      ...credentials,
    });
    const oauthSettings = settings.oauth;
    assert.ok(oauthSettings);
    const tokens = new TokenProvider(
      new OAuthClient(oauthSettings),
      await TokenStore.open(store, "secret"),
      `graph-${serial++}`,
      {
        flow: oauthSettings.flow,
        now,
      },
    );
    const made = createTransport(settings, tokens);
    open.push(made);
    return { transport: made, composer: new MailComposer(settings.sender) };
  };
  const mail = async (composer: MailComposer, subject: string, attachments: OutgoingMail["attachments"] = []) => {
    const composed = await composer.compose(
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
    return { ...composed, attachments };
  };
  const fault = (code: string, kind: string) => (err: unknown) => {
    assert.ok(err instanceof TransportFault, String(err));
    assert.equal(err.code, code, err.message);
    assert.equal(err.kind, kind);
    return true;
  };

  it("sends the MIME that nodemailer composed, with the outbox's Message-ID and the Bcc for Graph to use", async () => {
    const { transport: t, composer } = await transport();
    const m = await mail(composer, "Tank 3 high level");
    const receipt = await t.send(m);
    assert.equal(receipt.messageId, m.messageId);
    assert.deepEqual(receipt.accepted, ["op@plant.example", "night-shift@plant.example"]);
    const delivered = graph.delivered.at(-1);
    assert.equal(delivered?.via, "sendMail");
    assert.equal(delivered?.messageId, m.messageId);
    const parsed = await simpleParser(delivered.mime);
    assert.equal(parsed.subject, "Tank 3 high level");
    assert.match(delivered.mime.toString(), /^Bcc: night-shift@plant\.example/m);
    assert.equal(parsed.headers.get("auto-submitted"), "auto-generated");
    assert.equal(parsed.headers.get("x-auto-response-suppress"), "OOF, AutoReply");
  });

  it("trusts the service's certificate only through the node's CA", async () => {
    const { transport: t, composer } = await transport({}, { ca: "" });
    await assert.rejects(t.send(await mail(composer, "untrusted")), fault("smtp-cert-untrusted", "permanent"));
  });

  it("renews the token once on a 401, and calls a second 401 an authentication fault", async () => {
    // The provider renews a refused token once per 5 s; this clock makes the warm-up token older than that.
    let shift = 0;
    const { transport: t, composer } = await transport({}, {}, () => Date.now() + (shift += 6_000));
    await t.send(await mail(composer, "warm up"));
    const grants = oauth.tokenRequests.client_credentials;
    graph.refuseTokens = 1;
    await t.send(await mail(composer, "after renewal"));
    assert.equal(oauth.tokenRequests.client_credentials, grants + 1, "one renewal");
    assert.equal(graph.delivered.at(-1)?.mime.includes("after renewal"), true);
    graph.refuseTokens = 2;
    await assert.rejects(t.send(await mail(composer, "refused")), fault("http-auth-failed", "auth"));
  });

  it("translates Graph's 403 for a token without Mail.Send, and 404 for an unknown mailbox", async () => {
    const smtpToken = await transport({ scope: "https://outlook.office.com/SMTP.Send" });
    await assert.rejects(t(smtpToken).send(await mail(smtpToken.composer, "scope")), (err: unknown) => {
      assert.ok(err instanceof TransportFault);
      assert.equal(err.code, "graph-forbidden");
      assert.equal(err.kind, "permanent");
      assert.equal(err.params.error, "ErrorAccessDenied");
      assert.equal(err.params.mailbox, MAILBOX);
      return true;
    });
    const unknown = await transport({ mailbox: "nobody@plant.example" });
    await assert.rejects(t(unknown).send(await mail(unknown.composer, "who")), fault("graph-mailbox", "permanent"));
  });

  it("passes Retry-After of a 429 on in the fault, and sends nothing to the mailbox until it has passed", async () => {
    const { transport: t, composer } = await transport({ mailbox: MAILBOX });
    graph.script.push({
      status: 429,
      headers: { "retry-after": "1" },
      body: { error: { code: "ApplicationThrottled", message: "slow down" } },
    });
    await assert.rejects(t.send(await mail(composer, "throttled")), (err: unknown) => {
      assert.ok(err instanceof TransportFault);
      assert.equal(err.code, "http-throttled");
      assert.equal(err.kind, "transient");
      assert.equal(err.retryAfterMs, 1000);
      return true;
    });
    const requests = graph.log.length;
    await assert.rejects(t.send(await mail(composer, "still paused")), (err: unknown) => {
      assert.ok(err instanceof TransportFault && err.code === "http-throttled");
      assert.ok((err.retryAfterMs ?? 0) > 0 && (err.retryAfterMs ?? 0) <= 1000);
      return true;
    });
    assert.equal(graph.log.length, requests, "no request while paused");
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await t.send(await mail(composer, "after the pause"));
  });

  it("calls 503 transient (with its Retry-After) and 413 permanent", async () => {
    const { transport: t, composer } = await transport();
    graph.script.push({ status: 503, body: { error: { code: "ServiceUnavailable", message: "try later" } } });
    await assert.rejects(t.send(await mail(composer, "unavailable")), (err: unknown) => {
      assert.ok(err instanceof TransportFault && err.code === "http-throttled" && err.kind === "transient");
      assert.equal(err.retryAfterMs, undefined);
      return true;
    });
    graph.script.push({ status: 413, body: { error: { code: "RequestEntityTooLarge", message: "too large" } } });
    await assert.rejects(t.send(await mail(composer, "large")), fault("http-too-large", "permanent"));
  });

  it("sends attachments over 3 MB through a draft and upload sessions, in chunks of at most 4 MB", async () => {
    const { transport: t, composer } = await transport();
    const big = randomBytes(9 * 1024 * 1024);
    const small = Buffer.from("tag;value\nLT-301;4.2\n");
    const m = await mail(composer, "with trend data", [
      { filename: "trend.bin", content: big, contentType: "application/octet-stream" },
      { filename: "values.csv", content: small, contentType: "text/csv" },
    ]);
    const puts = graph.log.length;
    await t.send(m);
    const delivered = graph.delivered.at(-1);
    assert.equal(delivered?.via, "draft");
    assert.equal(delivered.messageId, m.messageId);
    assert.deepEqual(
      delivered.attachments.map((a) => a.name),
      ["trend.bin"],
    );
    assert.ok(delivered.attachments[0].content.equals(big), "the attachment arrived whole");
    const parsed = await simpleParser(delivered.mime);
    assert.deepEqual(
      parsed.attachments.map((a) => a.filename),
      ["values.csv"],
      "the small one stays in the MIME",
    );
    assert.equal(parsed.headers.get("auto-submitted"), "auto-generated", "a draft keeps the MIME's headers");
    const chunks = graph.log.slice(puts).filter((r) => r.line.startsWith("PUT "));
    assert.equal(chunks.length, 3, "9 MB in chunks of 3.75 MB");
  });

  it("after a lost answer to /send, retries the same draft: Graph says it is gone, and nothing is sent twice", async () => {
    const { transport: t, composer } = await transport();
    const m = await mail(composer, "lost answer", [{ filename: "big.bin", content: randomBytes(3 * 1024 * 1024) }]);
    const before = graph.delivered.length;
    graph.loseAnswer = (line) => line.endsWith("/send");
    await assert.rejects(t.send(m), fault("http-failed", "transient"));
    graph.loseAnswer = undefined;
    await t.send(m);
    assert.equal(graph.delivered.length, before + 1, "delivered once");
  });

  it("tests the connection with a sendMail that has no recipient: Graph checks token, permission and mailbox", async () => {
    const before = graph.delivered.length;
    const probe = await (await transport()).transport.probe();
    assert.match(probe.response, /^400 ErrorInvalidRecipients/);
    assert.equal(graph.delivered.length, before, "nothing sent");
    await assert.rejects(
      (await transport({ scope: "https://outlook.office.com/SMTP.Send" })).transport.probe(),
      fault("graph-forbidden", "permanent"),
    );
  });

  it("sends 30 mails at once with never more than 4 requests in flight for the mailbox", async () => {
    const { transport: t, composer } = await transport();
    graph.delayMs = 30;
    graph.maxInFlight.clear();
    try {
      const mails = await Promise.all(Array.from({ length: 30 }, (_, i) => mail(composer, `burst ${i}`)));
      await Promise.all(mails.map((m) => t.send(m)));
    } finally {
      graph.delayMs = 0;
    }
    assert.equal(graph.maxInFlight.get(MAILBOX), 4, "4 at once, not more and not fewer");
    assert.equal(graph.concurrencyRefusals, 0);
  });

  it("goes through HTTPS_PROXY with a CONNECT tunnel, and around it for a host in NO_PROXY", async () => {
    const proxy = new ConnectProxy();
    await proxy.start();
    try {
      const { composer } = await transport();
      const tokens = { accessToken: async () => oauth.mock.issuer.buildToken({ scopesOrTransform: APP_SCOPE }) };
      const https = { ca: TEST_CA, rejectUnauthorized: true, connectionTimeout: 3000, socketTimeout: 5000 };
      const settings = { ...https, graphUrl: graph.root, mailbox: MAILBOX, tokens };
      const proxied = new GraphTransport(settings, { HTTPS_PROXY: proxy.url });
      open.push(proxied);
      await proxied.send(await mail(composer, "through the proxy"));
      assert.deepEqual(proxy.tunnels, [new URL(graph.url).host]);
      const bypass = new GraphTransport(settings, { HTTPS_PROXY: proxy.url, NO_PROXY: "example.com,localhost" });
      open.push(bypass);
      await bypass.send(await mail(composer, "around the proxy"));
      assert.equal(proxy.tunnels.length, 1);
    } finally {
      await proxy.stop();
    }
  });
});

function t(made: { transport: Transport }): Transport {
  return made.transport;
}
