import type { MailAttachment, OutgoingMail } from "../mail/MailComposer";
import { httpFault, networkFault, serviceError, withBearer } from "./HttpFault";
import { HttpsClient, type HttpAnswer, type HttpRequest, type HttpsSettings } from "./HttpsClient";
import { mailboxLimiter, type MailboxLimiter } from "./MailboxLimiter";
import { buildMime, recipientsOf } from "./Mime";
import type { AccessTokenSource, DeliveryReceipt, ProbeResult, Transport } from "./Transport";
import { TransportFault } from "./TransportFault";

export interface GraphSettings extends HttpsSettings {
  /** The service root, `https://graph.microsoft.com/v1.0` unless a national cloud or a test double. */
  graphUrl: string;
  /** A UPN or user id, or `me` with a delegated sign-in. */
  mailbox: string;
  tokens: AccessTokenSource;
}

const SERVICE = "Microsoft Graph";
/** Graph refuses a request body over 4 MB (413). */
export const GRAPH_REQUEST_LIMIT = 4 * 1024 * 1024;
/** Attachments from this size on go through an upload session; smaller ones may travel inside a request. */
export const GRAPH_UPLOAD_FROM = 3 * 1024 * 1024;
/** The largest attachment an upload session takes. */
const GRAPH_ATTACHMENT_LIMIT = 150 * 1024 * 1024;
/** Upload chunks must be multiples of 320 KiB and at most 4 MB: 12 × 320 KiB. */
export const GRAPH_CHUNK = 12 * 320 * 1024;
/** Graph allows 4 requests at once per mailbox; more are answered 429. */
export const GRAPH_MAILBOX_CONCURRENCY = 4;

/** A draft made for a mail too large for sendMail, kept so that a retry after a lost answer sends it, not a copy. */
interface Draft {
  id: string;
  /** `/send` was requested at least once: a 404 on a later try means the draft has already gone out. */
  sendTried: boolean;
}

/**
 * Microsoft Graph: `POST /users/{mailbox}/sendMail` with the MIME, base64, as `text/plain` (202, no message id).
 * A mail over 4 MB encoded, or with an attachment of 3 MB or more, becomes a draft from the MIME without its large
 * attachments, which then go up in 3.75 MB chunks through upload sessions, and the draft is sent with `/send`. At most
 * 4 requests at once per mailbox, and none while Graph's `Retry-After` runs.
 *
 * Every mail goes as MIME, drafts included, never as a JSON message: Graph keeps a MIME mail's headers, whereas a JSON
 * message's `internetMessageHeaders` only take names that start with `x-`, which would drop `Auto-Submitted`,
 * `In-Reply-To`, `References` and `Thread-Index`. Only attachments added to a draft go as JSON, and they carry none.
 */
export class GraphTransport implements Transport {
  private readonly client: HttpsClient;
  private readonly limiter: MailboxLimiter;
  private readonly base: string;
  private readonly drafts = new Map<string, Draft>();

  constructor(
    private readonly settings: GraphSettings,
    env?: Record<string, string | undefined>,
  ) {
    this.client = new HttpsClient(settings, env);
    const root = settings.graphUrl.replace(/\/+$/, "");
    this.base = settings.mailbox === "me" ? `${root}/me` : `${root}/users/${encodeURIComponent(settings.mailbox)}`;
    this.limiter = mailboxLimiter(`${root}|${settings.mailbox.toLowerCase()}`, GRAPH_MAILBOX_CONCURRENCY);
  }

  reachable(): Promise<boolean> {
    return this.client.reachable(new URL(this.settings.graphUrl));
  }

  async send(mail: OutgoingMail): Promise<DeliveryReceipt> {
    const tooBig = mail.attachments.find((a) => a.content.length > GRAPH_ATTACHMENT_LIMIT);
    if (tooBig) throw this.tooLarge(tooBig.content.length, GRAPH_ATTACHMENT_LIMIT);
    const large = mail.attachments.some((a) => a.content.length >= GRAPH_UPLOAD_FROM);
    const mime = large || this.drafts.has(mail.messageId) ? undefined : (await buildMime(mail)).toString("base64");
    if (mime !== undefined && mime.length <= GRAPH_REQUEST_LIMIT) {
      await this.expect(202, { method: "POST", url: `${this.base}/sendMail`, headers: TEXT, body: mime });
    } else {
      await this.sendDraft(mail);
    }
    return {
      messageId: mail.messageId,
      accepted: recipientsOf(mail),
      rejected: [],
      rejectedErrors: [],
      response: "202 Accepted (Microsoft Graph)",
    };
  }

  /**
   * sendMail with a message that has no recipient: Graph checks the token, its Mail.Send permission and the mailbox,
   * then refuses the message itself (400 ErrorInvalidRecipients). Nothing is sent, and unlike reading the mailbox's
   * settings it needs no permission beyond Mail.Send.
   */
  async probe(): Promise<ProbeResult> {
    const answer = await this.call({
      method: "POST",
      url: `${this.base}/sendMail`,
      headers: JSON_TYPE,
      body: JSON.stringify({
        message: { subject: "Alarm Mail connection test", body: { contentType: "Text", content: "" } },
        saveToSentItems: false,
      }),
    });
    const error = serviceError(answer);
    if (answer.status !== 400 || error.code !== "ErrorInvalidRecipients") throw this.fault(answer);
    return {
      greeting: `${SERVICE} ${this.base}`,
      response: `${answer.status} ${error.code}: ${error.message}`,
      secure: this.base.startsWith("https:"),
      authenticated: true,
    };
  }

  close(): void {
    this.client.close();
  }

  private async sendDraft(mail: OutgoingMail): Promise<void> {
    let draft = this.drafts.get(mail.messageId);
    if (!draft) {
      draft = { id: await this.createDraft(mail), sendTried: false };
      this.drafts.set(mail.messageId, draft);
    }
    const retried = draft.sendTried;
    draft.sendTried = true;
    const answer = await this.call({ method: "POST", url: `${this.base}/messages/${draft.id}/send` });
    // A draft is gone only once sent: a 404 after an earlier /send whose answer was lost is that earlier success.
    if (answer.status !== 202 && !(answer.status === 404 && retried)) throw this.fault(answer);
    this.drafts.delete(mail.messageId);
  }

  /** The draft with what fits in one request, then each other attachment on its own; any failure starts again. */
  private async createDraft(mail: OutgoingMail): Promise<string> {
    const inline: MailAttachment[] = [];
    const separate: MailAttachment[] = [];
    for (const a of mail.attachments) (a.content.length >= GRAPH_UPLOAD_FROM ? separate : inline).push(a);
    let mime = (await buildMime(mail, inline)).toString("base64");
    // Attachments under 3 MB that together overflow the request leave the draft, largest first.
    inline.sort((a, b) => a.content.length - b.content.length);
    while (mime.length > GRAPH_REQUEST_LIMIT && inline.length > 0) {
      separate.push(inline.pop() as MailAttachment);
      mime = (await buildMime(mail, inline)).toString("base64");
    }
    if (mime.length > GRAPH_REQUEST_LIMIT) throw this.tooLarge(mime.length, GRAPH_REQUEST_LIMIT);
    const created = await this.expect(201, { method: "POST", url: `${this.base}/messages`, headers: TEXT, body: mime });
    const id = (JSON.parse(created.body.toString("utf8")) as { id?: unknown }).id;
    if (typeof id !== "string" || !id) throw this.fault(created);
    const draft = `${this.base}/messages/${encodeURIComponent(id)}`;
    try {
      for (const attachment of separate) {
        if (attachment.content.length >= GRAPH_UPLOAD_FROM) await this.upload(draft, attachment);
        else {
          const body = JSON.stringify(fileAttachment(attachment));
          await this.expect(201, { method: "POST", url: `${draft}/attachments`, headers: JSON_TYPE, body });
        }
      }
    } catch (err) {
      // A half-built draft is never sent: the next attempt makes a new one, so this one is cleared if it can be.
      await this.call({ method: "DELETE", url: draft }).catch(() => undefined);
      throw err;
    }
    return encodeURIComponent(id);
  }

  /** One attachment through an upload session: its URL is pre-authorised, so the chunks carry no token. */
  private async upload(draft: string, attachment: MailAttachment): Promise<void> {
    const size = attachment.content.length;
    const session = await this.expect(201, {
      method: "POST",
      url: `${draft}/attachments/createUploadSession`,
      headers: JSON_TYPE,
      body: JSON.stringify({
        AttachmentItem: {
          attachmentType: "file",
          name: attachment.filename,
          size,
          contentType: attachment.contentType ?? "application/octet-stream",
          ...(attachment.cid ? { isInline: true, contentId: attachment.cid } : {}),
        },
      }),
    });
    const uploadUrl = (JSON.parse(session.body.toString("utf8")) as { uploadUrl?: unknown }).uploadUrl;
    if (typeof uploadUrl !== "string") throw this.fault(session);
    for (let start = 0; start < size; start += GRAPH_CHUNK) {
      const chunk = attachment.content.subarray(start, Math.min(size, start + GRAPH_CHUNK));
      const end = start + chunk.length - 1;
      const answer = await this.limited(uploadUrl, () =>
        this.client.request({
          method: "PUT",
          url: uploadUrl,
          headers: { "content-type": "application/octet-stream", "content-range": `bytes ${start}-${end}/${size}` },
          body: chunk,
        }),
      );
      // 200 while more is expected, 201 once the attachment is complete.
      if (answer.status !== 200 && answer.status !== 201) throw this.fault(answer);
    }
  }

  private async expect(status: number, req: HttpRequest): Promise<HttpAnswer> {
    const answer = await this.call(req);
    if (answer.status !== status) throw this.fault(answer);
    return answer;
  }

  /** One request as the mailbox, with its token, inside the mailbox's limit. */
  private call(req: HttpRequest): Promise<HttpAnswer> {
    return this.limited(req.url, () =>
      withBearer(this.settings.tokens, (token) =>
        this.client.request({ ...req, headers: { ...req.headers, authorization: `Bearer ${token}` } }),
      ),
    );
  }

  private async limited(url: string, request: () => Promise<HttpAnswer>): Promise<HttpAnswer> {
    const wait = this.limiter.pauseLeft(Date.now());
    // Graph asked for a pause: the attempt fails at once, without a request, and says how long is left.
    if (wait > 0) {
      throw new TransportFault(
        "http-throttled",
        "transient",
        { service: SERVICE, status: 429, error: "Retry-After", response: "", seconds: Math.ceil(wait / 1000) },
        undefined,
        wait,
      );
    }
    let answer: HttpAnswer;
    try {
      answer = await this.limiter.run(request);
    } catch (err) {
      throw networkFault(SERVICE, err, new URL(url));
    }
    if (answer.status === 429 || answer.status === 503) {
      const fault = this.fault(answer);
      if (fault.retryAfterMs) this.limiter.pause(fault.retryAfterMs, Date.now());
    }
    return answer;
  }

  /** Graph's error, with the mailbox named, and 403 and 404 said in Graph's terms. */
  private fault(answer: HttpAnswer): TransportFault {
    const fault = httpFault(SERVICE, answer, Date.now());
    const mailbox = this.settings.mailbox;
    if (answer.status === 403)
      return new TransportFault("graph-forbidden", "permanent", { ...fault.params, mailbox }, fault);
    if (answer.status === 404)
      return new TransportFault("graph-mailbox", "permanent", { ...fault.params, mailbox }, fault);
    return fault;
  }

  private tooLarge(size: number, limit: number): TransportFault {
    return new TransportFault(
      "http-too-large",
      "permanent",
      { service: SERVICE, status: 413, error: "RequestEntityTooLarge", response: `${size} > ${limit} bytes` },
      undefined,
    );
  }
}

const TEXT = { "content-type": "text/plain" };
const JSON_TYPE = { "content-type": "application/json" };

function fileAttachment(a: MailAttachment): Record<string, unknown> {
  return {
    "@odata.type": "#microsoft.graph.fileAttachment",
    name: a.filename,
    contentType: a.contentType ?? "application/octet-stream",
    contentBytes: a.content.toString("base64"),
    ...(a.cid ? { isInline: true, contentId: a.cid } : {}),
  };
}
