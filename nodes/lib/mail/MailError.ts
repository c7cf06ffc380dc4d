import { CodedError, type ErrorParams } from "../common/CodedError";

/** The codes of mail, delivery and OAuth errors; their messages are in the server node's catalogue, which the editor
 * shares, so that the runtime and the dialog say them alike. */
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
  | "attachment-name"
  | "field-type"
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
  | "smtp-auth-not-offered"
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
  | "outbox-unavailable"
  | "digest-unavailable";

export class MailError extends CodedError<MailErrorCode> {
  constructor(code: MailErrorCode, params: ErrorParams = {}, options?: { cause?: unknown }) {
    super("alarm-mail-server", code, params, options);
  }
}
