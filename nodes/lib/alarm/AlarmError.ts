import { CodedError, type ErrorParams } from "../common/CodedError";

/** The codes of an alarm block's errors (a bad alarm table, value or command), in the block's catalogue. */
export type AlarmErrorCode =
  | "alarm-config-invalid"
  | "alarm-duplicate"
  | "block-config-invalid"
  | "config-version"
  | "alarm-unknown"
  | "alarm-missing"
  | "command-invalid"
  | "duration-invalid"
  | "topic-missing"
  | "value-invalid"
  | "csv-invalid";

export class AlarmError extends CodedError<AlarmErrorCode> {
  constructor(code: AlarmErrorCode, params: ErrorParams = {}) {
    super("alarm-mail-block", code, params);
  }
}
