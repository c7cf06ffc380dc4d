import { parseAddressList, type MailAddress } from "../mail/AddressList";
import { DEFAULT_LIMITS, type MailLimits, type SenderPolicy } from "../mail/MailComposer";
import { DEFAULT_POLICY, type DeliveryPolicy } from "../outbox/DeliveryScheduler";
import type { OAuthFlow, OAuthSettings } from "../oauth/OAuthClient";
import { MailError } from "../mail/MailError";
import type { SmtpAuthMethod, SmtpConnectionSettings, SmtpSecurity } from "../transport/SmtpTransport";
import { readDuration } from "../common/Duration";
import { GMAIL_CONCURRENCY } from "../transport/GmailTransport";
import { GRAPH_MAILBOX_CONCURRENCY } from "../transport/GraphTransport";

/** The `alarm-mail-server` properties as the editor stores them (numbers may arrive as text). */
export interface ServerConfig {
  transport?: unknown;
  mailbox?: unknown;
  graphUrl?: unknown;
  gmailUrl?: unknown;
  host?: unknown;
  port?: unknown;
  security?: unknown;
  auth?: unknown;
  from?: unknown;
  fromName?: unknown;
  rejectUnauthorized?: unknown;
  servername?: unknown;
  ehloName?: unknown;
  connectionTimeout?: unknown;
  socketTimeout?: unknown;
  allowMsgFrom?: unknown;
  attachmentFolder?: unknown;
  maxAddresses?: unknown;
  maxSubjectLength?: unknown;
  maxBodyLength?: unknown;
  maxAttachments?: unknown;
  maxAttachmentKB?: unknown;
  rateMinute?: unknown;
  rateHour?: unknown;
  rateDay?: unknown;
  retryDelay?: unknown;
  retryMaxDelay?: unknown;
  maxAgeHours?: unknown;
  authAttempts?: unknown;
  connections?: unknown;
  backup?: unknown;
  failoverAfter?: unknown;
  failbackAfter?: unknown;
  oauthFlow?: unknown;
  authorizeUrl?: unknown;
  tokenUrl?: unknown;
  deviceUrl?: unknown;
  scope?: unknown;
  ackBaseUrl?: unknown;
  ackLinkTtl?: unknown;
}

export interface ServerCredentials {
  user?: string;
  password?: string;
  ca?: string;
  clientId?: string;
  clientSecret?: string;
  refreshToken?: string;
}

export type TransportKind = "smtp" | "graph" | "gmail";

export interface ServerSettings {
  transport: TransportKind;
  /** For SMTP the server; for Graph and Gmail the service's host and port, and the TLS and timeout settings. */
  connection: SmtpConnectionSettings;
  /** For `transport: "graph"`: the service root and the mailbox that sends. */
  graph?: { url: string; mailbox: string };
  /** For `transport: "gmail"`: the service root. */
  gmail?: { url: string };
  sender: SenderPolicy;
  delivery: DeliveryPolicy;
  /** The id of another alarm-mail-server to use while this one keeps failing. */
  backup?: string;
  /** For `auth: "oauth2"`: how to obtain tokens, and a refresh token pasted into the credentials, if any. */
  oauth?: OAuthSettings & { refreshToken?: string };
  /** Acknowledge links in alarm mails: where recipients reach this gateway, and how long a link works. */
  ack?: AckLinkSettings;
}

export interface AckLinkSettings {
  /** `ackBaseUrl` without a trailing slash: `https://gw-12.plant.example:1880`, or with a path a proxy adds. */
  baseUrl: string;
  ttlMs: number;
}

export const DEFAULT_ACK_LINK_TTL_MS = 86_400_000;

const TRANSPORTS: readonly TransportKind[] = ["smtp", "graph", "gmail"];
export const DEFAULT_GRAPH_URL = "https://graph.microsoft.com/v1.0";
export const DEFAULT_GMAIL_URL = "https://gmail.googleapis.com";
const SECURITIES: readonly SmtpSecurity[] = ["none", "starttls", "require-starttls", "tls"];
const AUTH_METHODS: readonly SmtpAuthMethod[] = ["none", "auto", "plain", "login", "cram-md5", "oauth2"];
const OAUTH_FLOWS: readonly OAuthFlow[] = ["authorization_code", "device_code", "client_credentials"];
const DEFAULT_PORT: Record<SmtpSecurity, number> = { none: 25, starttls: 587, "require-starttls": 587, tls: 465 };
/**
 * The most connections a server may be given. A plant relay takes more, but beyond about ten a small gateway only
 * spends TLS handshakes and memory, since the outbox records each outcome one after the other, and a relay may take
 * a burst of sessions from one client for abuse. It also bounds the mails a crash can duplicate: those in flight.
 */
export const MAX_CONNECTIONS = 10;

/** Validates a server configuration once, at deploy, so that every later error is about the mail, not the set-up. */
export function parseServerSettings(config: ServerConfig, credentials: ServerCredentials = {}): ServerSettings {
  const transport = oneOf(config.transport, TRANSPORTS, "smtp", "transport");
  const service = transport === "smtp" ? undefined : serviceSettings(transport, config);
  const host = service ? service.address.hostname : text(config.host);
  if (!host || /\s/.test(host)) throw invalidSetting("host", "host");
  const security = service ? "tls" : oneOf(config.security, SECURITIES, "starttls", "security");
  const chosen = oneOf(config.auth, AUTH_METHODS, "auto", "auth");
  // "Automatic" without a user name is a relay that takes mail without a login, as nodemailer does without auth.
  // Graph and the Gmail API take nothing but an OAuth2 bearer token.
  const auth = service ? "oauth2" : chosen === "auto" && !credentials.user ? "none" : chosen;
  const from = senderAddress(config.from);
  const fromName = text(config.fromName);
  if (/[\r\n]/.test(fromName)) throw new MailError("config-invalid", { field: "fromName" });
  if (auth !== "none" && !service && !credentials.user) throw invalidSetting("user", "user");

  const limits: MailLimits = {
    maxAddresses: count(config.maxAddresses, DEFAULT_LIMITS.maxAddresses, "maxAddresses"),
    maxSubjectLength: count(config.maxSubjectLength, DEFAULT_LIMITS.maxSubjectLength, "maxSubjectLength"),
    maxBodyLength: count(config.maxBodyLength, DEFAULT_LIMITS.maxBodyLength, "maxBodyLength"),
    maxAttachments: count(config.maxAttachments, DEFAULT_LIMITS.maxAttachments, "maxAttachments"),
    maxAttachmentBytes:
      count(config.maxAttachmentKB, DEFAULT_LIMITS.maxAttachmentBytes / 1024, "maxAttachmentKB") * 1024,
  };
  const attachmentFolder = text(config.attachmentFolder);
  // What strict relays check EHLO against: a host name, or an address literal such as [10.0.0.5].
  const ehloName = text(config.ehloName);
  if (ehloName && !isEhloName(ehloName)) {
    throw new MailError("config-invalid", { field: "ehloName" });
  }
  const backup = text(config.backup);
  const rateLimits = [
    { count: optionalCount(config.rateMinute, "rateMinute"), windowMs: 60_000 },
    { count: optionalCount(config.rateHour, "rateHour"), windowMs: 3_600_000 },
    { count: optionalCount(config.rateDay, "rateDay"), windowMs: 86_400_000 },
  ].filter((limit) => limit.count > 0);
  const delivery: DeliveryPolicy = {
    ...DEFAULT_POLICY,
    retryDelay: duration(config.retryDelay, DEFAULT_POLICY.retryDelay, "retryDelay"),
    retryMaxDelay: duration(config.retryMaxDelay, DEFAULT_POLICY.retryMaxDelay, "retryMaxDelay"),
    maxAge: duration(config.maxAgeHours, DEFAULT_POLICY.maxAge, "maxAgeHours", 3_600_000),
    authAttempts: count(config.authAttempts, DEFAULT_POLICY.authAttempts, "authAttempts"),
    failoverAfter: count(config.failoverAfter, DEFAULT_POLICY.failoverAfter, "failoverAfter"),
    failbackAfter: count(config.failbackAfter, DEFAULT_POLICY.failbackAfter, "failbackAfter"),
    concurrency: connections(config.connections, transport),
    rateLimits,
  };
  const oauth = auth === "oauth2" ? oauthSettings(config, credentials) : undefined;
  const ack = ackLinkSettings(config);
  return {
    transport,
    ...(transport === "graph" && service ? { graph: { url: service.url, mailbox: service.mailbox } } : {}),
    ...(transport === "gmail" && service ? { gmail: { url: service.url } } : {}),
    delivery,
    ...(oauth ? { oauth } : {}),
    ...(backup ? { backup } : {}),
    ...(ack ? { ack } : {}),
    connection: {
      host,
      port: service
        ? Number(service.address.port || (service.address.protocol === "https:" ? 443 : 80))
        : port(config.port, DEFAULT_PORT[security]),
      security,
      auth,
      ...(credentials.user ? { user: credentials.user } : {}),
      ...(credentials.password ? { password: credentials.password } : {}),
      ...(credentials.ca?.trim() ? { ca: credentials.ca } : {}),
      rejectUnauthorized: config.rejectUnauthorized !== false && config.rejectUnauthorized !== "false",
      ...(text(config.servername) ? { servername: text(config.servername) } : {}),
      ...(ehloName ? { ehloName } : {}),
      connectionTimeout: duration(config.connectionTimeout, 15_000, "connectionTimeout"),
      socketTimeout: duration(config.socketTimeout, 60_000, "socketTimeout"),
    },
    sender: {
      from: { name: fromName || from.name, address: from.address },
      allowMsgFrom: config.allowMsgFrom === true || config.allowMsgFrom === "true",
      ...(attachmentFolder ? { attachmentFolder } : {}),
      limits,
    },
  };
}

/** The service root of an HTTPS transport, and for Graph the mailbox (a UPN, a user id, or `me`). */
function serviceSettings(
  transport: Exclude<TransportKind, "smtp">,
  config: ServerConfig,
): { url: string; address: URL; mailbox: string } {
  const field = transport === "graph" ? "graphUrl" : "gmailUrl";
  const fallback = transport === "graph" ? DEFAULT_GRAPH_URL : DEFAULT_GMAIL_URL;
  const root = url(transport === "graph" ? config.graphUrl : config.gmailUrl, field, false) ?? fallback;
  const mailbox = text(config.mailbox);
  if (transport === "graph" && (!mailbox || /[\s/?#]/.test(mailbox))) {
    throw invalidSetting("mailbox", "graphMailbox");
  }
  return { url: root, address: new URL(root), mailbox };
}

/**
 * `ackBaseUrl` is an http(s) address without query, fragment or user name: the link's token is put after it, and a
 * user name in it would be mailed to every recipient. Empty: no links. `ackLinkTtl` in ms, a minute to a year.
 */
function ackLinkSettings(config: ServerConfig): AckLinkSettings | undefined {
  const ttlMs = duration(config.ackLinkTtl, DEFAULT_ACK_LINK_TTL_MS, "ackLinkTtl", 1, {
    least: 60_000,
    most: 365 * 86_400_000,
  });
  const raw = url(config.ackBaseUrl, "ackBaseUrl", false);
  if (!raw) return undefined;
  const parsed = new URL(raw);
  if (parsed.search || parsed.hash || parsed.username || parsed.password || /[?#]/.test(raw)) {
    throw new MailError("config-invalid", { field: "ackBaseUrl" });
  }
  return { baseUrl: raw.replace(/\/+$/, ""), ttlMs };
}

function senderAddress(value: unknown): MailAddress {
  let list: MailAddress[] = [];
  try {
    list = parseAddressList(text(value), "from");
  } catch {
    // Reported below as the setting to fix, like every other setting.
  }
  if (list.length !== 1) throw invalidSetting("from", "from");
  return list[0];
}

function oauthSettings(
  config: ServerConfig,
  credentials: ServerCredentials,
): OAuthSettings & { refreshToken?: string } {
  const flow = oneOf(config.oauthFlow, OAUTH_FLOWS, "authorization_code", "oauthFlow");
  const clientId = credentials.clientId?.trim();
  if (!clientId) throw invalidSetting("clientId", "clientId");
  const authorizeUrl = url(config.authorizeUrl, "authorizeUrl", flow === "authorization_code");
  const deviceUrl = url(config.deviceUrl, "deviceUrl", flow === "device_code");
  return {
    flow,
    tokenUrl: url(config.tokenUrl, "tokenUrl", true) as string,
    ...(authorizeUrl ? { authorizeUrl } : {}),
    ...(deviceUrl ? { deviceUrl } : {}),
    scope: text(config.scope),
    clientId,
    ...(credentials.clientSecret ? { clientSecret: credentials.clientSecret } : {}),
    ...(credentials.refreshToken?.trim() ? { refreshToken: credentials.refreshToken.trim() } : {}),
  };
}

function url(value: unknown, field: string, required: boolean): string | undefined {
  const raw = text(value);
  if (!raw) {
    if (required) throw invalidSetting(field, "url");
    return undefined;
  }
  try {
    const parsed = new URL(raw);
    if (parsed.protocol === "https:" || parsed.protocol === "http:") return raw;
  } catch {
    // Reported below with the field's name.
  }
  throw invalidSetting(field, "url");
}

function isEhloName(name: string): boolean {
  if (/^\[[0-9A-Fa-f:.]{2,45}\]$/.test(name)) return true;
  const labels = name.split(".");
  return name.length <= 253 && labels.every((label) => /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label));
}

function text(value: unknown): string {
  return typeof value === "string" ? value.trim() : "";
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T, field: string): T {
  if (value === undefined || value === null || value === "") return fallback;
  if ((allowed as readonly unknown[]).includes(value)) return value as T;
  throw invalidSetting(field, "choice");
}

/**
 * A whole number as a flow holds one: a number, or a string of decimal digits (the dialog stores its fields as text),
 * spaces around it trimmed. Number() would also read true as 1, [5] as 5, "0x4" as 4 and "1e1" as 10, none of which
 * the dialog lets through nor a person means as a count: those are undefined here.
 */
function wholeNumber(value: unknown): number | undefined {
  const digits = typeof value === "string" ? value.trim() : undefined;
  const n =
    typeof value === "number" ? value : digits !== undefined && /^\d+$/.test(digits) ? Number(digits) : undefined;
  return n !== undefined && Number.isSafeInteger(n) ? n : undefined;
}

function count(value: unknown, fallback: number, field: string, rule: SettingRule = "positive"): number {
  if (value === undefined || value === null || value === "") return fallback;
  const n = wholeNumber(value);
  if (n === undefined || n <= 0) throw invalidSetting(field, rule);
  return n;
}

/** A time in ms (or in `unit`): a whole number of at least one unit, that a timer can wait. */
function duration(
  value: unknown,
  fallbackMs: number,
  field: string,
  unit = 1,
  range: { least?: number; most?: number } = {},
): number {
  if (value === undefined || value === null || value === "") return fallbackMs;
  const ms = readDuration(value, { least: unit, whole: true, unit, ...range });
  // Not the dialog's "positive" rule: a time may also be too long for a timer, which that rule does not say.
  if (ms === undefined) throw new MailError("config-invalid", { field });
  return ms;
}

/** A cap that may be left empty (or 0) for "no cap". */
function optionalCount(value: unknown, field: string): number {
  if (wholeNumber(value) === 0) return 0;
  return count(value, 0, field, "cap");
}

/**
 * `connections`: the SMTP pool's size and the mails delivered at once while the server answers well. Graph takes 4
 * requests at once per mailbox and answers more with 429; the Gmail API publishes a rate per user rather than a
 * number at once, which more requests at once only reach sooner: both are held to their transport's 4.
 */
function connections(value: unknown, transport: TransportKind): number {
  const n = count(value, DEFAULT_POLICY.concurrency, "connections", "connections");
  if (n > MAX_CONNECTIONS) throw invalidSetting("connections", "connections");
  if (transport === "graph") return Math.min(n, GRAPH_MAILBOX_CONCURRENCY);
  if (transport === "gmail") return Math.min(n, GMAIL_CONCURRENCY);
  return n;
}

function port(value: unknown, fallback: number): number {
  const n = count(value, fallback, "port", "port");
  if (n > 65535) throw invalidSetting("port", "port");
  return n;
}

/**
 * The rules the server dialog checks too, each said by one text of the catalogue (`alarm-mail-server.validation.<rule>`):
 * the runtime's error and the dialog's hint use the same words for the same rule.
 */
type SettingRule =
  | "host"
  | "port"
  | "choice"
  | "from"
  | "positive"
  | "cap"
  | "user"
  | "mailbox"
  | "graphMailbox"
  | "clientId"
  | "url"
  | "connections";

/** A setting that breaks a rule: its name, and the rule in the dialog's words. */
function invalidSetting(field: string, rule: SettingRule): MailError {
  return new MailError("config-rule", { field, validation: rule }, { terms: ["validation"] });
}
