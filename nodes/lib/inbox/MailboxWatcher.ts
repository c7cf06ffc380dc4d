import type { Readable } from "node:stream";
import { ImapFlow, type FetchMessageObject, type MessageStructureObject } from "imapflow";
import { MailError } from "../mail/MailError";
import { InboxError } from "./InboxError";
import type { AfterRead, InboxSecurity } from "./InboxSettings";
import { headerValue, messageIds, type Reply } from "./ReplyDecision";
import { htmlToText } from "./ReplyText";
import type { UidMark } from "./UidMark";

/** How to reach and log in to the IMAP server. */
export interface ImapConnection {
  host: string;
  port: number;
  security: InboxSecurity;
  rejectUnauthorized: boolean;
  servername?: string;
  ca?: string;
  user: string;
  password?: string;
  /** XOAUTH2: the access token; `renew` after the server refused the last one. */
  accessToken?: (renew: boolean) => Promise<string>;
  /** Connection and greeting timeout; a server that does not answer is a reconnect, not a hang. */
  timeoutMs?: number;
}

/** One new mail of the mailbox, read for the inbox to judge. */
export interface InboxMail {
  uid: number;
  messageId?: string;
  reply: Reply;
}

/**
 * Why a connection ended: the inbox's own error, or the OAuth2 error of the server whose sign-in gives the token
 * (said in the server's words, as the send path says it).
 */
export type WatcherError = InboxError | MailError;

export type WatcherState =
  | { state: "connecting" }
  | { state: "watching"; idle: boolean }
  | { state: "waiting"; error: WatcherError; retryInMs: number }
  | { state: "closed" };

export interface WatcherOptions {
  connection: ImapConnection;
  mailbox: string;
  afterRead: AfterRead;
  mark: UidMark;
  /**
   * Judges and acts on one mail; answers whether it was an alarm reply, which `afterRead` then marks seen or deletes
   * (other mail in the mailbox is left as it is). The UID is recorded as read once it returns.
   */
  take(mail: InboxMail): Promise<boolean>;
  onState(state: WatcherState): void;
  /** A mail that could not be read or marked; reading goes on with the next. */
  onError(err: unknown): void;
  /** Polling interval where the server has no IDLE. */
  pollMs?: number;
  /** The first wait after a failed connection, doubled each time up to `maxMs`. */
  backoff?: { firstMs: number; maxMs: number };
  /** IDLE is restarted this often: servers drop an IDLE after 30 minutes (RFC 2177), NAT boxes sooner. */
  idleRestartMs?: number;
}

/** The text of a reply is read up to this size: an acknowledgement is a line, a quoted alarm mail a few kB. */
const MAX_TEXT_BYTES = 256 * 1024;
const DEFAULT_POLL_MS = 30_000;
const DEFAULT_BACKOFF = { firstMs: 1_000, maxMs: 60_000 };
/**
 * A refused login waits at least this long: retrying a wrong password every minute may lock the account. A sign-in
 * that must be renewed waits as long (each try would ask the provider again), unless `retry` says it was renewed.
 */
const AUTH_RETRY_MS = 5 * 60_000;
/** The OAuth2 errors that only a person can end, in the server's dialog. */
const SIGN_IN_CODES: ReadonlySet<string> = new Set([
  "oauth-invalid-grant",
  "oauth-not-signed-in",
  "oauth-invalid-client",
]);
const DEFAULT_IDLE_RESTART_MS = 5 * 60_000;
/** A close lets the session finish its mail and log out for this long, within Node-RED's close budget. */
const CLOSE_WAIT_MS = 8_000;
const LOGOUT_WAIT_MS = 3_000;
/** An IDLE that ends sooner than this by itself did not work: the watcher polls instead. */
const IDLE_MIN_MS = 1_000;

/**
 * Watches one mailbox over IMAP and hands each new mail to `take`, once: IDLE where the server has it, polling where
 * not, a new connection with growing waits after any failure. The last UID taken is on disk (`UidMark`) after each
 * mail, so that a restart or reconnect resumes after it; on the first start (or a rebuilt mailbox) the unseen mails
 * are taken.
 */
export class MailboxWatcher {
  private closing = false;
  private client?: ImapFlow;
  private running?: Promise<void>;
  private kicked = false;
  private wakeUp?: () => void;
  private renewToken = false;
  /** Whether the last session logged in with a token renewed for it. */
  private renewed = false;
  private readonly pollMs: number;
  private readonly backoff: { firstMs: number; maxMs: number };
  private readonly idleRestartMs: number;

  constructor(private readonly options: WatcherOptions) {
    this.pollMs = options.pollMs ?? DEFAULT_POLL_MS;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.idleRestartMs = options.idleRestartMs ?? DEFAULT_IDLE_RESTART_MS;
  }

  /** Who and what is read: UIDs are only meaningful for this account and folder. */
  get account(): string {
    const c = this.options.connection;
    return `${c.user}@${c.host}:${c.port}/${this.options.mailbox}`;
  }

  start(): void {
    this.running ??= this.run();
  }

  /** Connects at once if waiting: what it waited for (a sign-in, the server) is said to be back. */
  retry(): void {
    this.wake();
  }

  /**
   * Stops watching: the session finishes the mail being taken (its ack and its UID on disk), logs out and ends its
   * timers; a server that does not let it finish within `CLOSE_WAIT_MS` is cut off.
   */
  async close(): Promise<void> {
    this.closing = true;
    this.wake();
    const running = this.running ?? Promise.resolve();
    if (!(await within(running, CLOSE_WAIT_MS))) {
      this.client?.close();
      await running;
    }
    await this.options.mark.settled();
    this.options.onState({ state: "closed" });
  }

  private async run(): Promise<void> {
    let wait = this.backoff.firstMs;
    while (!this.closing) {
      this.options.onState({ state: "connecting" });
      let failure: WatcherError;
      try {
        const opened = await this.session();
        if (this.closing) break;
        if (opened) wait = this.backoff.firstMs;
        failure = new InboxError("imap-failed", { reason: "connection closed" });
      } catch (err) {
        if (this.closing) break;
        failure = toInboxError(err);
      }
      if (failure.code === "imap-auth" && this.options.connection.accessToken && !this.renewed) {
        // A token ends before the time it was given for (a provider's policy, a password change): the first refusal
        // is met at once with a renewed one, and only a refusal of that one is a refused login.
        this.renewToken = true;
        continue;
      }
      const refused = failure.code === "imap-auth" || SIGN_IN_CODES.has(failure.code);
      const retryInMs = refused ? Math.max(wait, AUTH_RETRY_MS) : wait;
      if (failure.code === "imap-auth" && this.options.connection.accessToken) this.renewToken = true;
      this.options.onState({ state: "waiting", error: failure, retryInMs });
      // The wake of the connection that just ended must not cut this wait short.
      this.kicked = false;
      await this.pause(retryInMs);
      wait = Math.min(wait * 2, this.backoff.maxMs);
    }
  }

  /** One connection, until it ends; true when it got as far as opening the mailbox. */
  private async session(): Promise<boolean> {
    const c = this.options.connection;
    const renew = this.renewToken;
    this.renewToken = false;
    this.renewed = renew;
    const client = await imapClient(c, renew);
    this.client = client;
    let lastError: unknown;
    // Without a listener an 'error' event would throw out of the emitter and stop Node-RED.
    client.on("error", (err: Error) => {
      lastError = err;
      this.wake();
    });
    const closed = new Promise<void>((resolve) => client.once("close", resolve));
    void closed.then(() => this.wake());
    client.on("exists", () => this.wake());
    let opened = false;
    try {
      if (this.closing) return false;
      await client.connect();
      const box = await client.mailboxOpen(this.options.mailbox).catch((err: unknown) => {
        throw new InboxError("imap-mailbox", { mailbox: this.options.mailbox, reason: reasonOf(err) }, { cause: err });
      });
      opened = true;
      const validity = String(box.uidValidity);
      let last = this.options.mark.resume(this.account, validity);
      if (last === undefined) last = await this.takeUnseen(client, validity, box.uidNext - 1);
      let idle = client.capabilities.has("IDLE");
      this.options.onState({ state: "watching", idle });
      while (!this.closing && client.usable) {
        last = await this.takeNew(client, validity, last);
        if (this.closing || !client.usable) break;
        if (idle) {
          // IDLE runs until the next command breaks it; one that ends by itself at once does not work here.
          const since = Date.now();
          let leaving = false;
          let broken = false;
          const ended = () => {
            if (leaving) return;
            broken = Date.now() - since < IDLE_MIN_MS;
            this.wake();
          };
          void client.idle().then(ended, ended);
          await this.pause(this.idleRestartMs);
          leaving = true;
          if (broken && client.usable && !this.closing) {
            idle = false;
            this.options.onState({ state: "watching", idle });
          }
        } else {
          await this.pause(this.pollMs);
        }
      }
      if (!this.closing && lastError !== undefined) throw lastError;
      return opened;
    } finally {
      // A polite LOGOUT, but a server that does not answer must not hold a redeploy.
      if (client.usable) {
        await within(
          client.logout().catch(() => undefined),
          LOGOUT_WAIT_MS,
        );
      }
      client.close();
      if (this.client === client) this.client = undefined;
    }
  }

  /** The first read of a mailbox: its unseen mails, then everything after what it held. */
  private async takeUnseen(client: ImapFlow, validity: string, before: number): Promise<number> {
    const unseen = await client.search({ seen: false }, { uid: true });
    const uids = (Array.isArray(unseen) ? unseen : []).filter((uid) => uid <= before).sort((a, b) => a - b);
    if (uids.length > 0) await this.takeAll(client, validity, uids.join(","), 0);
    await this.options.mark.save({ account: this.account, uidValidity: validity, lastUid: before });
    return before;
  }

  private takeNew(client: ImapFlow, validity: string, last: number): Promise<number> {
    return this.takeAll(client, validity, `${last + 1}:*`, last);
  }

  /** Reads the mails of `range` after UID `last`, oldest first, each taken and recorded before the next. */
  private async takeAll(client: ImapFlow, validity: string, range: string, last: number): Promise<number> {
    this.kicked = false;
    // "n:*" names the newest mail even when its UID is below n: filtered out below.
    const found = await client.fetchAll(
      range,
      { uid: true, envelope: true, bodyStructure: true, headers: ["references", "in-reply-to", "auto-submitted"] },
      { uid: true },
    );
    let newest = last;
    for (const message of found.filter((m) => m.uid > last).sort((a, b) => a.uid - b.uid)) {
      if (this.closing || !client.usable) break;
      await this.takeOne(client, message, validity, Math.max(newest, message.uid));
      newest = Math.max(newest, message.uid);
    }
    return Math.max(newest, last);
  }

  /**
   * One mail: judged and acted on, then recorded as read (so that a restart does not take it again, whatever comes
   * next), then marked or deleted. A mail that cannot be read is recorded too: it must not stop the mailbox.
   */
  private async takeOne(client: ImapFlow, message: FetchMessageObject, validity: string, lastUid: number) {
    let taken = false;
    try {
      taken = await this.options.take(await this.read(client, message));
    } catch (err) {
      // A dropped connection shows here first: the mail is read again on the next one.
      if (!client.usable) throw err;
      this.options.onError(err);
    }
    await this.options.mark.save({ account: this.account, uidValidity: validity, lastUid });
    if (!taken) return;
    try {
      await this.afterRead(client, message.uid);
    } catch (err) {
      if (!client.usable) throw err;
      this.options.onError(err);
    }
  }

  private async afterRead(client: ImapFlow, uid: number): Promise<void> {
    if (this.options.afterRead === "delete") await client.messageDelete(String(uid), { uid: true });
    else await client.messageFlagsAdd(String(uid), ["\\Seen"], { uid: true });
  }

  private async read(client: ImapFlow, message: FetchMessageObject): Promise<InboxMail> {
    const envelope = message.envelope ?? {};
    const headers = message.headers?.toString("utf8") ?? "";
    const automatic = (headerValue(headers, "auto-submitted") ?? "no").toLowerCase();
    const from = envelope.from?.[0]?.address?.trim().toLowerCase();
    const messageId = messageIds(envelope.messageId)[0];
    const reply: Reply = {
      ...(from ? { from } : {}),
      ...(messageId ? { messageId } : {}),
      subject: envelope.subject ?? "",
      inReplyTo: messageIds(envelope.inReplyTo ?? headerValue(headers, "in-reply-to")),
      references: messageIds(headerValue(headers, "references")),
      text: await this.text(client, message),
      automatic: !automatic.startsWith("no"),
    };
    return { uid: message.uid, ...(messageId ? { messageId } : {}), reply };
  }

  /** The reply's text: its text/plain part, else its HTML part as text; decoded by imapflow. */
  private async text(client: ImapFlow, message: FetchMessageObject): Promise<string> {
    const part = message.bodyStructure && textPart(message.bodyStructure);
    if (!part) return "";
    const download = await client.download(String(message.uid), part.part ?? "1", {
      uid: true,
      maxBytes: MAX_TEXT_BYTES,
    });
    if (!download.content) return "";
    const body = await readText(download.content);
    return part.type === "text/html" ? htmlToText(body) : body;
  }

  private wake(): void {
    this.kicked = true;
    const wakeUp = this.wakeUp;
    this.wakeUp = undefined;
    wakeUp?.();
  }

  /** Resolves at the next wake (new mail, a dropped connection, close); at once when one came since the last read. */
  private nextWake(): Promise<void> {
    if (this.kicked || this.closing) return Promise.resolve();
    return new Promise((resolve) => (this.wakeUp = resolve));
  }

  /** Waits `ms`, or until the next wake; its timer is cleared either way, so a closed watcher leaves none. */
  private async pause(ms: number): Promise<void> {
    await within(this.nextWake(), ms);
  }
}

/** A client for the connection, not connected yet; it logs nothing (errors are reported by the watcher). */
async function imapClient(c: ImapConnection, renew = false): Promise<ImapFlow> {
  const auth = c.accessToken
    ? { user: c.user, accessToken: await c.accessToken(renew) }
    : { user: c.user, pass: c.password ?? "" };
  return new ImapFlow({
    host: c.host,
    port: c.port,
    secure: c.security === "tls",
    // STARTTLS when asked is required, never skipped: a stripped capability must not send the password in clear.
    doSTARTTLS: c.security === "starttls" ? true : c.security === "none" ? false : undefined,
    servername: c.servername,
    tls: { rejectUnauthorized: c.rejectUnauthorized, ...(c.ca ? { ca: c.ca } : {}) },
    auth,
    logger: false,
    disableAutoIdle: true,
    connectionTimeout: c.timeoutMs ?? 30_000,
    greetingTimeout: c.timeoutMs ?? 30_000,
  });
}

/** What Test connection found: the mailbox's size and whether the server offers IDLE. */
export interface MailboxProbe {
  mailbox: string;
  exists: number;
  idle: boolean;
}

/**
 * Logs in, opens the mailbox read-only and logs out: the dialog's Test connection. A token refused at login is
 * renewed once, as the watcher does: only a refusal of the renewed one is a refused login.
 */
export async function probeMailbox(connection: ImapConnection, mailbox: string): Promise<MailboxProbe> {
  try {
    return await probeOnce(connection, mailbox, false);
  } catch (err) {
    if (!(err instanceof InboxError && err.code === "imap-auth" && connection.accessToken)) throw err;
    return probeOnce(connection, mailbox, true);
  }
}

async function probeOnce(connection: ImapConnection, mailbox: string, renew: boolean): Promise<MailboxProbe> {
  const client = await imapClient(connection, renew);
  let lastError: unknown;
  client.on("error", (err: Error) => (lastError = err));
  try {
    await client.connect();
    const box = await client.mailboxOpen(mailbox, { readOnly: true }).catch((err: unknown) => {
      throw new InboxError("imap-mailbox", { mailbox, reason: reasonOf(err) }, { cause: err });
    });
    const found = { mailbox: box.path, exists: box.exists, idle: client.capabilities.has("IDLE") };
    await client.logout();
    return found;
  } catch (err) {
    throw toInboxError(err instanceof InboxError ? err : (lastError ?? err));
  } finally {
    client.close();
  }
}

/** The part that holds what the person wrote: the first inline text/plain, else the first text/html. */
export function textPart(root: MessageStructureObject): MessageStructureObject | undefined {
  const parts: MessageStructureObject[] = [];
  const walk = (node: MessageStructureObject): void => {
    if (node.childNodes && node.childNodes.length > 0) node.childNodes.forEach(walk);
    else if (node.disposition !== "attachment") parts.push(node);
  };
  walk(root);
  return parts.find((p) => p.type === "text/plain") ?? parts.find((p) => p.type === "text/html");
}

async function readText(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString("utf8");
}

/** Whether `work` settled within `ms`; the timer is cleared as soon as it did. */
async function within(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    work.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]);
  clearTimeout(timer);
  return settled;
}

/**
 * Any failure of a connection as an error the node can say: a refused login, a missing folder, the token's own
 * error (a sign-in to renew), or the reason.
 */
export function toInboxError(err: unknown): WatcherError {
  if (err instanceof InboxError || err instanceof MailError) return err;
  if ((err as { authenticationFailed?: boolean }).authenticationFailed)
    return new InboxError("imap-auth", { reason: reasonOf(err) }, { cause: err });
  return new InboxError("imap-failed", { reason: reasonOf(err) }, { cause: err });
}

/** Why, without a closing full stop: each message that names it ends its own sentence. */
function reasonOf(err: unknown): string {
  const failure = err as { responseText?: string; code?: string; message?: string };
  if (typeof failure.responseText === "string" && failure.responseText) return withoutFullStop(failure.responseText);
  const message = err instanceof Error ? err.message : String(err);
  return withoutFullStop(failure.code && !message.includes(failure.code) ? `${failure.code}: ${message}` : message);
}

function withoutFullStop(text: string): string {
  return text.trim().replace(/\.+$/, "");
}
