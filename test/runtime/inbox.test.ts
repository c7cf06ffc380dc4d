import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { SmtpSink } from "../../dev/SmtpSink";
import { HIGH, HIGH_HIGH } from "../support/alarms";
import { Dovecot, replyMail } from "../support/Dovecot";
import { NodeRedProcess, recorded, recorder } from "../support/NodeRedProcess";
import { OAuthServer, TokenIntrospection } from "../support/OAuthServer";
import { Sinks } from "../support/smtp";
import { until } from "../support/until";

const MAILBOX = "alarms@plant.example";
const ANA = "ana@plant.example";
const ION = "ion@plant.example";

interface Line {
  event: string;
  from?: string | null;
  reason?: string;
  payload?: string;
  alarm?: { id?: string; occurrence?: string; ackBy?: string | null; ackVia?: string | null; state?: string };
}

/** Every msg of the block and of the inbox, as a JSON line in a file: observed from outside, so the runtime can restart. */
const RECORD = "{ event: msg.event, from: msg.from, reason: msg.reason, payload: msg.payload, alarm: msg.alarm }";

/**
 * The plant's flow: a block on one tab mails its alarms to Ana and Ion; the inbox on another tab watches the mailbox
 * their replies go to. Both write what they send to files.
 */
function flow(dir: string, dovecot: Dovecot, smtpPort: number, inbox: Record<string, unknown> = {}): object[] {
  const level = (id: string, value: number) => ({
    id,
    z: "plant",
    type: "inject",
    props: [
      { p: "topic", v: "LT-201", vt: "str" },
      { p: "payload", v: String(value), vt: "num" },
    ],
    repeat: "",
    once: false,
    wires: [["block"]],
  });
  return [
    { id: "plant", type: "tab", label: "plant" },
    { id: "mail", type: "tab", label: "mail" },
    {
      id: "server",
      type: "alarm-mail-server",
      host: "127.0.0.1",
      port: smtpPort,
      security: "none",
      auth: "none",
      from: MAILBOX,
    },
    { id: "group", type: "alarm-mail-recipients", name: "operators", to: `${ANA}, ${ION}` },
    {
      id: "block",
      z: "plant",
      type: "alarm-mail-block",
      block: 1,
      alarms: [HIGH],
      version: 1,
      wires: [["send", "block-json"]],
    },
    level("high", 9),
    level("normal", 5),
    { id: "send", z: "plant", type: "alarm-mail-send", server: "server", recipients: "group", wires: [[], []] },
    ...recorder("block", "plant", join(dir, "block.jsonl"), RECORD),
    {
      id: "inbox",
      z: "mail",
      type: "alarm-mail-inbox",
      host: "127.0.0.1",
      port: dovecot.port,
      security: "none",
      auth: "login",
      mailbox: "INBOX",
      afterRead: "seen",
      rejectUnauthorized: true,
      credentials: { user: MAILBOX, password: dovecot.users[MAILBOX] },
      wires: [["inbox-json"]],
      ...inbox,
    },
    ...recorder("inbox", "mail", join(dir, "inbox.jsonl"), RECORD),
  ];
}

const lines = (file: string) => recorded<Line>(file);

describe("alarm-mail-inbox: acknowledge by reply, with a real Node-RED, SMTP server and Dovecot", () => {
  let dovecot: Dovecot;
  const sinks = new Sinks();
  let sink: SmtpSink;
  let red: NodeRedProcess | undefined;

  /** The mails the SMTP server received, or a failure that shows the runtime's log. */
  const mails = (count: number) =>
    sink.waitFor(count, 15_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${red?.output ?? ""}`);
    });

  before(async () => {
    dovecot = await Dovecot.start({ tls: true });
    sink = await sinks.start();
  });
  after(async () => {
    await red?.stop();
    await sinks.closeAll();
    await dovecot.close();
  });

  it("acks, refuses and ignores replies by the contract's rules, across restarts of Node-RED and of Dovecot", async () => {
    red = await NodeRedProcess.start();
    const userDir = red.userDir;
    const inboxFile = join(userDir, "inbox.jsonl");
    const blockFile = join(userDir, "block.jsonl");
    const inboxLines = async (count: number) => {
      await until(
        () => lines(inboxFile).length >= count,
        `${count} inbox msgs`,
        20_000,
        () => red?.output ?? "",
      );
      return lines(inboxFile);
    };
    // The outbox may send a new trigger before the last recovery: the trigger mail is found by its subject.
    const triggerMail = async (count: number) => {
      for (const mail of (await mails(count)).slice().reverse()) {
        // A trigger starts its thread: a later mail of an occurrence carries "Re: " and the trigger's subject.
        const subject = (await mail.parse()).subject ?? "";
        if (subject.endsWith(": ALARM") && !subject.startsWith("Re: ")) return mail;
      }
      throw new Error("no trigger mail");
    };
    const reply = (from: string, text: string, inReplyTo: string, subject = "Re: alarm") =>
      dovecot.deliver(MAILBOX, replyMail({ from, subject, text, inReplyTo }));

    await red.deploy(flow(userDir, dovecot, sink.port));
    await red.inject("high");
    const trigger = await triggerMail(1);
    const occurrence1 = lines(blockFile)[0]?.alarm?.occurrence;
    assert.ok(occurrence1, "the trigger names its occurrence");

    // A stranger, then a recipient without the word, then a recipient's "OK" quoting the alarm mail.
    await reply("Eve <eve@elsewhere.example>", "ok", trigger.messageId);
    await reply(`Ion <${ION}>`, "Who is on duty tonight?\n\nOn Monday Alarm wrote:\n> high", trigger.messageId);
    await reply(
      `Ana Pop <${ANA}>`,
      "OK, on my way\n\nOn Monday, Alarm <a@b> wrote:\n> Basin 2 high",
      trigger.messageId,
    );
    let seen = await inboxLines(3);
    assert.deepEqual(
      seen.map((l) => [l.event, l.from, l.reason ?? null]),
      [
        ["refused", "eve@elsewhere.example", "unknown-sender"],
        ["ignored", ION, "no-ack-word"],
        ["ack", ANA, null],
      ],
    );
    assert.equal(seen[2].payload, "OK, on my way");
    assert.equal(seen[2].alarm?.occurrence, occurrence1);
    await until(() => lines(blockFile).some((l) => l.event === "ack"), "the block's ack event");
    const ack = lines(blockFile).find((l) => l.event === "ack");
    assert.deepEqual([ack?.alarm?.id, ack?.alarm?.ackBy, ack?.alarm?.ackVia], [HIGH.id, ANA, "mail"]);
    // The block's ack goes out by mail like a flow's ack.
    await mails(2);

    // A second reply to the acknowledged alarm: ignored, with why.
    await reply(`Ion <${ION}>`, "ack", trigger.messageId);
    seen = await inboxLines(4);
    assert.deepEqual([seen[3].event, seen[3].reason], ["ignored", "already-acked"]);
    const flags = await dovecot.messages(MAILBOX);
    assert.ok(
      flags.every((m) => m.flags.includes("\\Seen")),
      "replies to alarm mails are marked read",
    );

    // A new occurrence whose reply arrives while Node-RED is down is taken at start, and nothing before it again.
    await red.inject("normal");
    await red.inject("high");
    const trigger2 = await triggerMail(4);
    await red.stop();
    await reply(`Ion <${ION}>`, "Quittieren", trigger2.messageId);
    // The flows and their credentials come back from the user directory, as after a reboot of the gateway.
    red = await NodeRedProcess.start({ userDir });
    // Mails are taken in UID order: had an earlier reply been taken again, it would come before this later one.
    await dovecot.deliver(MAILBOX, replyMail({ from: "eve@elsewhere.example", subject: "Lunch?", text: "ok" }));
    seen = await inboxLines(6);
    assert.deepEqual(
      seen.slice(4).map((l) => [l.event, l.from, l.reason]),
      [
        ["ack", ION, undefined],
        ["ignored", "eve@elsewhere.example", "not-alarm-reply"],
      ],
      "the reply that came while down, then the later mail, and nothing taken twice",
    );
    assert.notEqual(seen[4].alarm?.occurrence, occurrence1);

    // Dovecot restarts: the inbox reconnects; a reply without threading headers is matched by its subject.
    await dovecot.restart();
    await red.inject("normal");
    await red.inject("high");
    const trigger3 = await triggerMail(6);
    const subject = (await trigger3.parse()).subject ?? "";
    assert.match(subject, /^\[P2\] Basin 2 bacteria level high/);
    await dovecot.deliver(MAILBOX, replyMail({ from: ANA, subject: `AW: ${subject}`, text: "confirm" }));
    seen = await inboxLines(7);
    assert.deepEqual([seen[6].event, seen[6].from], ["ack", ANA]);
    // The outage was said once, and the way back too.
    assert.equal(red.output.match(/\[alarm-mail-inbox:inbox\] The IMAP server failed/g)?.length, 1, red.output);
    assert.match(red.output, /\[alarm-mail-inbox:inbox\] Connected to the mailbox again/);
  });

  it("deletes the replies it took when afterRead is delete, leaves other mail and its own alarm mails alone, refuses replies once the alarm or its block is gone", async () => {
    await red?.stop();
    red = await NodeRedProcess.start();
    const userDir = red.userDir;
    const inboxFile = join(userDir, "inbox.jsonl");
    // A new inbox takes the unseen mails on its first start: the earlier test's are read by now.
    await dovecot.readAll(MAILBOX);
    await red.deploy(flow(userDir, dovecot, sink.port, { afterRead: "delete" }));
    const before = sink.received.length;
    await red.inject("high");
    const trigger = (await mails(before + 1))[before];
    const start = (await dovecot.messages(MAILBOX)).length;
    await dovecot.deliver(
      MAILBOX,
      replyMail({ from: ANA, subject: "Re: x", text: "ok", inReplyTo: trigger.messageId }),
    );
    await dovecot.deliver(MAILBOX, replyMail({ from: ANA, subject: "Lunch?", text: "ok?" }));
    await until(
      () => lines(inboxFile).length >= 2,
      "two inbox msgs",
      20_000,
      () => red?.output ?? "",
    );
    assert.deepEqual(
      lines(inboxFile).map((l) => [l.event, l.reason ?? null]),
      [
        ["ack", null],
        ["ignored", "not-alarm-reply"],
      ],
    );
    await until(async () => (await dovecot.messages(MAILBOX)).length === start + 1, "the reply deleted, not the other");

    // The gateway's own alarm mail, copied to the watched mailbox: never an ack, and left where it is.
    await dovecot.deliver(MAILBOX, trigger.raw.toString("utf8"));
    await until(
      () => lines(inboxFile).length >= 3,
      "the own mail",
      20_000,
      () => red?.output ?? "",
    );
    assert.deepEqual([lines(inboxFile)[2].event, lines(inboxFile)[2].reason], ["ignored", "own-mail"]);
    assert.equal((await dovecot.messages(MAILBOX)).length, start + 2);

    // The block redeployed without that alarm, then removed: a reply to the alarm's mail is refused, never a crash.
    const without = flow(userDir, dovecot, sink.port, { afterRead: "delete" }).map((node) =>
      (node as { id: string }).id === "block" ? { ...node, alarms: [HIGH_HIGH] } : node,
    );
    await red.deploy(without);
    const again = () =>
      dovecot.deliver(MAILBOX, replyMail({ from: ION, subject: "Re: x", text: "ok", inReplyTo: trigger.messageId }));
    await again();
    await until(
      () => lines(inboxFile).length >= 4,
      "the reply to a redeployed block",
      20_000,
      () => red?.output ?? "",
    );
    await red.deploy(without.filter((node) => (node as { id: string }).id !== "block"));
    await again();
    await until(
      () => lines(inboxFile).length >= 5,
      "the reply to a removed block",
      20_000,
      () => red?.output ?? "",
    );
    assert.deepEqual(
      lines(inboxFile)
        .slice(3)
        .map((l) => [l.event, l.reason]),
      [
        ["refused", "unknown-alarm"],
        ["refused", "block-unavailable"],
      ],
    );
  });
  it('runs the example "Acknowledge by reply" once its inbox is set and enabled', async () => {
    await red?.stop();
    red = await NodeRedProcess.start();
    const res = await red.request(
      "GET",
      encodeURI("/library/examples/flows/@alarm-mail/node-red/Acknowledge by reply"),
    );
    const example = (await res.json()) as Array<Record<string, unknown> & { id: string; type: string }>;
    const inbox = example.find((n) => n.type === "alarm-mail-inbox");
    assert.equal(inbox?.d, true, "the example's inbox waits to be set up");
    const operator = String(example.find((n) => n.type === "alarm-mail-recipients")?.to);
    const logStart = red.output.length;
    await dovecot.readAll(MAILBOX);
    await red.deploy([
      { id: "example", type: "tab", label: "Acknowledge by reply" },
      ...example.map((node) => {
        const placed = { z: "example", ...node };
        if (node.type === "alarm-mail-server") return { ...placed, port: sink.port };
        if (node.type !== "alarm-mail-inbox") return placed;
        return {
          ...placed,
          d: false,
          host: "127.0.0.1",
          port: dovecot.port,
          security: "none",
          credentials: { user: MAILBOX, password: dovecot.users[MAILBOX] },
        };
      }),
    ]);
    const before = sink.received.length;
    const high = example.find((n) => n.type === "inject" && String(n.name).includes("high"));
    await red.inject(String(high?.id));
    const trigger = (await mails(before + 1))[before];
    await dovecot.deliver(
      MAILBOX,
      replyMail({ from: operator, subject: "Re: alarm", text: "ok", inReplyTo: trigger.messageId }),
    );
    const ackMail = async () => {
      for (const mail of sink.received.slice(before + 1)) {
        // In the trigger's thread: the ack mail's own subject is the first line of its text.
        if ((await mail.parse()).text?.split("\n")[0].endsWith(": acknowledged")) return true;
      }
      return false;
    };
    await until(ackMail, "the acknowledgement mailed by the example's send node", 20_000, () => red?.output ?? "");
    assert.doesNotMatch(red.output.slice(logStart), /\[(error|warn)\]/);
  });

  it("tests the connection from the dialog: permission, login, TLS, STARTTLS and the stored password", async () => {
    await red?.stop();
    red = await NodeRedProcess.start({ adminAuth: true });
    const admin = await red.token("admin");
    const viewer = await red.token("viewer");
    const login = { user: MAILBOX, password: dovecot.users[MAILBOX] };
    const plain = { host: "127.0.0.1", port: dovecot.port, security: "none", mailbox: "INBOX" };
    const verify = async (body: unknown, token = admin, id = "inbox-1") => {
      const res = await red?.request("POST", `/alarm-mail-inbox/${id}/verify`, body, token);
      assert.ok(res);
      const text = await res.text();
      // A refused permission is Node-RED's own answer, not JSON.
      return { status: res.status, body: (res.status === 401 ? {} : JSON.parse(text)) as Record<string, unknown> };
    };

    assert.equal((await verify({ config: plain, credentials: login }, viewer)).status, 401, "a viewer may not");
    const ok = await verify({ config: plain, credentials: login });
    assert.deepEqual([ok.status, ok.body.ok, ok.body.idle, ok.body.mailbox], [200, true, true, "INBOX"]);
    assert.match(String(ok.body.message), /^Connected: INBOX holds \d+ mails/);

    const refused = await verify({ config: plain, credentials: { ...login, password: "wrong" } });
    assert.deepEqual([refused.body.ok, refused.body.code], [false, "imap-auth"]);
    assert.match(String(refused.body.message), /refused the login/);

    const tls = { host: "127.0.0.1", port: dovecot.tlsPort, security: "tls", servername: "localhost" };
    const untrusted = await verify({ config: tls, credentials: login });
    assert.deepEqual([untrusted.body.ok, untrusted.body.code], [false, "imap-failed"]);
    assert.match(String(untrusted.body.message), /certificate/i);
    const trusted = await verify({ config: tls, credentials: { ...login, ca: dovecot.cert } });
    assert.equal(trusted.body.ok, true, String(trusted.body.message));
    const starttls = { ...plain, security: "starttls", servername: "localhost" };
    const upgraded = await verify({ config: starttls, credentials: { ...login, ca: dovecot.cert } });
    assert.equal(upgraded.body.ok, true, String(upgraded.body.message));

    const missing = await verify({ config: { ...plain, mailbox: "Nowhere" }, credentials: login });
    assert.deepEqual([missing.body.ok, missing.body.code], [false, "imap-mailbox"]);
    const misspelt = await verify({ config: plain, credentials: login, extra: 1 });
    assert.equal(misspelt.status, 400);

    // A deployed inbox: the dialog sends "__PWRD__" for a password it was not shown, and the stored one is used.
    await red.deploy(
      [
        { id: "tab", type: "tab", label: "t" },
        { id: "inbox-1", z: "tab", type: "alarm-mail-inbox", ...plain, credentials: login, wires: [[]] },
      ],
      admin,
    );
    const stored = await verify({ config: plain, credentials: { user: MAILBOX, password: "__PWRD__" } });
    assert.equal(stored.body.ok, true, String(stored.body.message));
  });
});

describe("alarm-mail-inbox on a server without IDLE: a look every pollSeconds", () => {
  let dovecot: Dovecot;
  const sinks = new Sinks();
  let red: NodeRedProcess | undefined;
  before(async () => {
    dovecot = await Dovecot.start({ noIdle: true });
  });
  after(async () => {
    await red?.stop();
    await sinks.closeAll();
    await dovecot.close();
  });

  it("takes a reply at the next look, pollSeconds after the last, and says the interval when testing the connection", async () => {
    const sink = await sinks.start();
    red = await NodeRedProcess.start();
    const inboxFile = join(red.userDir, "inbox.jsonl");
    const taken = (count: number, timeoutMs: number) =>
      until(
        () => lines(inboxFile).length >= count,
        `${count} inbox msgs`,
        timeoutMs,
        () => red?.output ?? "",
      );
    await red.deploy(flow(red.userDir, dovecot, sink.port, { pollSeconds: "5", version: 2 }));
    await red.inject("high");
    const [trigger] = await sink.waitFor(1, 15_000);
    // A first mail, taken by some look: the next reply can only come with a later one.
    await dovecot.deliver(MAILBOX, replyMail({ from: "eve@elsewhere.example", subject: "Lunch?", text: "ok" }));
    await taken(1, 40_000);
    await dovecot.deliver(
      MAILBOX,
      replyMail({ from: `Ana Pop <${ANA}>`, subject: "Re: alarm", text: "ok", inReplyTo: trigger.messageId }),
    );
    // Within three looks of 5 s; the 30 s the inbox used to wait could not make it.
    await taken(2, 15_000);
    assert.deepEqual(
      lines(inboxFile).map((l) => [l.event, l.from]),
      [
        ["ignored", "eve@elsewhere.example"],
        ["ack", ANA],
      ],
    );

    const config = { host: "127.0.0.1", port: dovecot.port, security: "none", pollSeconds: "5", version: 2 };
    const res = await red.request("POST", "/alarm-mail-inbox/inbox/verify", {
      config,
      credentials: { user: MAILBOX, password: dovecot.users[MAILBOX] },
    });
    const body = (await res.json()) as { ok?: boolean; idle?: boolean; message?: string };
    assert.deepEqual([body.ok, body.idle], [true, false]);
    assert.match(String(body.message), /the inbox looks every 5 s\.$/);
  });
});

describe("alarm-mail-inbox with OAuth2: XOAUTH2 with the token of a server node's sign-in", () => {
  const oauth = new OAuthServer();
  const sinks = new Sinks();
  let sink: SmtpSink;
  // Dovecot asks this endpoint about each token, as it asks a provider: valid if the OAuth2 server signed it.
  const introspection = new TokenIntrospection(MAILBOX, (token) => oauth.verifyAccessToken(token));
  const introspected = introspection.answers;
  let dovecot: Dovecot;
  let red: NodeRedProcess | undefined;

  before(async () => {
    await oauth.start();
    dovecot = await Dovecot.start({ introspectionUrl: await introspection.start() });
    sink = await sinks.start();
  });
  after(async () => {
    await red?.stop();
    await sinks.closeAll();
    await dovecot.close();
    await introspection.close();
    await oauth.stop();
  });

  it("acknowledges a reply read with the app's token, and tests the connection with it", async () => {
    red = await NodeRedProcess.start();
    const userDir = red.userDir;
    const signedIn = {
      id: "mailbox-app",
      type: "alarm-mail-server",
      name: "mailbox sign-in",
      host: "127.0.0.1",
      port: sink.port,
      security: "none",
      auth: "oauth2",
      from: MAILBOX,
      oauthFlow: "client_credentials",
      ...oauth.endpoints,
      scope: "https://outlook.office.com/.default",
      credentials: { user: MAILBOX, clientId: "gateway-app", clientSecret: "app-secret-1b2c" },
    };
    const nodes = flow(userDir, dovecot, sink.port, {
      auth: "oauth2",
      server: "mailbox-app",
      credentials: { user: MAILBOX },
    });
    await red.deploy([...nodes, signedIn]);
    await red.inject("high");
    const trigger = (await sink.waitFor(1, 15_000))[0];
    await dovecot.deliver(
      MAILBOX,
      replyMail({ from: ANA, subject: "Re: x", text: "OK", inReplyTo: trigger.messageId }),
    );
    const inboxFile = join(userDir, "inbox.jsonl");
    await until(
      () => lines(inboxFile).length >= 1,
      "the inbox's msg",
      20_000,
      () => red?.output ?? "",
    );
    assert.deepEqual([lines(inboxFile)[0].event, lines(inboxFile)[0].from], ["ack", ANA]);
    assert.ok(introspected.length > 0 && introspected.every(Boolean), "Dovecot was shown the app's valid token");
    assert.ok((oauth.tokenRequests.client_credentials ?? 0) >= 1);

    const inbox = nodes.find((n) => (n as { id: string }).id === "inbox") as Record<string, unknown>;
    const { credentials, ...config } = inbox;
    const res = await red.request("POST", "/alarm-mail-inbox/inbox/verify", { config, credentials });
    const verified = (await res.json()) as { ok: boolean; message: string };
    assert.equal(verified.ok, true, verified.message);
  });
});

describe("alarm-mail-inbox with a delegated (authorization-code) sign-in whose token expires while it watches", () => {
  const oauth = new OAuthServer();
  const sinks = new Sinks();
  let sink: SmtpSink;
  /** Tokens the provider now calls expired, though their own expiry is an hour away: as a provider ends a token early. */
  const expired = new Set<string>();
  /** Every token refused, as for a mailbox whose IMAP access an admin turned off. */
  let refuseAll = false;
  const introspection = new TokenIntrospection(
    MAILBOX,
    (token) => !refuseAll && oauth.verifyAccessToken(token) && !expired.has(token),
  );
  const shown = introspection.shown;
  /** What Dovecot was told of each token it asked about, in order. */
  const introspected = introspection.answers;
  let dovecot: Dovecot;
  let red: NodeRedProcess;
  let userDir: string;

  const inboxConfig = { auth: "oauth2", server: "mailbox-user" };
  const signedIn = () => ({
    id: "mailbox-user",
    type: "alarm-mail-server",
    name: "delegated sign-in",
    host: "127.0.0.1",
    port: sink.port,
    security: "none",
    auth: "oauth2",
    from: MAILBOX,
    oauthFlow: "authorization_code",
    ...oauth.endpoints,
    scope: "https://outlook.office.com/IMAP.AccessAsUser.All offline_access",
    credentials: { user: MAILBOX, clientId: "gateway-app", clientSecret: "app-secret-4d5e" },
  });
  /** The Sign in of the server's dialog: the provider signs the user in and sends the browser back to the gateway. */
  const signIn = async () => {
    const { credentials, ...config } = signedIn();
    const redirectUri = `${red.url}/alarm-mail-server/oauth/callback`;
    const start = (await (
      await red.request("POST", "/alarm-mail-server/mailbox-user/oauth/authorize", { config, credentials, redirectUri })
    ).json()) as { ok: boolean; url: string };
    assert.equal(start.ok, true, JSON.stringify(start));
    const back = await fetch(start.url, { redirect: "manual" });
    assert.equal((await fetch(back.headers.get("location") ?? "")).status, 200);
  };
  /** The dialog's Test connection of the inbox as deployed. */
  const testConnection = async () => {
    const inbox = flow(userDir, dovecot, sink.port, { ...inboxConfig, credentials: { user: MAILBOX } }).find(
      (n) => (n as { id: string }).id === "inbox",
    ) as Record<string, unknown>;
    const { credentials, ...config } = inbox;
    const res = await red.request("POST", "/alarm-mail-inbox/inbox/verify", { config, credentials });
    return (await res.json()) as { ok: boolean; code?: string; message: string };
  };
  const statusFile = () => join(userDir, "status.jsonl");
  /** The flows, deployed again by a later test: every node starts again, and the inbox logs in with the stored token. */
  const deploy = () =>
    red.deploy([
      ...flow(userDir, dovecot, sink.port, { ...inboxConfig, credentials: { user: MAILBOX } }),
      signedIn(),
      { id: "inbox-status", z: "mail", type: "status", scope: ["inbox"], wires: [["status-json"]] },
      ...recorder("status", "mail", statusFile(), "msg.status"),
    ]);
  const statuses = () => recorded<{ fill?: string; text?: string }>(statusFile());
  /** Waits for a red status with `text` among those shown since the `from`-th. */
  const untilRedStatus = (from: number, text: string, what: string) =>
    until(
      () =>
        statuses()
          .slice(from)
          .some((s) => s.fill === "red" && s.text === text),
      what,
      20_000,
      () => red.output,
    );
  const inboxLines = async (count: number) => {
    const file = join(userDir, "inbox.jsonl");
    await until(
      () => lines(file).length >= count,
      `${count} inbox msgs`,
      20_000,
      () => red.output,
    );
    return lines(file);
  };
  /** The first trigger mail after the first `from` mails: it starts its thread, so its subject has no "Re: ". */
  const triggerAfter = async (from: number) => {
    for (let count = from + 1; ; count++) {
      const mail = (await sink.waitFor(count, 15_000))[count - 1];
      const subject = (await mail.parse()).subject ?? "";
      if (subject.endsWith(": ALARM") && !subject.startsWith("Re: ")) return mail;
    }
  };

  before(async () => {
    await oauth.start();
    dovecot = await Dovecot.start({ introspectionUrl: await introspection.start(), noAuthPenalty: true });
    sink = await sinks.start();
    red = await NodeRedProcess.start();
    userDir = red.userDir;
    await deploy();
  });
  after(async () => {
    await red.stop();
    await sinks.closeAll();
    await dovecot.close();
    await introspection.close();
    await oauth.stop();
  });

  it("says the server is not signed in, then reads a reply with the delegated token once it is, and acknowledges", async () => {
    await until(
      () => statuses().some((s) => s.text === "not signed in"),
      "the status of an inbox whose server is not signed in",
      20_000,
      () => red.output,
    );
    assert.match(red.output, /\[alarm-mail-inbox:inbox\] This server is not signed in yet: use Sign in in its dialog/);
    await signIn();
    await red.inject("high");
    const trigger = await triggerAfter(0);
    await dovecot.deliver(
      MAILBOX,
      replyMail({ from: ANA, subject: "Re: x", text: "OK", inReplyTo: trigger.messageId }),
    );
    const seen = await inboxLines(1);
    assert.deepEqual([seen[0].event, seen[0].from], ["ack", ANA]);
    assert.ok(introspected.length > 0 && introspected.every(Boolean), "Dovecot was shown the delegated token only");
    assert.deepEqual([oauth.tokenRequests.authorization_code, oauth.tokenRequests.client_credentials], [1, undefined]);
  });

  it("renews a token refused at the next login with the refresh token, and acknowledges the reply that came meanwhile once", async () => {
    const refreshes = oauth.tokenRequests.refresh_token ?? 0;
    const sent = sink.received.length;
    await red.inject("normal");
    await red.inject("high");
    const trigger = await triggerAfter(sent);
    // The token the inbox logged in with ends early; the open session goes on, as Dovecot checks a token at login.
    shown.forEach((token) => expired.add(token));
    const refused = introspected.filter((active) => !active).length;
    // Dovecot restarts: the inbox logs in again with the token it has.
    await dovecot.restart();
    await dovecot.deliver(
      MAILBOX,
      replyMail({ from: ION, subject: "Re: y", text: "ack", inReplyTo: trigger.messageId }),
    );
    const seen = await inboxLines(2);
    assert.deepEqual([seen[1].event, seen[1].from], ["ack", ION]);
    assert.notEqual(seen[1].alarm?.occurrence, seen[0].alarm?.occurrence, "the new occurrence");
    assert.equal(
      introspected.filter((active) => !active).length - refused,
      1,
      "Dovecot refused the expired token once",
    );
    assert.equal((oauth.tokenRequests.refresh_token ?? 0) - refreshes, 1, "renewed once, with the refresh token");
    await until(() => statuses().at(-1)?.text?.startsWith("ack ") === true, "the ack status");
    assert.doesNotMatch(red.output, /refused the login/, "a renewed token is no refused login");
    // Nothing taken twice: one more mail is the next msg.
    await dovecot.deliver(MAILBOX, replyMail({ from: ANA, subject: "Lunch?", text: "ok" }));
    assert.deepEqual(
      (await inboxLines(3)).slice(2).map((l) => [l.event, l.reason]),
      [["ignored", "not-alarm-reply"]],
    );
    assert.equal(lines(join(userDir, "inbox.jsonl")).length, 3);

    // Test connection meets a token that ended early as the inbox does: renewed once, then connected. The provider
    // renews at most once in 5 s (a burst of refusals makes one renewal), so this one waits out the inbox's.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    shown.forEach((token) => expired.add(token));
    const renewed = oauth.tokenRequests.refresh_token ?? 0;
    const tested = await testConnection();
    assert.equal(tested.ok, true, tested.message);
    assert.equal((oauth.tokenRequests.refresh_token ?? 0) - renewed, 1);
  });

  it("a revoked sign-in: the server's words and a red status that stays, no login nor token request until a new sign-in, then on", async () => {
    oauth.revokeAll();
    shown.forEach((token) => expired.add(token));
    const from = statuses().length;
    const msgs = lines(join(userDir, "inbox.jsonl")).length;
    await deploy();
    await untilRedStatus(from, "sign in again", "the status that asks to sign in again");
    assert.match(
      red.output,
      /\[alarm-mail-inbox:inbox\] The OAuth2 sign-in is no longer valid \(.+\): sign in again from the server node's dialog/,
    );
    const refreshes = oauth.tokenRequests.refresh_token;
    const logins = introspected.length;
    // The backoff's first waits are 1 and 2 s: a loop of logins or of token requests would show within 3 s.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    assert.deepEqual([oauth.tokenRequests.refresh_token, introspected.length], [refreshes, logins]);
    assert.equal(statuses().at(-1)?.text, "sign in again", "the status stays");
    assert.equal(red.output.match(/The OAuth2 sign-in is no longer valid/g)?.length, 1, "said once");
    const tested = await testConnection();
    assert.equal(tested.ok, false);
    assert.equal(tested.code, "oauth-invalid-grant");
    assert.match(tested.message, /sign in again from the server node's dialog/);

    await signIn();
    await dovecot.deliver(MAILBOX, replyMail({ from: ANA, subject: "Shift change", text: "ok" }));
    const seen = await inboxLines(msgs + 1);
    assert.deepEqual([seen[msgs].event, seen[msgs].reason], ["ignored", "not-alarm-reply"]);
    assert.equal(oauth.tokenRequests.authorization_code, 2);
  });

  it("a renewed token refused too is a refused login: renewed once, then the inbox waits", async () => {
    refuseAll = true;
    const from = statuses().length;
    const refreshes = oauth.tokenRequests.refresh_token ?? 0;
    const logins = introspected.length;
    await deploy();
    await untilRedStatus(from, "login refused", "the refused login's status");
    assert.equal((oauth.tokenRequests.refresh_token ?? 0) - refreshes, 1, "renewed once");
    assert.equal(introspected.slice(logins).length, 2, "the token it had, then the renewed one");
    assert.match(red.output, /\[alarm-mail-inbox:inbox\] The IMAP server refused the login/);
  });
});
