import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SmtpSink } from "../../dev/SmtpSink";
import { NodeRedProcess } from "../support/NodeRedProcess";
import { OAuthServer } from "../support/OAuthServer";
import { until } from "../support/until";

const CLIENT_SECRET = "app-secret-7f3a9c";
const MAILBOX = "gateway@plant.example";

describe("OAuth2 for SMTP, against a real OAuth2 server and an SMTP server that takes XOAUTH2 only", () => {
  const oauth = new OAuthServer();
  const tokensSeen = new Set<string>();
  let refuseNextTokens = 0;
  const smtp = new SmtpSink({
    starttls: false,
    authMethods: ["XOAUTH2"],
    delayMs: 5,
    verifyToken: (user, token) => {
      tokensSeen.add(token);
      if (refuseNextTokens > 0) {
        refuseNextTokens -= 1;
        return false;
      }
      return user === MAILBOX && oauth.verifyAccessToken(token);
    },
  });
  let red: NodeRedProcess;
  let admin: string;
  const refreshTokensSeen = new Set<string>();

  const server = (id: string, flow: string, extra: Record<string, unknown> = {}) => ({
    id,
    type: "alarm-mail-server",
    host: "127.0.0.1",
    port: smtp.port,
    security: "none",
    auth: "oauth2",
    from: MAILBOX,
    oauthFlow: flow,
    ...oauth.endpoints,
    scope: "https://outlook.office.com/SMTP.Send offline_access",
    retryDelay: 100,
    retryMaxDelay: 400,
    credentials: { user: MAILBOX, clientId: "gateway-app", clientSecret: CLIENT_SECRET },
    ...extra,
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
  const flows = () => [
    { id: "tab", type: "tab", label: "oauth" },
    server("srv-ac", "authorization_code"),
    server("srv-dc", "device_code", { credentials: { user: MAILBOX, clientId: "gateway-device" } }),
    server("srv-cc", "client_credentials"),
    ...["srv-ac", "srv-dc", "srv-cc"].flatMap(sender),
  ];
  const dialog = (id: string) => {
    const node = flows().find((n) => n.id === id) as Record<string, unknown> & { credentials: Record<string, string> };
    const { credentials, ...config } = node;
    return { config, credentials: { ...credentials, clientSecret: "__PWRD__" } };
  };
  const inject = async (server: string, count = 1) => {
    for (let i = 0; i < count; i++) await red.inject(`go-${server}`, admin);
  };
  const mailsVia = (server: string) => smtp.received.filter((m) => m.raw.toString().includes(`Subject: via ${server}`));
  const signInStatus = async (server: string) =>
    (await (await red.request("GET", `/alarm-mail-server/${server}/oauth/status`, undefined, admin)).json()) as {
      signIn: { state: string; account?: string; expiresAt?: number };
      device?: { state: string; userCode?: string };
    };
  const waitFor = (check: () => boolean | Promise<boolean>, what: string) =>
    until(check, what, 20_000, () => red.output.slice(-2000));
  const deviceSignIn = async (server: string) => {
    const started = (await (
      await red.request("POST", `/alarm-mail-server/${server}/oauth/device`, dialog(server), admin)
    ).json()) as { ok: boolean; userCode: string; verificationUri: string };
    assert.equal(started.ok, true, JSON.stringify(started));
    assert.match(started.verificationUri, /\/device$/);
    oauth.approveDevice(started.userCode);
    await waitFor(async () => (await signInStatus(server)).device?.state === "signed-in", "the device sign-in");
    oauth.refreshTokens.forEach((t) => refreshTokensSeen.add(t));
  };

  before(async () => {
    await oauth.start();
    await smtp.listen();
    red = await NodeRedProcess.start({ adminAuth: true });
    admin = await red.token("admin");
    await red.deploy(flows(), admin);
  });
  after(async () => {
    await red.stop();
    await smtp.close();
    await oauth.stop();
  });

  it("authorization code: Sign in with state and PKCE, then the queued mail goes out with a verified token", async () => {
    await inject("srv-ac");
    const redirectUri = `${red.url}/alarm-mail-server/oauth/callback`;
    assert.equal(
      (await red.request("POST", "/alarm-mail-server/srv-ac/oauth/authorize", { ...dialog("srv-ac"), redirectUri }))
        .status,
      401,
      "starting a sign-in needs a login",
    );
    const start = (await (
      await red.request(
        "POST",
        "/alarm-mail-server/srv-ac/oauth/authorize",
        { ...dialog("srv-ac"), redirectUri },
        admin,
      )
    ).json()) as { ok: boolean; url: string };
    assert.equal(start.ok, true, JSON.stringify(start));
    const authorize = new URL(start.url);
    assert.equal(authorize.searchParams.get("code_challenge_method"), "S256");
    assert.ok(authorize.searchParams.get("state"));
    // The provider signs the user in and sends the browser back to the gateway.
    const back = await fetch(start.url, { redirect: "manual" });
    const callback = back.headers.get("location") ?? "";
    assert.ok(callback.startsWith(redirectUri), callback);

    const forged = new URL(callback);
    forged.searchParams.set("state", "not-the-state");
    assert.equal((await fetch(forged)).status, 400, "an unknown state is refused");
    const noState = new URL(callback);
    noState.searchParams.delete("state");
    assert.equal((await fetch(noState)).status, 400, "a missing state is refused");
    assert.equal((await fetch(callback)).status, 200);
    assert.equal((await fetch(callback)).status, 400, "a replayed state is refused");

    await waitFor(() => mailsVia("srv-ac").length === 1, "the mail queued before the sign-in");
    assert.equal((await signInStatus("srv-ac")).signIn.state, "signed-in");
    assert.equal((await signInStatus("srv-ac")).signIn.account, MAILBOX);
    oauth.refreshTokens.forEach((t) => refreshTokensSeen.add(t));
  });

  it("device code: the runtime polls (pending, slow_down) until the user approves, then mails go out", async () => {
    await deviceSignIn("srv-dc");
    await inject("srv-dc");
    await waitFor(() => mailsVia("srv-dc").length === 1, "a mail through the device-code server");
  });

  it("client credentials: no sign-in, the app's own token", async () => {
    oauth.expiresIn = 301; // stale one second later: the provider renews five minutes before expiry
    await inject("srv-cc");
    await waitFor(() => mailsVia("srv-cc").length === 1, "a mail through the app-only server");
    assert.equal(oauth.tokenRequests.client_credentials, 1);
  });

  it("a token that expires during a burst is fetched once for all connections", async () => {
    await new Promise((resolve) => setTimeout(resolve, 1200));
    await red.deploy(flows(), admin); // new pools: every connection of the burst logs in
    const before = oauth.tokenRequests.client_credentials ?? 0;
    const sent = mailsVia("srv-cc").length;
    await inject("srv-cc", 40);
    await waitFor(() => mailsVia("srv-cc").length === sent + 40, "the burst");
    assert.equal((oauth.tokenRequests.client_credentials ?? 0) - before, 1, "one token request for the burst");
    oauth.expiresIn = 3600;
  });

  it("a token the SMTP server refuses is renewed once, and the mail goes on the retry", async () => {
    await red.deploy(flows(), admin);
    const refreshes = oauth.tokenRequests.refresh_token ?? 0;
    refuseNextTokens = 1;
    const sent = mailsVia("srv-dc").length;
    await inject("srv-dc");
    await waitFor(() => mailsVia("srv-dc").length === sent + 1, "the mail after a renewed token");
    assert.equal((oauth.tokenRequests.refresh_token ?? 0) - refreshes, 1, "one renewal");
    oauth.refreshTokens.forEach((t) => refreshTokensSeen.add(t));
  });

  it("a rotated refresh token is still the one in use after Node-RED restarts", async () => {
    // Rotate before the restart: a refused token makes the gateway refresh, and the provider rotates the refresh token.
    oauth.expiresIn = 301;
    refuseNextTokens = 1;
    let sent = mailsVia("srv-dc").length;
    await inject("srv-dc");
    await waitFor(() => mailsVia("srv-dc").length === sent + 1, "a mail that rotated the refresh token");
    const rotated = oauth.refreshTokens;
    const refreshes = oauth.tokenRequests.refresh_token ?? 0;

    await red.stop();
    red = await NodeRedProcess.start({ userDir: red.userDir, adminAuth: true });
    admin = await red.token("admin");
    await new Promise((resolve) => setTimeout(resolve, 1200));
    sent = mailsVia("srv-dc").length;
    await inject("srv-dc");
    await waitFor(() => mailsVia("srv-dc").length === sent + 1, "a mail after the restart");
    assert.equal((oauth.tokenRequests.refresh_token ?? 0) - refreshes, 1, "refreshed once after the restart");
    assert.ok(
      rotated.some((t) => !oauth.refreshTokens.includes(t)),
      "with the rotated refresh token, read back from the encrypted store",
    );
    oauth.refreshTokens.forEach((t) => refreshTokensSeen.add(t));
    oauth.expiresIn = 3600;
  });

  it("invalid_grant: the node says to sign in again, mails wait, and go after a new sign-in", async () => {
    oauth.revokeAll();
    oauth.expiresIn = 301;
    await red.deploy(flows(), admin);
    await deviceSignIn("srv-dc"); // fresh tokens that go stale in a second, then revoked below
    oauth.revokeAll();
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const sent = mailsVia("srv-dc").length;
    await inject("srv-dc");
    await waitFor(async () => (await signInStatus("srv-dc")).signIn.state === "sign-in-again", "sign-in-again");
    const outbox = (await (await red.request("GET", "/alarm-mail/outbox", undefined, admin)).json()) as {
      servers: Array<{ id: string; queued: unknown[]; health: { state: string } }>;
    };
    assert.equal(outbox.servers.find((s) => s.id === "srv-dc")?.queued.length, 1, "the mail waits");
    const test = (await (
      await red.request("POST", "/alarm-mail-server/srv-dc/verify", dialog("srv-dc"), admin)
    ).json()) as { ok: boolean; code: string };
    assert.deepEqual([test.ok, test.code], [false, "oauth-invalid-grant"], "Test connection says to sign in again");
    assert.equal(mailsVia("srv-dc").length, sent);
    oauth.expiresIn = 3600;
    await deviceSignIn("srv-dc");
    await waitFor(() => mailsVia("srv-dc").length === sent + 1, "the mail after signing in again");
  });

  it("no secret in the log, the exported flows or the files on disk", async () => {
    const files = [join(red.userDir, "flows.json"), join(red.userDir, "flows_cred.json")];
    const tokenDir = join(red.userDir, "alarm-mail", "tokens");
    for (const name of readdirSync(tokenDir)) files.push(join(tokenDir, name));
    const texts = [
      red.output,
      await (await red.request("GET", "/flows", undefined, admin)).text(),
      ...files.map((f) => readFileSync(f).toString("utf8")),
    ];
    const secrets = [CLIENT_SECRET, ...refreshTokensSeen, ...tokensSeen];
    assert.ok(secrets.length > 5);
    for (const text of texts) for (const secret of secrets) assert.ok(!text.includes(secret), `a secret leaked`);
  });
});
