import { CodedError, type ErrorParams } from "../common/CodedError";

/** The codes of the inbox's errors (its settings, the IMAP server and mailbox), in its catalogue. */
export type InboxErrorCode =
  | "config-invalid"
  | "config-missing"
  | "config-version"
  | "server-missing"
  | "imap-failed"
  | "imap-auth"
  | "imap-mailbox";

export class InboxError extends CodedError<InboxErrorCode> {
  constructor(code: InboxErrorCode, params: ErrorParams = {}, options?: { cause?: unknown }) {
    super("alarm-mail-inbox", code, params, options);
  }
}
