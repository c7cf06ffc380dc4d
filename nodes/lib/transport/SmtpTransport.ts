import nodemailer from "nodemailer";
import type Mail from "nodemailer/lib/mailer";
import type SMTPPool from "nodemailer/lib/smtp-pool";
import type SMTPTransport from "nodemailer/lib/smtp-transport";
import { formatAddress } from "../mail/AddressList";
import { AUTOMATED_MAIL_HEADERS } from "../mail/AutomatedMail";
import type { OutgoingMail } from "../mail/MailComposer";
import { smtpProxyFor, type Env } from "./proxy";
import { tcpReachable } from "./reachable";
import { classifySmtpError } from "./SmtpFault";
import { TransportFault } from "./TransportFault";
import type { AccessTokenSource, DeliveryReceipt, ProbeResult, Transport } from "./Transport";

export type { AccessTokenSource, DeliveryReceipt, ProbeResult };

export type SmtpSecurity = "none" | "starttls" | "require-starttls" | "tls";
export type SmtpAuthMethod = "none" | "auto" | "plain" | "login" | "cram-md5" | "oauth2";

/** Everything needed to reach and log in to one SMTP server. */
export interface SmtpConnectionSettings {
  host: string;
  port: number;
  security: SmtpSecurity;
  auth: SmtpAuthMethod;
  user?: string;
  password?: string;
  /** PEM text of the certificate authorities to trust in addition to the system's. */
  ca?: string;
  rejectUnauthorized: boolean;
  /** The TLS name to check when `host` is an IP address. */
  servername?: string;
  connectionTimeout: number;
  socketTimeout: number;
  /** The name we give in EHLO; nodemailer's guess (the host name, else `[127.0.0.1]`) by default. */
  ehloName?: string;
  /** For `auth: "oauth2"`: the token provider of the server node, shared by every connection. */
  tokens?: AccessTokenSource;
  /** The most connections the pool opens at once (the server's `connections`); DEFAULT_POOL_SIZE when not set. */
  maxConnections?: number;
}

/** The pool of a server whose flow predates `connections`: the 2 it always had. */
const DEFAULT_POOL_SIZE = 2;

const AUTH_METHODS: Record<Exclude<SmtpAuthMethod, "none" | "auto" | "oauth2">, string> = {
  plain: "PLAIN",
  login: "LOGIN",
  "cram-md5": "CRAM-MD5",
};

/**
 * One pooled SMTP transport. Every send node that uses the same server shares it, so an alarm storm reuses a few
 * connections instead of opening one per mail.
 */
export class SmtpTransport implements Transport {
  private readonly pool: Mail<SMTPPool.SentMessageInfo>;
  /** The last failed token request, which explains the login error nodemailer reports for it. */
  private tokenError?: unknown;

  private readonly proxy?: URL;

  constructor(
    private readonly settings: SmtpConnectionSettings,
    env: Env = process.env,
  ) {
    this.proxy = smtpProxyFor(settings.host, settings.port, env);
    this.pool = withTokens(
      nodemailer.createTransport({
        ...this.options(),
        pool: true,
        maxConnections: settings.maxConnections ?? DEFAULT_POOL_SIZE,
      }),
      settings,
      (err) => (this.tokenError = err),
    );
  }

  async send(mail: OutgoingMail): Promise<DeliveryReceipt> {
    try {
      const info = await this.pool.sendMail(toNodemailerMessage(mail));
      return {
        messageId: info.messageId,
        accepted: info.accepted.map(addressText),
        rejected: info.rejected.map(addressText),
        rejectedErrors: (info.rejectedErrors ?? []).map((e) => ({
          recipient: (e as { recipient?: string }).recipient ?? "",
          response: e.response ?? e.message,
        })),
        response: info.response,
      };
    } catch (err) {
      throw classifySmtpError(this.explain(err), this.settings);
    }
  }

  /**
   * Connects, upgrades and logs in on a connection of its own, recording what the server says (never what we say,
   * which would include the credentials), so a dialog can show the greeting and the final reply.
   */
  async probe(): Promise<ProbeResult> {
    const serverLines: string[] = [];
    let loggedIn = false;
    const capture = (entry: unknown, ...args: unknown[]) => {
      const tnx = (entry as { tnx?: string } | null)?.tnx;
      if (tnx === "server") serverLines.push(args.map(String).join(" "));
      // Only whether we sent a login is kept, never the command, which carries the credentials.
      if (tnx === "client" && /^AUTH\b/i.test(String(args[0] ?? ""))) loggedIn = true;
    };
    const silent = () => undefined;
    const logger = {
      level: silent,
      trace: silent,
      debug: capture,
      info: silent,
      warn: silent,
      error: silent,
      fatal: silent,
    };
    const single: Mail<SMTPTransport.SentMessageInfo> = withTokens(
      nodemailer.createTransport({ ...this.options(), logger, debug: true }),
      this.settings,
      (err) => (this.tokenError = err),
    );
    try {
      await single.verify();
    } catch (err) {
      throw classifySmtpError(this.explain(err), this.settings);
    } finally {
      single.close();
    }
    // nodemailer skips a configured login when the server offers none: the test must not call that a success.
    if (this.settings.auth !== "none" && !loggedIn) {
      throw new TransportFault(
        "smtp-auth-not-offered",
        "auth",
        {
          host: this.settings.host,
          port: this.settings.port,
          response: serverLines.at(-1) ?? "",
        },
        undefined,
      );
    }
    return {
      greeting: serverLines.find((line) => line.startsWith("220")) ?? "",
      response: serverLines.at(-1) ?? "",
      secure: this.settings.security !== "none",
      authenticated: this.settings.auth !== "none",
    };
  }

  reachable(): Promise<boolean> {
    const timeout = Math.min(this.settings.connectionTimeout, 5_000);
    const proxy = this.proxy;
    if (proxy) return tcpReachable(proxy.hostname, Number(proxy.port) || 80, timeout);
    return tcpReachable(this.settings.host, this.settings.port, timeout);
  }

  /** nodemailer's options: the connection, and the CONNECT proxy that HTTPS_PROXY names unless NO_PROXY exempts it. */
  private options(): SMTPTransport.Options {
    return { ...connectionOptions(this.settings), ...(this.proxy ? { proxy: this.proxy.href } : {}) };
  }

  close(): void {
    this.pool.close();
  }

  private explain(err: unknown): unknown {
    return (err as { code?: string }).code === "EAUTH" && this.tokenError ? this.tokenError : err;
  }
}

/**
 * Lets nodemailer ask our token provider for every XOAUTH2 login, instead of fetching tokens on its own. nodemailer
 * wraps a failed token request into a plain login error; `onTokenError` keeps ours, which says what to do.
 */
function withTokens<T>(transport: Mail<T>, s: SmtpConnectionSettings, onTokenError: (err?: unknown) => void): Mail<T> {
  const tokens = s.tokens;
  if (s.auth === "oauth2" && tokens) {
    transport.set(
      "oauth2_provision_cb",
      (_user: string, renew: boolean, callback: (err: Error | null, token?: string) => void) => {
        tokens.accessToken(renew).then(
          (token) => {
            onTokenError(undefined);
            callback(null, token);
          },
          (err: unknown) => {
            onTokenError(err);
            // A copy: nodemailer rewrites the code of the error it is given.
            callback(new Error(err instanceof Error ? err.message : String(err)));
          },
        );
      },
    );
  }
  return transport;
}

function connectionOptions(s: SmtpConnectionSettings): SMTPTransport.Options {
  if (s.auth === "oauth2") return { ...secureOptions(s), auth: { type: "OAuth2", user: s.user ?? "" } };
  const usesPassword = s.auth !== "none";
  return {
    ...secureOptions(s),
    ...(usesPassword ? { auth: { user: s.user ?? "", pass: s.password ?? "" } } : {}),
    ...(s.auth !== "none" && s.auth !== "auto" ? { authMethod: AUTH_METHODS[s.auth] } : {}),
  };
}

function secureOptions(s: SmtpConnectionSettings): SMTPTransport.Options {
  return {
    host: s.host,
    port: s.port,
    ...(s.ehloName ? { name: s.ehloName } : {}),
    secure: s.security === "tls",
    requireTLS: s.security === "require-starttls",
    ignoreTLS: s.security === "none",
    connectionTimeout: s.connectionTimeout,
    greetingTimeout: s.connectionTimeout,
    socketTimeout: s.socketTimeout,
    tls: {
      rejectUnauthorized: s.rejectUnauthorized,
      minVersion: "TLSv1.2",
      ...(s.servername ? { servername: s.servername } : {}),
      ...(s.ca ? { ca: s.ca } : {}),
    },
  };
}

/**
 * The nodemailer form of an OutgoingMail; the Message-ID is ours, so a resend can be recognised as the same mail. The
 * Graph and Gmail transports build their MIME from it too, so every header here travels whichever way a mail goes.
 */
export function toNodemailerMessage(mail: OutgoingMail): Mail.Options {
  return {
    messageId: mail.messageId,
    date: mail.date,
    from: formatAddress(mail.from),
    ...(mail.replyTo.length ? { replyTo: mail.replyTo.map(formatAddress) } : {}),
    to: mail.to.map(formatAddress),
    cc: mail.cc.map(formatAddress),
    bcc: mail.bcc.map(formatAddress),
    subject: mail.subject,
    text: mail.text,
    ...(mail.html ? { html: mail.html } : {}),
    attachments: mail.attachments.map((a) => ({ ...a })),
    priority: mail.priority,
    ...threadingOptions(mail),
    headers: { ...AUTOMATED_MAIL_HEADERS, ...threadHeaders(mail) },
    disableFileAccess: true,
    disableUrlAccess: true,
  };
}

/**
 * A later mail of an alarm thread answers the root (In-Reply-To) and lists the thread (References); every mail of it
 * carries Outlook's Thread-Topic and Thread-Index (`threadHeaders`). docs/threads.md says what each mail client reads.
 */
function threadingOptions(mail: OutgoingMail): Mail.Options {
  const thread = mail.thread;
  if (!thread || thread.root === mail.messageId) return {};
  return { inReplyTo: thread.root, references: thread.references };
}

function threadHeaders(mail: OutgoingMail): Record<string, string> {
  return mail.thread ? { "Thread-Topic": mail.thread.topic, "Thread-Index": mail.thread.index } : {};
}

function addressText(entry: string | Mail.Address): string {
  return typeof entry === "string" ? entry : (entry.address ?? "");
}
