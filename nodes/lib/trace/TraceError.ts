/**
 * Why a msg could not be recorded in a trace log. `code` names a message in the trace node's catalogue
 * (`alarm-mail-trace.json`, under `errors`), `params` fill its placeholders, so that the Node-RED layer says it in the
 * user's language while the library stays free of Node-RED. It mirrors `MailError`.
 */
export type TraceErrorCode =
  | "trace-config-invalid"
  | "trace-topic-missing"
  | "trace-control-missing"
  | "trace-value-invalid"
  | "trace-unavailable";

export type TraceErrorParams = Record<string, string | number>;

export class TraceError extends Error {
  readonly code: TraceErrorCode;
  readonly params: TraceErrorParams;

  constructor(code: TraceErrorCode, params: TraceErrorParams = {}) {
    const detail = Object.entries(params)
      .map(([key, value]) => `${key}=${value}`)
      .join(", ");
    super(detail ? `${code} (${detail})` : code);
    this.name = "TraceError";
    this.code = code;
    this.params = params;
  }
}
