import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { simpleParser, type ParsedMail } from "mailparser";
import { SMTPServer, type SMTPServerAuthentication, type SMTPServerOptions } from "smtp-server";

/** A mail as the sink received it: the SMTP envelope, and the raw message to parse when needed. */
export interface ReceivedMail {
  from: string;
  to: string[];
  raw: Buffer;
  messageId: string;
  receivedAt: Date;
  /** Whether the session ran over TLS (implicit or after STARTTLS). */
  secure: boolean;
  /** The login the session used, as "METHOD user", or "" when it did not log in. */
  login: string;
  parse(): Promise<ParsedMail>;
}

export interface SmtpSinkOptions {
  /** Implicit TLS (SMTPS) instead of a plain connection. */
  secure?: boolean;
  /** Offer STARTTLS on a plain connection (default true). */
  starttls?: boolean;
  /** PLAIN, LOGIN, CRAM-MD5, XOAUTH2; none means the server asks for no login. */
  authMethods?: string[];
  /** user -> password accepted by the server. */
  users?: Record<string, string>;
  /** Checks an XOAUTH2 bearer token (its signature, its expiry); a refused one gets the XOAUTH2 error answer. */
  verifyToken?: (user: string, token: string) => boolean;
  /** After this many failed logins, answer every login as a provider that has locked the account does. */
  lockAfterFailures?: number;
  /** Decides each RCPT TO: return an SMTP reply to refuse it, nothing to accept it. */
  onRecipient?: (address: string) => { code: number; message: string } | undefined;
  /** Decides each DATA: return an SMTP reply to refuse the mail, nothing to accept it. */
  onMessage?: (mail: ReceivedMail) => { code: number; message: string } | undefined;
  /** How long to wait before answering each DATA (or this mail's DATA), like a slow server. */
  delayMs?: number | ((mail: ReceivedMail) => number);
}

const TLS_DIR = join(__dirname, "..", "test", "fixtures", "tls");

/**
 * A real SMTP server on loopback (smtp-server) that keeps what it receives: the peer of every test and benchmark,
 * which each can make answer as a given provider does (`npm start` captures with MailDev instead, for its web page).
 */
export class SmtpSink {
  readonly received: ReceivedMail[] = [];
  authAttempts = 0;
  authFailures = 0;
  port = 0;
  /** Connections open now, and the most that were open at once: what a client's pool size is seen by. */
  connections = 0;
  peakConnections = 0;
  private readonly server: SMTPServer;
  private waiters: Array<() => void> = [];

  constructor(private readonly options: SmtpSinkOptions = {}) {
    const authMethods = options.authMethods ?? [];
    const config: SMTPServerOptions = {
      secure: options.secure ?? false,
      key: readFileSync(join(TLS_DIR, "server.key")),
      cert: readFileSync(join(TLS_DIR, "server.pem")),
      disabledCommands: [
        ...(options.starttls === false ? ["STARTTLS"] : []),
        ...(authMethods.length === 0 ? ["AUTH"] : []),
      ],
      authMethods,
      authOptional: authMethods.length === 0,
      allowInsecureAuth: true,
      disableReverseLookup: true,
      logger: false,
      size: 50 * 1024 * 1024,
      // Tests stop sinks that still hold slow connections; do not wait out their delays.
      closeTimeout: 200,
      onConnect: (_session, callback) => {
        this.connections += 1;
        this.peakConnections = Math.max(this.peakConnections, this.connections);
        callback();
      },
      onClose: () => {
        this.connections -= 1;
      },
      onAuth: (auth, _session, callback) => {
        this.authAttempts += 1;
        if (options.lockAfterFailures !== undefined && this.authFailures >= options.lockAfterFailures) {
          callback(Object.assign(new Error("4.7.0 Too many login attempts, try again later"), { responseCode: 454 }));
        } else if (this.checkLogin(auth)) {
          callback(null, { user: `${auth.method} ${auth.username}` });
        } else if (auth.method === "XOAUTH2") {
          this.authFailures += 1;
          // XOAUTH2 refusals carry a JSON status (RFC 7628); the client then renews its token once.
          callback(null, { data: { status: "401", schemes: "bearer", scope: "https://outlook.office.com/SMTP.Send" } });
        } else {
          this.authFailures += 1;
          callback(Object.assign(new Error("5.7.8 Authentication credentials invalid"), { responseCode: 535 }));
        }
      },
      onRcptTo: (address, _session, callback) => {
        const refusal = options.onRecipient?.(address.address);
        if (refusal) callback(Object.assign(new Error(refusal.message), { responseCode: refusal.code }));
        else callback();
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on("data", (chunk: Buffer) => chunks.push(chunk));
        stream.on("end", () => {
          const raw = Buffer.concat(chunks);
          const mail: ReceivedMail = {
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
            to: session.envelope.rcptTo.map((r) => r.address),
            raw,
            messageId: /^Message-ID:\s*(<[^>]+>)/im.exec(raw.toString("latin1"))?.[1] ?? "",
            receivedAt: new Date(),
            secure: session.secure,
            login: typeof session.user === "string" ? session.user : "",
            parse: () => simpleParser(raw),
          };
          const answer = () => {
            const refusal = options.onMessage?.(mail);
            if (refusal) {
              callback(Object.assign(new Error(refusal.message), { responseCode: refusal.code }));
              return;
            }
            this.keep(mail);
            callback(null, `2.0.0 queued as ${this.received.length}`);
          };
          const delay = typeof options.delayMs === "function" ? options.delayMs(mail) : options.delayMs;
          if (delay) setTimeout(answer, delay).unref();
          else answer();
        });
      },
    };
    this.server = new SMTPServer(config);
    this.server.on("error", () => undefined);
  }

  async listen(port = 0, host = "127.0.0.1"): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.server.once("error", reject);
      this.server.listen(port, host, () => resolve());
    });
    this.port = (this.server.server.address() as AddressInfo).port;
    return this.port;
  }

  /** Resolves once `count` mails have arrived in all; rejects after `timeoutMs`. */
  async waitFor(count: number, timeoutMs = 10_000): Promise<ReceivedMail[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`SMTP sink: ${this.received.length} of ${count} mails after ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.received.slice(0, count);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private checkLogin(auth: SMTPServerAuthentication): boolean {
    if (auth.method === "XOAUTH2")
      return this.options.verifyToken?.(auth.username ?? "", auth.accessToken ?? "") ?? false;
    const expected = auth.username === undefined ? undefined : this.options.users?.[auth.username];
    if (expected === undefined) return false;
    if (auth.method === "CRAM-MD5") return auth.validatePassword(expected);
    return auth.password === expected;
  }

  private keep(mail: ReceivedMail): void {
    this.received.push(mail);
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
