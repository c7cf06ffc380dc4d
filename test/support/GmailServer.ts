import { ApiServer, mimeHeaders, type ApiRequest, type ScriptedAnswer } from "./ApiServer";

export interface GmailDelivery {
  id: string;
  mime: Buffer;
  messageId: string;
}

const MEDIA_LIMIT = 35 * 1024 * 1024;
const googleError = (status: number, reason: string, message: string, state: string): ScriptedAnswer => ({
  status,
  body: { error: { code: status, message, errors: [{ message, domain: "global", reason }], status: state } },
});

/**
 * The Gmail API's `users.messages.send` as documented, on loopback HTTPS: a media upload of `message/rfc822`
 * (200 with the message's id), 35 MB at most (413), the `gmail.send` scope or a wider one (else 403
 * `insufficientPermissions`), no recipient 400 "Recipient address required".
 */
export class GmailServer extends ApiServer {
  readonly delivered: GmailDelivery[] = [];

  protected mailboxOf(): string {
    return "me";
  }

  protected unauthorized(): ScriptedAnswer {
    return googleError(401, "authError", "Request had invalid authentication credentials.", "UNAUTHENTICATED");
  }

  protected handle(req: ApiRequest): ScriptedAnswer {
    if (req.method !== "POST" || req.path !== "/upload/gmail/v1/users/me/messages/send") {
      return googleError(404, "notFound", "Not Found", "NOT_FOUND");
    }
    if (req.query.get("uploadType") !== "media" || req.headers["content-type"] !== "message/rfc822") {
      return googleError(400, "badContent", "Media type not supported.", "INVALID_ARGUMENT");
    }
    if (req.body.length > MEDIA_LIMIT) {
      return googleError(413, "uploadTooLarge", "Media upload too large.", "INVALID_ARGUMENT");
    }
    const scopes = this.scopes(req.token);
    const allowed = ["gmail.send", "gmail.compose", "gmail.modify"].map((s) => `https://www.googleapis.com/auth/${s}`);
    if (!scopes.some((s) => allowed.includes(s) || s === "https://mail.google.com/")) {
      return googleError(
        403,
        "insufficientPermissions",
        "Request had insufficient authentication scopes.",
        "PERMISSION_DENIED",
      );
    }
    const headers = mimeHeaders(req.body);
    if (!headers.get("to") && !headers.get("cc") && !headers.get("bcc")) {
      return googleError(400, "invalidArgument", "Recipient address required", "INVALID_ARGUMENT");
    }
    const id = (this.delivered.length + 0x18c0000000).toString(16);
    this.delivered.push({ id, mime: req.body, messageId: headers.get("message-id") ?? "" });
    return { status: 200, body: { id, threadId: id, labelIds: ["SENT"] } };
  }
}
