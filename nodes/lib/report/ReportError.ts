import { CodedError, type ErrorParams } from "../common/CodedError";

/** Why a report could not be made: codes in the report node's catalogue. */
export type ReportErrorCode = "report-config-invalid" | "report-period-invalid" | "report-block-missing";

export class ReportError extends CodedError<ReportErrorCode> {
  constructor(code: ReportErrorCode, params: ErrorParams = {}) {
    super("alarm-mail-report", code, params);
  }
}
