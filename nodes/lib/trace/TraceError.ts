import { CodedError, type ErrorParams } from "../common/CodedError";

/** Why a msg could not be recorded in a trace log: codes in the trace node's catalogue. */
export type TraceErrorCode =
  | "trace-config-invalid"
  | "trace-topic-missing"
  | "trace-control-missing"
  | "trace-value-invalid"
  | "trace-unavailable";

export class TraceError extends CodedError<TraceErrorCode> {
  constructor(code: TraceErrorCode, params: ErrorParams = {}) {
    super("alarm-mail-trace", code, params);
  }
}
