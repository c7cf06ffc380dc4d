import type { OutgoingMail } from "../mail/MailComposer";
import { httpFault, networkFault, serviceError, withBearer } from "./HttpFault";
import { HttpsClient, type HttpAnswer, type HttpsSettings } from "./HttpsClient";
import { mailboxLimiter, type MailboxLimiter } from "./MailboxLimiter";
import { buildMime, recipientsOf } from "./Mime";
import type { AccessTokenSource, DeliveryReceipt, ProbeResult, Transport } from "./Transport";
import { TransportFault } from "./TransportFault";

export interface GmailSettings extends HttpsSettings {
  /** The service root, `https://gmail.googleapis.com` unless a test double. */
  gmailUrl: string;
  tokens: AccessTokenSource;
}

const SERVICE = "Gmail API";
/** The largest message `messages.send` takes as a media upload. */
export const GMAIL_MESSAGE_LIMIT = 35 * 1024 * 1024;
/** Google does not publish a per-user limit of parallel requests; this keeps a burst well inside its rate quota. */
export const GMAIL_CONCURRENCY = 4;
/** Google says "rate limit" with a 403 and one of these reasons as often as with a 429. */
const RATE_REASONS = new Set(["rateLimitExceeded", "userRateLimitExceeded", "dailyLimitExceeded", "quotaExceeded"]);
/** A 403 for a token without the gmail.send scope. */
const SCOPE_REASONS = new Set(["insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT", "PERMISSION_DENIED"]);

/**
 * The Gmail API: `POST /upload/gmail/v1/users/me/messages/send?uploadType=media` with the MIME as
 * `message/rfc822`, which answers the id Gmail gave the message. Gmail sends as the signed-in account (or the
 * account a service account impersonates); a From it does not own is rewritten or refused by Gmail.
 */
export class GmailTransport implements Transport {
  private readonly client: HttpsClient;
  private readonly limiter: MailboxLimiter;
  private readonly url: string;

  constructor(
    private readonly settings: GmailSettings,
    env?: Record<string, string | undefined>,
  ) {
    this.client = new HttpsClient(settings, env);
    const root = settings.gmailUrl.replace(/\/+$/, "");
    this.url = `${root}/upload/gmail/v1/users/me/messages/send?uploadType=media`;
    this.limiter = mailboxLimiter(`${root}|me`, GMAIL_CONCURRENCY);
  }

  reachable(): Promise<boolean> {
    return this.client.reachable(new URL(this.settings.gmailUrl));
  }

  async send(mail: OutgoingMail): Promise<DeliveryReceipt> {
    const mime = await buildMime(mail);
    if (mime.length > GMAIL_MESSAGE_LIMIT) {
      const params = {
        service: SERVICE,
        status: 413,
        error: "too large",
        response: `${mime.length} > ${GMAIL_MESSAGE_LIMIT} bytes`,
      };
      throw new TransportFault("http-too-large", "permanent", params, undefined);
    }
    const answer = await this.post(mime);
    if (answer.status !== 200) throw this.fault(answer);
    const sent = JSON.parse(answer.body.toString("utf8")) as { id?: unknown; threadId?: unknown };
    return {
      messageId: mail.messageId,
      accepted: recipientsOf(mail),
      rejected: [],
      rejectedErrors: [],
      response: `200 OK (Gmail API id ${String(sent.id ?? "")})`,
    };
  }

  /**
   * A message without a recipient: Gmail checks the token and its gmail.send scope, then refuses the message
   * (400 "Recipient address required"). Nothing is sent, and no scope beyond gmail.send is needed.
   */
  async probe(): Promise<ProbeResult> {
    const probe = "From: <me>\r\nSubject: Alarm Mail connection test\r\nMIME-Version: 1.0\r\n\r\n";
    const answer = await this.post(Buffer.from(probe));
    const error = serviceError(answer);
    if (answer.status !== 400 || !/recipient/i.test(error.message)) throw this.fault(answer);
    return {
      greeting: `${SERVICE} ${this.settings.gmailUrl}`,
      response: `${answer.status} ${error.message}`,
      secure: this.url.startsWith("https:"),
      authenticated: true,
    };
  }

  close(): void {
    this.client.close();
  }

  private async post(body: Buffer): Promise<HttpAnswer> {
    const wait = this.limiter.pauseLeft(Date.now());
    if (wait > 0) {
      const params = {
        service: SERVICE,
        status: 429,
        error: "Retry-After",
        response: "",
        seconds: Math.ceil(wait / 1000),
      };
      throw new TransportFault("http-throttled", "transient", params, undefined, wait);
    }
    let answer: HttpAnswer;
    try {
      answer = await this.limiter.run(() =>
        withBearer(this.settings.tokens, (token) =>
          this.client.request({
            method: "POST",
            url: this.url,
            headers: { "content-type": "message/rfc822", authorization: `Bearer ${token}` },
            body,
          }),
        ),
      );
    } catch (err) {
      throw networkFault(SERVICE, err, new URL(this.url));
    }
    const fault = answer.status >= 400 ? this.fault(answer) : undefined;
    if (fault?.retryAfterMs) this.limiter.pause(fault.retryAfterMs, Date.now());
    return answer;
  }

  /** Google's error: a 403 is a missing scope or a rate limit, said as such. */
  private fault(answer: HttpAnswer): TransportFault {
    const fault = httpFault(SERVICE, answer, Date.now());
    if (answer.status !== 403) return fault;
    const error = serviceError(answer);
    if (RATE_REASONS.has(error.code)) {
      return new TransportFault("http-throttled", "transient", { ...fault.params, seconds: 0 }, fault);
    }
    if (SCOPE_REASONS.has(error.code) || /scope/i.test(error.message)) {
      return new TransportFault("gmail-scope", "permanent", fault.params, fault);
    }
    return fault;
  }
}
