import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import type { NodeStatus } from "node-red";
import { OAuthClient } from "../../nodes/lib/oauth/OAuthClient";
import type { ServerNodeObject } from "../../nodes/red/server/ServerNode";
import { helper, loadMailFlow, nodeById, until } from "../support/flows";
import { OAuthServer } from "../support/OAuthServer";

const SCOPE = "https://outlook.office.com/SMTP.Send offline_access";

/** The send node says at deploy that its OAuth2 server waits for a sign-in, and stops saying it once signed in. */
describe("alarm-mail-send: the sign-in an OAuth2 server waits for", () => {
  const oauth = new OAuthServer();
  let statuses: NodeStatus[];

  before(() => oauth.start());
  after(() => oauth.stop());
  afterEach(() => helper.unload());

  const load = async (oauthFlow: string) => {
    // Nothing is mailed here: the SMTP port is never dialled.
    await loadMailFlow(1, {
      server: { auth: "oauth2", oauthFlow, scope: SCOPE, ...oauth.endpoints },
      credentials: { user: "alarms@plant.example", clientId: "gateway-app", clientSecret: "s3cret" },
    });
    const send = nodeById("send") as unknown as { status: { getCalls(): Array<{ args: [NodeStatus] }> } };
    statuses = send.status.getCalls().map((call) => call.args[0]);
    (send as unknown as NodeJS.EventEmitter).on("call:status", (call: { args: [NodeStatus] }) =>
      statuses.push(call.args[0]),
    );
  };
  const last = () => statuses.at(-1);

  it("device code: yellow at deploy; cleared by a sign-in", async () => {
    await load("device_code");
    await until(() => last()?.text === "alarm-mail-send.status.signIn", "the sign-in status");
    assert.deepEqual(last(), { fill: "yellow", shape: "ring", text: "alarm-mail-send.status.signIn" });

    const tokens = await new OAuthClient({
      flow: "client_credentials",
      ...oauth.endpoints,
      scope: SCOPE,
      clientId: "gateway-app",
      clientSecret: "s3cret",
    }).clientCredentials();
    await (nodeById("server") as unknown as ServerNodeObject).mailServer.signedIn(tokens);
    await until(() => last() !== undefined && Object.keys(last() ?? {}).length === 0, "the status cleared");
  });

  it("client credentials: nobody signs in, so nothing is said", async () => {
    await load("client_credentials");
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(
      statuses.some((s) => s.text === "alarm-mail-send.status.signIn"),
      false,
    );
  });
});
