/**
 * Why a CSV could not be attached. `code` names a message in the CSV node's catalogue (`alarm-mail-csv.json`, under
 * `errors`), `params` fill its placeholders, so that the Node-RED layer says it in the user's language while the
 * library stays free of Node-RED. It mirrors `MailError` and keeps the attacher's messages beside its other texts.
 */
export type CsvErrorCode =
  | "csv-config-invalid"
  | "csv-block-missing"
  | "csv-trace-missing"
  | "csv-payload-invalid"
  | "csv-columns-empty"
  | "csv-filename-invalid";

export type CsvErrorParams = Record<string, string | number>;

export class CsvError extends Error {
  readonly code: CsvErrorCode;
  readonly params: CsvErrorParams;

  constructor(code: CsvErrorCode, params: CsvErrorParams = {}) {
    const detail = Object.entries(params)
      .map(([key, value]) => `${key}=${value}`)
      .join(", ");
    super(detail ? `${code} (${detail})` : code);
    this.name = "CsvError";
    this.code = code;
    this.params = params;
  }
}
