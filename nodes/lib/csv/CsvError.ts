import { CodedError, type ErrorParams } from "../common/CodedError";

/** Why a CSV could not be attached: codes in the CSV node's catalogue. */
export type CsvErrorCode =
  | "csv-config-invalid"
  | "csv-block-missing"
  | "csv-trace-missing"
  | "csv-payload-invalid"
  | "csv-payload-not-rows"
  | "csv-columns-empty"
  | "csv-filename-invalid";

export class CsvError extends CodedError<CsvErrorCode> {
  constructor(code: CsvErrorCode, params: ErrorParams = {}) {
    super("alarm-mail-csv", code, params);
  }
}
