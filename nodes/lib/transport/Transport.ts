import type { OutgoingMail } from "../mail/MailComposer";

/** Where a transport gets its bearer token; `renew` when the service has just refused the current one. */
export interface AccessTokenSource {
  accessToken(renew: boolean): Promise<string>;
}

/** What the service said when it took a mail. */
export interface DeliveryReceipt {
  messageId: string;
  accepted: string[];
  rejected: string[];
  /** Why each refused recipient was refused, in the server's words. */
  rejectedErrors: Array<{ recipient: string; response: string }>;
  response: string;
}

/** What a connection test learnt: the service's own words, for the engineer at the dialog. */
export interface ProbeResult {
  greeting: string;
  response: string;
  secure: boolean;
  authenticated: boolean;
}

/**
 * One way out for the mails of a server node: SMTP, Microsoft Graph or the Gmail API. A failure is always thrown as
 * a `TransportFault`, whose kind tells the scheduler whether to retry, give up or stop for a new sign-in.
 */
export interface Transport {
  send(mail: OutgoingMail): Promise<DeliveryReceipt>;
  /** A harmless call that proves the address, the certificate, the token and its permission. */
  probe(): Promise<ProbeResult>;
  /** Whether the service takes a connection at all (no login, no request): how the outbox watches an outage. */
  reachable(): Promise<boolean>;
  close(): void;
}
