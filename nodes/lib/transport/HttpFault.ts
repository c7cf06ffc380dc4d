import { MailError, type MailErrorCode } from "../mail/MailError";
import type { HttpAnswer } from "./HttpsClient";
import type { AccessTokenSource } from "./Transport";
import { TransportFault, tokenFault, type FaultKind } from "./TransportFault";

/** The error a Google or Microsoft API puts in its JSON body: `{ error: { code, message, errors: [{ reason }] } }`. */
export interface ServiceError {
  status: number;
  /** Graph's code (`ErrorAccessDenied`), or Google's first reason (`insufficientPermissions`), or the HTTP status. */
  code: string;
  message: string;
}

export function serviceError(answer: HttpAnswer): ServiceError {
  let code = String(answer.status);
  let message = answer.body.toString("utf8").slice(0, 300);
  try {
    const parsed = JSON.parse(answer.body.toString("utf8")) as {
      error?: { code?: unknown; message?: unknown; status?: unknown; errors?: Array<{ reason?: unknown }> };
    };
    const error = parsed.error;
    if (error) {
      const reason = error.errors?.[0]?.reason;
      code = String(typeof error.code === "string" ? error.code : (reason ?? error.status ?? answer.status));
      message = typeof error.message === "string" ? error.message : message;
    }
  } catch {
    // Not JSON (a proxy's or a load balancer's page): its first words are the best explanation there is.
  }
  return { status: answer.status, code, message: message.replace(/\s+/g, " ").trim() };
}

/** The wait a 429 or 503 asks for, in ms: `Retry-After` as seconds or as an HTTP date. */
export function retryAfterMs(answer: HttpAnswer, now: number): number | undefined {
  const raw = answer.headers["retry-after"];
  if (typeof raw !== "string" || !raw.trim()) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The fault for an answer that is not a success, by the contract: 401 (after one renewal) is an authentication
 * fault; 400, 403, 404 and 413 are permanent; 408, 429 and 5xx are transient, with the service's `Retry-After`.
 */
export function httpFault(service: string, answer: HttpAnswer, now: number): TransportFault {
  const error = serviceError(answer);
  const params = { service, status: answer.status, error: error.code, response: error.message };
  const fault = (code: MailErrorCode, kind: FaultKind, extra: Record<string, string | number> = {}, wait?: number) =>
    new TransportFault(code, kind, { ...params, ...extra }, error, wait);
  if (answer.status === 401) return fault("http-auth-failed", "auth");
  if (answer.status === 413) return fault("http-too-large", "permanent");
  if (answer.status === 429 || answer.status === 503) {
    const wait = retryAfterMs(answer, now);
    return fault("http-throttled", "transient", { seconds: Math.ceil((wait ?? 0) / 1000) }, wait);
  }
  if (answer.status === 408 || answer.status >= 500) return fault("http-transient", "transient");
  return fault("http-rejected", "permanent");
}

const CERT_UNTRUSTED =
  /SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|self[- ]signed|unable to verify/i;

/** A request that got no answer: the network faults that SMTP reports too, said about the service's address. */
export function networkFault(service: string, err: unknown, url: URL): TransportFault {
  if (err instanceof TransportFault) return err;
  if (err instanceof MailError && err.code.startsWith("oauth-")) return tokenFault(err);
  const e = (err ?? {}) as { code?: string; message?: string };
  const text = `${e.code ?? ""} ${e.message ?? String(err)}`;
  const params = { service, host: url.hostname, port: Number(url.port || 443), response: e.message ?? String(err) };
  const fault = (code: MailErrorCode, kind: FaultKind) => new TransportFault(code, kind, params, err);
  if (/ERR_TLS_CERT_ALTNAME_INVALID|altnames|does not match/i.test(text)) return fault("smtp-cert-name", "permanent");
  if (CERT_UNTRUSTED.test(text)) return fault("smtp-cert-untrusted", "permanent");
  if (/ECONNREFUSED|EHOSTUNREACH|ENETUNREACH/.test(text)) return fault("smtp-connection-refused", "transient");
  if (/ENOTFOUND|EAI_AGAIN/.test(text)) return fault("smtp-dns", "transient");
  if (/ETIMEDOUT|timed out/i.test(text)) return fault("smtp-timeout", "transient");
  // A reset or a cut connection: the request may or may not have reached the service.
  return fault("http-failed", "transient");
}

/**
 * Runs a request with a bearer token and, when the service answers 401, once more with a renewed one: a token
 * revoked or expired early costs one renewal, and a second 401 is the service's refusal of this sign-in.
 */
export async function withBearer(
  tokens: AccessTokenSource,
  call: (token: string) => Promise<HttpAnswer>,
): Promise<HttpAnswer> {
  const answer = await call(await token(tokens, false));
  if (answer.status !== 401) return answer;
  return call(await token(tokens, true));
}

async function token(tokens: AccessTokenSource, renew: boolean): Promise<string> {
  try {
    return await tokens.accessToken(renew);
  } catch (err) {
    throw err instanceof MailError ? tokenFault(err) : err;
  }
}
