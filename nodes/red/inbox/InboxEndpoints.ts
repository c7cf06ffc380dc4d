import type { Request, Response } from "express";
import type { NodeAPI } from "node-red";
import { InboxError } from "../../lib/inbox/InboxError";
import { parseInboxSettings, type InboxConfig, type InboxCredentials } from "../../lib/inbox/InboxSettings";
import { probeMailbox } from "../../lib/inbox/MailboxWatcher";
import { MailError } from "../../lib/mail/MailError";
import { isPlainObject } from "../../lib/common/PlainObject";
import { describeError } from "../kit/i18n";
import { readBody, routeNodeId, type BodySchema } from "../kit/requests";
import { imapConnection } from "./InboxNode";

/** What the dialog posts: its fields and its secrets ("__PWRD__" when untouched), so that it can be tried undeployed. */
const DIALOG_BODY = {
  config: { kind: "record", optional: true },
  credentials: { kind: "record", optional: true, strings: true },
} as const satisfies BodySchema;

/** Node-RED puts this in a password field that holds a stored value it will not send to the browser. */
const UNCHANGED = "__PWRD__";

/**
 * The dialog's Test connection: logs in with the settings in the dialog, opens the mailbox read-only and says how many
 * mails it holds and whether the server offers IDLE. A password left untouched is the stored one.
 */
export function registerInboxEndpoints(RED: NodeAPI): void {
  const canWrite = RED.auth.needsPermission("alarm-mail-inbox.write");
  RED.httpAdmin.post("/alarm-mail-inbox/:id/verify", canWrite, (req: Request, res: Response) => {
    void verify(RED, req, res);
  });
}

async function verify(RED: NodeAPI, req: Request, res: Response): Promise<void> {
  const id = routeNodeId(RED, req, res, "alarm-mail-inbox", "id");
  const body = id === undefined ? undefined : readBody(RED, req, res, "alarm-mail-inbox", DIALOG_BODY);
  if (id === undefined || !body) return;
  try {
    const config: InboxConfig = isPlainObject(body.config) ? body.config : {};
    const settings = parseInboxSettings(config, withStoredSecrets(RED, id, body.credentials));
    const probe = await probeMailbox({ ...imapConnection(RED, settings), timeoutMs: 15_000 }, settings.mailbox);
    res.json({
      ok: true,
      message: RED._(probe.idle ? "alarm-mail-inbox.test.connected" : "alarm-mail-inbox.test.connected-polling", {
        mailbox: probe.mailbox,
        count: probe.exists,
        seconds: settings.pollMs / 1000,
      }),
      ...probe,
    });
  } catch (err) {
    res.json({
      ok: false,
      // The server's sign-in to renew is named as the server's own Test connection names it.
      code: err instanceof InboxError || err instanceof MailError ? err.code : "imap-failed",
      message: describeError(RED, err),
    });
  }
}

function withStoredSecrets(RED: NodeAPI, id: string, fromDialog: Record<string, unknown> = {}): InboxCredentials {
  const stored = (RED.nodes.getCredentials(id) ?? {}) as InboxCredentials;
  const pick = (key: keyof InboxCredentials): string | undefined => {
    const given = fromDialog[key];
    return given === UNCHANGED || typeof given !== "string" ? stored[key] : given;
  };
  return { user: pick("user"), password: pick("password"), ca: pick("ca") };
}
