import { InboxError } from "./InboxError";

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
  user: string;
  password?: string;
  ca?: string;
}

const SECURITIES: readonly InboxSecurity[] = ["tls", "starttls", "none"];
const AUTHS: readonly InboxAuth[] = ["login", "oauth2"];
const AFTER_READ: readonly AfterRead[] = ["seen", "delete"];

/** The settings of a deployed inbox, or the first field that is wrong, as an `InboxError` naming it. */
export function parseInboxSettings(config: InboxConfig, credentials: InboxCredentials): InboxSettings {
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
