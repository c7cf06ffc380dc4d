import { MailError, type MailErrorCode } from "../mail/MailError";
import { TransportFault, tokenFault, type FaultKind } from "./TransportFault";

interface NodemailerError {
  code?: string;
  command?: string;
  response?: string;
  responseCode?: number;
  message?: string;
  cause?: unknown;
}

interface Target {
  host: string;
  port: number;
  security: string;
}

const CERT_UNTRUSTED =
  /SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|self[- ]signed|unable to verify|certificate has expired/i;
const CERT_NAME = /ERR_TLS_CERT_ALTNAME_INVALID|altnames|Hostname\/IP does not match/i;
const TLS_MISMATCH = /wrong version number|WRONG_VERSION_NUMBER|unknown protocol|packet length too long|EPROTO/i;
const TOO_MANY = /too many|locked|temporarily blocked|rate limit|try again later/i;

/** Maps a nodemailer error (and the system error under it) to one TransportFault. */
export function classifySmtpError(err: unknown, target: Target): TransportFault {
  if (err instanceof TransportFault) return err;
  if (err instanceof MailError && err.code.startsWith("oauth-")) return tokenFault(err);
  const e = (err ?? {}) as NodemailerError;
  const text = [e.message, e.code, e.response, causeText(e.cause)].filter(Boolean).join(" ");
  const base = { host: target.host, port: target.port };
  const response = e.response ?? e.message ?? String(err);
  const fault = (code: MailErrorCode, kind: FaultKind, extra: Record<string, string | number> = {}) =>
    new TransportFault(code, kind, { ...base, ...extra }, err);

  if (e.code === "EAUTH" || e.command === "AUTH PLAIN" || e.command === "AUTH LOGIN") {
    if (TOO_MANY.test(text) || e.responseCode === 454 || e.responseCode === 421) {
      return fault("smtp-auth-locked", "auth", { response });
    }
    if (/Missing credentials|not supported|No supported authentication/i.test(text)) {
      return fault("smtp-auth-unsupported", "auth", { response });
    }
    return fault("smtp-auth-failed", "auth", { response });
  }
  if (e.code === "ETLS" && /STARTTLS/i.test(text) && target.security === "require-starttls") {
    return fault("smtp-starttls-missing", "permanent");
  }
  if (CERT_NAME.test(text)) return fault("smtp-cert-name", "permanent", { response });
  if (CERT_UNTRUSTED.test(text)) return fault("smtp-cert-untrusted", "permanent", { response });
  if (TLS_MISMATCH.test(text)) return fault("smtp-tls-mismatch", "permanent", { security: target.security });
  if (/ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ECONNRESET/.test(text))
    return fault("smtp-connection-refused", "transient");
  if (/ENOTFOUND|EAI_AGAIN|EDNS/.test(text)) return fault("smtp-dns", "transient");
  if (e.code === "ETIMEDOUT" || e.code === "ECONNECTION" || /timeout|timed out/i.test(text)) {
    // An implicit-TLS port waits for our handshake while we wait for its greeting: a silent greeting is that hint.
    if (/greeting/i.test(text)) return fault("smtp-greeting-timeout", "transient", { security: target.security });
    return fault("smtp-timeout", "transient");
  }
  if (typeof e.responseCode === "number") {
    if (e.responseCode >= 500) return fault("smtp-rejected", "permanent", { response });
    if (e.responseCode >= 400) return fault("smtp-transient", "transient", { response });
  }
  if (e.code === "EENVELOPE") return fault("smtp-rejected", "permanent", { response });
  return fault("smtp-failed", "transient", { response });
}

function causeText(cause: unknown): string {
  if (!cause || typeof cause !== "object") return "";
  const c = cause as { code?: string; message?: string };
  return [c.code, c.message].filter(Boolean).join(" ");
}
