/**
 * An error in an alarm block that the user can act on: a bad alarm table, a bad value or command. `code` names a
 * message in the block's catalogue (`alarm-mail-block.json`, under `errors`), `params` fill its placeholders, so that
 * the Node-RED layer says it in the user's language while this module stays free of Node-RED. It mirrors `MailError`
 * and keeps the block's messages beside the block's other texts.
 */
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

export type AlarmErrorParams = Record<string, string | number>;

export class AlarmError extends Error {
  readonly code: AlarmErrorCode;
  readonly params: AlarmErrorParams;

  constructor(code: AlarmErrorCode, params: AlarmErrorParams = {}) {
    const detail = Object.entries(params)
      .map(([key, value]) => `${key}=${value}`)
      .join(", ");
    super(detail ? `${code} (${detail})` : code);
    this.name = "AlarmError";
    this.code = code;
    this.params = params;
  }
}
