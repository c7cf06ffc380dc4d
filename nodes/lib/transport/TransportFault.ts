import { MailError, type MailErrorCode } from "../mail/MailError";

/** How a delivery failure should be handled: wait and retry, give up at once, or stop before the account locks. */
export type FaultKind = "transient" | "permanent" | "auth";

/**
 * A failed delivery through any transport, explained in terms an engineer can act on. `retryAfterMs` is the wait
 * the service asked for (HTTP `Retry-After` on 429 and 503): the next attempt must not start before it.
 */
export class TransportFault extends MailError {
  constructor(
    code: MailErrorCode,
    readonly kind: FaultKind,
    params: Record<string, string | number>,
    cause: unknown,
    readonly retryAfterMs?: number,
  ) {
    super(code, params, { cause });
    this.name = "TransportFault";
  }
}

/** A token that could not be had: an unreachable endpoint is a network fault, any other token problem needs a person. */
export function tokenFault(err: MailError): TransportFault {
  return new TransportFault(err.code, err.code === "oauth-unreachable" ? "transient" : "auth", err.params, err);
}
