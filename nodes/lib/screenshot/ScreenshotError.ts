import { CodedError, type ErrorParams } from "../common/CodedError";

/** Why a screenshot could not be attached: codes in the screenshot node's catalogue. The code also goes into
 * `msg.screenshotError`, for flows that react to it. */
export type ScreenshotErrorCode =
  | "screenshot-config-invalid"
  | "screenshot-url-invalid"
  | "screenshot-no-chromium"
  | "screenshot-downscale-no-chromium"
  | "screenshot-launch-failed"
  | "screenshot-closed"
  | "screenshot-browser-failed"
  | "screenshot-timeout"
  | "screenshot-page-failed"
  | "screenshot-http-status"
  | "screenshot-auth-refused"
  | "screenshot-selector-invalid"
  | "screenshot-selector-timeout"
  | "screenshot-fetch-failed"
  | "screenshot-not-image"
  | "screenshot-source-too-large"
  | "screenshot-file-unreadable"
  | "screenshot-payload-invalid"
  | "screenshot-too-large";

/** The steps that a `screenshot-timeout` names; the catalogue says each under `step`. */
export type CaptureStep = "wait" | "launch" | "load" | "delay" | "capture" | "download" | "downscale";

export class ScreenshotError extends CodedError<ScreenshotErrorCode> {
  constructor(code: ScreenshotErrorCode, params: ErrorParams = {}, options?: { cause?: unknown }) {
    super("alarm-mail-screenshot", code, params, { ...options, terms: ["step"] });
  }
}

/**
 * A URL as messages show it: scheme, host and path. IP cameras often take their login in the query string
 * (`?usr=admin&pwd=…`), so the query never reaches a log, a status or a mail.
 */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const shown = `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
    return shown.length > 120 ? `${shown.slice(0, 119)}…` : shown;
  } catch {
    return "(not a URL)";
  }
}

/** The first line of an error, which is what a status or a warning has room for. */
export function reasonOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split("\n")[0].trim();
}
