import type { Request, Response } from "express";
import type { NodeAPI } from "node-red";
import { parseAddressList } from "../../lib/mail/AddressList";
import { MailComposer } from "../../lib/mail/MailComposer";
import { MailError } from "../../lib/mail/MailError";
import {
  parseServerSettings,
  type ServerConfig,
  type ServerCredentials,
  type ServerSettings,
} from "../../lib/server/ServerSettings";
import type { TokenProvider } from "../../lib/oauth/TokenProvider";
import { createTokenProvider, createTransport } from "../../lib/server/ServerStack";
import type { Transport } from "../../lib/transport/Transport";
import { describeError } from "../kit/i18n";
import { readBody, routeNodeId, type BodySchema } from "../kit/requests";
import { findServer } from "./ServerNode";
import { tokenStore } from "./tokens";

/** What the dialog posts: its current fields, so that a server can be tried before it is deployed. */
interface TestRequest {
  config?: ServerConfig;
  credentials?: ServerCredentials;
  to?: string;
}

/** Node-RED puts this in a password field that holds a stored value it will not send to the browser. */
const UNCHANGED = "__PWRD__";

/**
 * The Test connection and Send test mail buttons. Both run with the settings in the dialog; a password left
 * untouched there is taken from the stored credentials, which never travel back to the browser.
 */
export function registerServerEndpoints(RED: NodeAPI): void {
  const canWrite = RED.auth.needsPermission("alarm-mail-server.write");

  RED.httpAdmin.post("/alarm-mail-server/:id/verify", canWrite, (req: Request, res: Response) => {
    void run(RED, req, res, async (transport) => {
      const probe = await transport.probe();
      return {
        message: RED._("alarm-mail-server.test.connected", { response: probe.response || probe.greeting }),
        greeting: probe.greeting,
        response: probe.response,
      };
    });
  });

  RED.httpAdmin.post("/alarm-mail-server/:id/send-test", canWrite, (req: Request, res: Response) => {
    void run(RED, req, res, async (transport, composer, body) => {
      const [to] = parseAddressList(body.to ?? "", "to");
      if (!to) throw new MailError("address-missing");
      const mail = await composer.compose(
        { to: [to], cc: [], bcc: [], subject: "", body: "", html: "" },
        { topic: RED._("alarm-mail-server.test.subject"), payload: RED._("alarm-mail-server.test.body") },
        {},
      );
      const receipt = await transport.send(mail);
      return {
        message: RED._("alarm-mail-server.test.sent", { to: to.address, response: receipt.response }),
        to: to.address,
        response: receipt.response,
      };
    });
  });
}

type TestAction = (
  transport: Transport,
  composer: MailComposer,
  body: TestRequest,
) => Promise<{ message: string; [key: string]: string }>;

/** What the dialog posts: its fields, its secrets ("__PWRD__" when untouched) and, for a test mail, the address. */
export const DIALOG_BODY = {
  config: { kind: "record", optional: true },
  credentials: { kind: "record", optional: true, strings: true },
  to: { kind: "string", optional: true, max: 10_000 },
} as const satisfies BodySchema;

async function run(RED: NodeAPI, req: Request, res: Response, action: TestAction): Promise<void> {
  const id = routeNodeId(RED, req, res, "alarm-mail-server", "id");
  const checked = id === undefined ? undefined : readBody(RED, req, res, "alarm-mail-server", DIALOG_BODY);
  if (id === undefined || !checked) return;
  const body = checked as TestRequest;
  let transport: Transport | undefined;
  try {
    const settings = parseServerSettings(body.config ?? {}, withStoredSecrets(RED, id, body.credentials));
    const tokens = settings.oauth ? await tokenProviderFor(RED, id, settings) : undefined;
    const opened = createTransport(settings, tokens);
    transport = opened;
    res.json({ ok: true, ...(await action(opened, new MailComposer(settings.sender), body)) });
  } catch (err) {
    const mailError = err instanceof MailError ? err : undefined;
    res.json({
      ok: false,
      code: mailError?.code ?? "smtp-failed",
      params: mailError?.params ?? {},
      message: describeError(RED, err),
    });
  } finally {
    transport?.close();
  }
}

/** The dialog's credentials, where a secret left untouched ("__PWRD__") or not sent is the stored one. */
export function withStoredSecrets(RED: NodeAPI, id: string, fromDialog: ServerCredentials = {}): ServerCredentials {
  const stored = (RED.nodes.getCredentials(id) ?? {}) as ServerCredentials;
  const keys: Array<keyof ServerCredentials> = ["user", "password", "ca", "clientId", "clientSecret", "refreshToken"];
  return Object.fromEntries(
    keys.map((key) => [
      key,
      fromDialog[key] === UNCHANGED || fromDialog[key] === undefined ? stored[key] : fromDialog[key],
    ]),
  ) as ServerCredentials;
}

/**
 * The token provider to test with: the deployed node's own, when there is one, because a second provider would
 * rotate the refresh token behind its back; otherwise one over the same token store.
 */
export async function tokenProviderFor(RED: NodeAPI, id: string, settings: ServerSettings): Promise<TokenProvider> {
  const deployed = findServer(RED, id)?.tokens;
  if (deployed) return deployed;
  const oauth = settings.oauth;
  if (!oauth) throw new MailError("config-invalid", { field: "auth" });
  return createTokenProvider(oauth, settings.connection.user, await tokenStore(RED), id);
}
