import { randomUUID } from "node:crypto";
import { ApiServer, mimeHeaders, type ApiRequest, type ScriptedAnswer } from "./ApiServer";

/** A mail that Graph took: its MIME and, for a draft, the attachments added to it apart. */
export interface GraphDelivery {
  mailbox: string;
  via: "sendMail" | "draft";
  mime: Buffer;
  messageId: string;
  attachments: Array<{ name: string; content: Buffer }>;
}

interface Draft {
  mailbox: string;
  mime: Buffer;
  attachments: Array<{ name: string; content: Buffer }>;
}

interface UploadSession {
  draft: string;
  name: string;
  size: number;
  chunks: Buffer[];
  received: number;
}

const REQUEST_LIMIT = 4 * 1024 * 1024;
const error = (status: number, code: string, message: string, headers?: Record<string, string>): ScriptedAnswer => ({
  status,
  body: { error: { code, message } },
  ...(headers ? { headers } : {}),
});

/**
 * Microsoft Graph's mail sending as documented, on loopback HTTPS: `sendMail` with base64 MIME (202) or JSON, drafts
 * from MIME, attachments, upload sessions (chunks of at most 4 MB, `Content-Range`, 200 then 201), `/send`; 4 MB per
 * request (413), 4 requests at once per mailbox (429 `MailboxConcurrency` with `Retry-After`), `Mail.Send` or
 * `.default` in the token's scope (else 403 `ErrorAccessDenied`), unknown mailboxes 404 `ErrorInvalidUser`.
 */
export class GraphServer extends ApiServer {
  readonly delivered: GraphDelivery[] = [];
  readonly drafts = new Map<string, Draft>();
  readonly sessions = new Map<string, UploadSession>();
  /** A mailbox that Graph throttles: every request for it gets 429 with `Retry-After: 0`. */
  throttle?: string;
  /** Requests refused for going over the mailbox's concurrency. */
  concurrencyRefusals = 0;

  constructor(
    verifyToken: (token: string) => boolean,
    readonly mailboxes: string[],
  ) {
    super(verifyToken);
  }

  get root(): string {
    return `${this.url}/v1.0`;
  }

  protected mailboxOf(path: string): string {
    return decodeURIComponent(/^\/v1\.0\/(?:users\/([^/]+)|(me))/.exec(path)?.slice(1).find(Boolean) ?? "upload");
  }

  protected unauthorized(): ScriptedAnswer {
    return error(401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.");
  }

  protected handle(req: ApiRequest): ScriptedAnswer {
    const upload = /^\/upload-sessions\/([^/]+)$/.exec(req.path);
    if (upload && req.method === "PUT") return this.chunk(upload[1], req);
    const mailbox = this.mailboxOf(req.path);
    if (mailbox === this.throttle) {
      return error(429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.", {
        "retry-after": "0",
      });
    }
    if ((this.inFlight.get(mailbox) ?? 0) > 4) {
      this.concurrencyRefusals += 1;
      return error(429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.", {
        "retry-after": "1",
      });
    }
    if (req.body.length > REQUEST_LIMIT) {
      return error(413, "RequestEntityTooLarge", "The request body exceeds the 4 MB limit.");
    }
    const scopes = this.scopes(req.token);
    if (!scopes.some((s) => s === "Mail.Send" || s.endsWith("/Mail.Send") || s.endsWith("/.default"))) {
      return error(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.");
    }
    if (mailbox !== "me" && !this.mailboxes.includes(mailbox)) {
      return error(404, "ErrorInvalidUser", `The requested user '${mailbox}' is invalid.`);
    }
    const rest = req.path.replace(/^\/v1\.0\/(?:users\/[^/]+|me)/, "");
    if (req.method === "POST" && rest === "/sendMail") return this.sendMail(mailbox, req);
    if (req.method === "POST" && rest === "/messages") return this.createDraft(mailbox, req);
    const message = /^\/messages\/([^/]+)(\/.*)?$/.exec(rest);
    const draft = message ? this.drafts.get(decodeURIComponent(message[1])) : undefined;
    if (!message || !draft || draft.mailbox !== mailbox) {
      return error(404, "ErrorItemNotFound", "The specified object was not found in the store.");
    }
    const id = decodeURIComponent(message[1]);
    const action = message[2] ?? "";
    if (req.method === "DELETE" && action === "") {
      this.drafts.delete(id);
      return { status: 204 };
    }
    if (req.method === "POST" && action === "/attachments") {
      const item = JSON.parse(req.body.toString()) as { name: string; contentBytes: string };
      draft.attachments.push({ name: item.name, content: Buffer.from(item.contentBytes, "base64") });
      return { status: 201, body: { id: randomUUID(), name: item.name } };
    }
    if (req.method === "POST" && action === "/attachments/createUploadSession") {
      const { AttachmentItem: item } = JSON.parse(req.body.toString()) as {
        AttachmentItem: { name: string; size: number };
      };
      const session = randomUUID();
      this.sessions.set(session, { draft: id, name: item.name, size: item.size, chunks: [], received: 0 });
      return {
        status: 201,
        body: {
          uploadUrl: `${this.url}/upload-sessions/${session}`,
          expirationDateTime: new Date(Date.now() + 3_600_000).toISOString(),
          nextExpectedRanges: ["0-"],
        },
      };
    }
    if (req.method === "POST" && action === "/send") {
      this.drafts.delete(id);
      this.delivered.push({
        mailbox,
        via: "draft",
        mime: draft.mime,
        messageId: mimeHeaders(draft.mime).get("message-id") ?? "",
        attachments: draft.attachments,
      });
      return { status: 202 };
    }
    return error(400, "BadRequest", `Unsupported request ${req.method} ${req.path}`);
  }

  private sendMail(mailbox: string, req: ApiRequest): ScriptedAnswer {
    if (/json/.test(req.headers["content-type"] ?? "")) {
      const { message } = JSON.parse(req.body.toString()) as { message?: { toRecipients?: unknown[] } };
      if (!message?.toRecipients?.length) return noRecipients();
      return error(400, "BadRequest", "This double takes JSON messages only for the connection test.");
    }
    const mime = Buffer.from(req.body.toString(), "base64");
    const headers = mimeHeaders(mime);
    if (!headers.get("to") && !headers.get("cc") && !headers.get("bcc")) return noRecipients();
    this.delivered.push({
      mailbox,
      via: "sendMail",
      mime,
      messageId: headers.get("message-id") ?? "",
      attachments: [],
    });
    return { status: 202 };
  }

  private createDraft(mailbox: string, req: ApiRequest): ScriptedAnswer {
    const id = `AAMk${randomUUID()}=`;
    this.drafts.set(id, { mailbox, mime: Buffer.from(req.body.toString(), "base64"), attachments: [] });
    return { status: 201, body: { id, isDraft: true } };
  }

  private chunk(session: string, req: ApiRequest): ScriptedAnswer {
    const upload = this.sessions.get(session);
    if (!upload) return error(404, "ItemNotFound", "The upload session does not exist or has expired.");
    const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(req.headers["content-range"] ?? ""));
    const [start, end, total] = (range ?? []).slice(1).map(Number);
    if (!range || start !== upload.received || end - start + 1 !== req.body.length || total !== upload.size) {
      return error(416, "InvalidRange", "The Content-Range does not match the next expected range.");
    }
    if (req.body.length > REQUEST_LIMIT) return error(413, "RequestEntityTooLarge", "A chunk is at most 4 MB.");
    upload.chunks.push(req.body);
    upload.received += req.body.length;
    if (upload.received < upload.size) {
      return { status: 200, body: { nextExpectedRanges: [`${upload.received}-`] } };
    }
    this.sessions.delete(session);
    this.drafts.get(upload.draft)?.attachments.push({ name: upload.name, content: Buffer.concat(upload.chunks) });
    return { status: 201 };
  }
}

function noRecipients(): ScriptedAnswer {
  return error(
    400,
    "ErrorInvalidRecipients",
    "At least one recipient isn't valid., A message can't be sent because it contains no recipients.",
  );
}
