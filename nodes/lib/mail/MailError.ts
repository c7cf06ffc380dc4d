/**
 * An error that the user can act on. `code` names a message in the locale catalogues
 * (`errors.<code>`), `params` fill its placeholders, so the Node-RED layer can say it in the user's language
 * while this module stays free of Node-RED.
 */
export type MailErrorCode =
  | "address-invalid"
  | "address-missing"
  | "address-crlf"
  | "header-crlf"
  | "limit-addresses"
  | "limit-subject"
  | "limit-body"
  | "limit-attachments"
  | "limit-attachment-size"
  | "attachment-invalid"
  | "attachment-path-refused"
  | "attachment-href-refused"
  | "priority-invalid"
  | "template-invalid"
  | "config-missing"
  | "config-invalid"
  | "smtp-connection-refused"
  | "smtp-dns"
  | "smtp-timeout"
  | "smtp-greeting-timeout"
  | "smtp-tls-mismatch"
  | "smtp-cert-untrusted"
  | "smtp-cert-name"
  | "smtp-starttls-missing"
  | "smtp-auth-failed"
  | "smtp-auth-locked"
  | "smtp-auth-unsupported"
  | "smtp-rejected"
  | "smtp-transient"
  | "smtp-failed"
  | "oauth-invalid-grant"
  | "oauth-invalid-client"
  | "oauth-failed"
  | "oauth-unreachable"
  | "oauth-device-denied"
  | "oauth-device-expired"
  | "oauth-device-cancelled"
  | "oauth-state-invalid"
  | "oauth-not-signed-in"
  | "outbox-expired"
  | "outbox-unavailable";

export type MailErrorParams = Record<string, string | number>;

export class MailError extends Error {
  readonly code: MailErrorCode;
  readonly params: MailErrorParams;

  constructor(code: MailErrorCode, params: MailErrorParams = {}, options?: { cause?: unknown }) {
    const detail = Object.entries(params)
      .map(([key, value]) => `${key}=${value}`)
      .join(", ");
    super(detail ? `${code} (${detail})` : code, options);
    this.name = "MailError";
    this.code = code;
    this.params = params;
  }
}
