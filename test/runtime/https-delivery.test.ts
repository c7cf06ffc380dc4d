import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { SmtpSink } from "../../dev/SmtpSink";
import { TEST_CA } from "../support/ApiServer";
import { GmailServer } from "../support/GmailServer";
import { GraphServer } from "../support/GraphServer";
import { NodeRedProcess } from "../support/NodeRedProcess";
import { OAuthServer } from "../support/OAuthServer";
import { until } from "../support/until";

const MAILBOX = "gateway@plant.example";

interface OutboxView {
  id: string;
  address: string;
  sent: Array<{ id: string; route?: string }>;
  failed: Array<{ id: string; error?: { code: string } }>;
}

describe("HTTPS transports in a real Node-RED: delivery, retry, failover, and the dialog's test buttons", () => {
  const oauth = new OAuthServer();
  const graph = new GraphServer((token) => oauth.verifyAccessToken(token), [MAILBOX]);
  const gmail = new GmailServer((token) => oauth.verifyAccessToken(token));
  const smtp = new SmtpSink({ starttls: false });
  let red: NodeRedProcess;

  const oauthFields = (scope: string) => ({
    oauthFlow: "client_credentials",
    tokenUrl: oauth.endpoints.tokenUrl,
    scope,
  });
  const secrets = { clientId: "gateway-app", clientSecret: "s3cret", ca: TEST_CA };
  const graphServer = (id: string, extra: Record<string, unknown> = {}) => ({
    id,
    type: "alarm-mail-server",
    transport: "graph",
    mailbox: MAILBOX,
    graphUrl: graph.root,
    from: MAILBOX,
    retryDelay: 100,
    retryMaxDelay: 200,
    ...oauthFields("https://graph.microsoft.com/.default"),
    credentials: secrets,
    ...extra,
  });
  const gmailServer = () => ({
    id: "gm",
    type: "alarm-mail-server",
    transport: "gmail",
    gmailUrl: gmail.url,
    from: "plant.alarms@gmail.example",
    ...oauthFields("https://www.googleapis.com/auth/gmail.send"),
    credentials: secrets,
  });
  const sender = (server: string) => [
    {
      id: `go-${server}`,
      z: "tab",
      type: "inject",
      props: [
        { p: "topic", v: `via ${server}`, vt: "str" },
        { p: "to", v: "op@plant.example", vt: "str" },
      ],
      wires: [[`send-${server}`]],
    },
    { id: `send-${server}`, z: "tab", type: "alarm-mail-send", server, wires: [[], []] },
  ];
  const outbox = async (id: string): Promise<OutboxView> => {
    const all = (await (await red.request("GET", "/alarm-mail/outbox")).json()) as { servers: OutboxView[] };
    const found = all.servers.find((s) => s.id === id);
    assert.ok(found, `server ${id} deployed`);
    return found;
  };
  const subjects = (mimes: Buffer[], subject: string) =>
    mimes.filter((m) => m.toString().includes(`Subject: ${subject}`)).length;

  before(async () => {
    await Promise.all([oauth.start(), graph.start(), gmail.start(), smtp.listen()]);
    red = await NodeRedProcess.start();
    await red.deploy([
      { id: "tab", type: "tab", label: "https" },
      graphServer("srv-graph"),
      // Its mailbox is throttled by Graph until the test is over: after two failures the SMTP backup takes over.
      graphServer("throttled", { mailbox: "throttled@plant.example", backup: "relay", failoverAfter: 2 }),
      {
        id: "relay",
        type: "alarm-mail-server",
        host: "127.0.0.1",
        port: smtp.port,
        security: "none",
        auth: "none",
        from: MAILBOX,
      },
      gmailServer(),
      ...["srv-graph", "throttled", "gm"].flatMap(sender),
    ]);
  });
  after(async () => {
    await red?.stop();
    await Promise.all([oauth.stop(), graph.stop(), gmail.stop(), smtp.close()]);
  });

  it("delivers through Graph, and retries after a 503 until Graph takes the mail", async () => {
    graph.script.push({
      status: 503,
      headers: { "retry-after": "0" },
      body: { error: { code: "ServiceUnavailable", message: "busy" } },
    });
    await red.inject("go-srv-graph");
    await until(
      () =>
        subjects(
          graph.delivered.map((d) => d.mime),
          "via srv-graph",
        ) === 1,
      "the mail at Graph",
      15_000,
      () => red.output,
    );
    assert.ok(
      graph.log.some((r) => r.status === 503),
      "the first attempt was refused",
    );
    await until(async () => (await outbox("srv-graph")).sent.length === 1, "the sent log");
    assert.equal((await outbox("srv-graph")).address, `graph:${MAILBOX}`);
  });

  it("delivers through the Gmail API", async () => {
    await red.inject("go-gm");
    await until(
      () =>
        subjects(
          gmail.delivered.map((d) => d.mime),
          "via gm",
        ) === 1,
      "the mail at Gmail",
      15_000,
      () => red.output,
    );
  });

  it("fails over from Graph to an SMTP backup server when Graph keeps answering 429", async () => {
    const before = graph.log.length;
    graph.throttle = "throttled@plant.example";
    await red.inject("go-throttled");
    await until(
      () => smtp.received.some((m) => m.raw.toString().includes("Subject: via throttled")),
      "the mail at the SMTP backup",
      20_000,
      () => red.output,
    );
    assert.ok(graph.log.slice(before).filter((r) => r.status === 429).length >= 2, "Graph refused it first");
    await until(
      async () => (await outbox("throttled")).sent.some((s) => s.route === "backup"),
      "sent by the backup route",
    );
  });

  it("Test connection and Send test mail work for Graph and for Gmail", async () => {
    for (const node of [graphServer("srv-graph"), gmailServer()]) {
      const { credentials, ...config } = node;
      const body = { config, credentials: { ...credentials, clientSecret: "__PWRD__" } };
      const verify = (await (await red.request("POST", `/alarm-mail-server/${node.id}/verify`, body)).json()) as {
        ok: boolean;
        message: string;
      };
      assert.equal(verify.ok, true, verify.message);
      const sent = (await (
        await red.request("POST", `/alarm-mail-server/${node.id}/send-test`, { ...body, to: "engineer@plant.example" })
      ).json()) as { ok: boolean; message: string };
      assert.equal(sent.ok, true, sent.message);
    }
    assert.equal(
      subjects(
        graph.delivered.map((d) => d.mime),
        "Alarm Mail test",
      ),
      1,
    );
    assert.equal(
      subjects(
        gmail.delivered.map((d) => d.mime),
        "Alarm Mail test",
      ),
      1,
    );
  });

  it("says in the dialog what Graph's 403 means when the token lacks Mail.Send", async () => {
    const { credentials, ...config } = graphServer("srv-graph", oauthFields("https://outlook.office.com/SMTP.Send"));
    const body = { config: { ...config, id: "graph-smtp-scope" }, credentials };
    const verify = (await (await red.request("POST", `/alarm-mail-server/graph-smtp-scope/verify`, body)).json()) as {
      ok: boolean;
      code: string;
      message: string;
    };
    assert.equal(verify.ok, false);
    assert.equal(verify.code, "graph-forbidden");
    assert.match(verify.message, /Mail\.Send/);
  });
});
