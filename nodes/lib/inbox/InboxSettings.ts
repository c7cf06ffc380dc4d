import { InboxError } from "./InboxError";
import { migrateConfig } from "../common/ConfigVersion";

/** The `alarm-mail-inbox` properties as the editor stores them (numbers may arrive as text). */
export interface InboxConfig {
  host?: unknown;
  port?: unknown;
  security?: unknown;
  auth?: unknown;
  server?: unknown;
  mailbox?: unknown;
  afterRead?: unknown;
  rejectUnauthorized?: unknown;
  servername?: unknown;
  /** Seconds between looks where the server has no IDLE (from version 2). */
  pollSeconds?: unknown;
  /** The shape of this configuration (`INBOX_CONFIG_VERSION`); absent in flows saved before it was written. */
  version?: unknown;
}

export interface InboxCredentials {
  user?: string;
  password?: string;
  ca?: string;
}

export type InboxSecurity = "tls" | "starttls" | "none";
export type InboxAuth = "login" | "oauth2";
export type AfterRead = "seen" | "delete";

/** One inbox's settings, checked once at deploy. */
export interface InboxSettings {
  host: string;
  port: number;
  security: InboxSecurity;
  auth: InboxAuth;
  /** The `alarm-mail-server` whose OAuth2 sign-in gives the token, when `auth` is `oauth2`. */
  server?: string;
  mailbox: string;
  afterRead: AfterRead;
  rejectUnauthorized: boolean;
  servername?: string;
  /** How often the mailbox is looked at where the server has no IDLE. */
  pollMs: number;
  user: string;
  password?: string;
  ca?: string;
}

const SECURITIES: readonly InboxSecurity[] = ["tls", "starttls", "none"];
const AUTHS: readonly InboxAuth[] = ["login", "oauth2"];
const AFTER_READ: readonly AfterRead[] = ["seen", "delete"];

/** The configuration shape this package writes; the editor stores it in the node's `version` property. */
export const INBOX_CONFIG_VERSION = 2;

/**
 * The bounds of `pollSeconds`. At least 5 s: each look is a command on a mailbox that mail providers meter per
 * account (and a plant relay serves other users), while a person who replied "ok" is served as well in 5 s as in 1.
 * At most 600 s: a reply taken later than that lets reminders and escalations go on for ten minutes after someone
 * acknowledged, which is what acknowledging by reply is for.
 */
export const POLL_SECONDS = { least: 5, most: 600, default: 30 } as const;

/**
 * Each entry upgrades a configuration of version `index + 1` to the next one, so that a flow saved by an older
 * editor keeps working as it did. Version 2 added `pollSeconds`: a version 1 inbox looked every 30 s, and still does.
 */
const MIGRATIONS: Array<(config: InboxConfig) => InboxConfig> = [
  (config) => ({ ...config, pollSeconds: config.pollSeconds ?? POLL_SECONDS.default }),
];

/** An inbox's configuration brought up to the current version (`migrateConfig`: no version is 1; a newer one, or one that is no version, refused). */
export function migrateInboxConfig(config: InboxConfig): InboxConfig {
  return migrateConfig(config, INBOX_CONFIG_VERSION, MIGRATIONS, {
    newer: (params) => new InboxError("config-version", params),
    invalid: (params) => new InboxError("config-invalid", params),
  });
}

/** The settings of a deployed inbox, or the first field that is wrong, as an `InboxError` naming it. */
export function parseInboxSettings(raw: InboxConfig, credentials: InboxCredentials): InboxSettings {
  const config = migrateInboxConfig(raw);
  const host = text(config.host);
  if (!host) throw new InboxError("config-missing", { field: "host" });
  const security = choice(config.security, SECURITIES, "tls", "security");
  const auth = choice(config.auth, AUTHS, "login", "auth");
  const user = text(credentials.user);
  if (!user) throw new InboxError("config-missing", { field: "user" });
  const password = credentials.password ?? "";
  if (auth === "login" && password === "") throw new InboxError("config-missing", { field: "password" });
  const server = text(config.server);
  if (auth === "oauth2" && !server) throw new InboxError("config-missing", { field: "server" });
  const servername = text(config.servername);
  const ca = text(credentials.ca);
  return {
    host,
    port: port(config.port, security === "tls" ? 993 : 143),
    security,
    auth,
    ...(auth === "oauth2" ? { server } : {}),
    mailbox: text(config.mailbox) || "INBOX",
    afterRead: choice(config.afterRead, AFTER_READ, "seen", "afterRead"),
    rejectUnauthorized: config.rejectUnauthorized !== false && config.rejectUnauthorized !== "false",
    ...(servername ? { servername } : {}),
    pollMs: pollSeconds(config.pollSeconds) * 1000,
    user,
    ...(auth === "login" ? { password } : {}),
    ...(ca ? { ca } : {}),
  };
}

function text(value: unknown): string {
  return typeof value === "string" ? value.trim() : "";
}

function choice<T extends string>(value: unknown, allowed: readonly T[], fallback: T, field: string): T {
  if (value === undefined || value === "") return fallback;
  if (typeof value === "string" && (allowed as readonly string[]).includes(value)) return value as T;
  throw new InboxError("config-invalid", { field });
}

function port(value: unknown, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const n = typeof value === "number" ? value : Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InboxError("config-invalid", { field: "port" });
  return n;
}

/** Whole seconds within `POLL_SECONDS`; empty is the default, as the dialog's empty field means. */
function pollSeconds(value: unknown): number {
  if (value === undefined || value === null || value === "") return POLL_SECONDS.default;
  const n =
    typeof value === "number" ? value : typeof value === "string" && /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < POLL_SECONDS.least || n > POLL_SECONDS.most) {
    throw new InboxError("config-invalid", { field: "pollSeconds" });
  }
  return n;
}
