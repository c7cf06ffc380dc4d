/** The node types whose catalogue (`locales/<lang>/<type>.json`) holds a family of error messages. */
export type Catalogue =
  | "alarm-mail-server"
  | "alarm-mail-block"
  | "alarm-mail-trace"
  | "alarm-mail-csv"
  | "alarm-mail-screenshot"
  | "alarm-mail-report"
  | "alarm-mail-escalation"
  | "alarm-mail-inbox";

export type ErrorParams = Record<string, string | number>;

/**
 * An error the user can act on, said in their language by the Node-RED layer while the library stays free of
 * Node-RED: `code` names the message `errors.<code>` in the `catalogue` of a node type, `params` fill its
 * placeholders. A param named in `terms` holds a word of that catalogue (`<type>.<term>.<value>`), translated before it
 * fills the message, so that "the page did not load within 10 s" names the step in the reader's language too.
 *
 * Each domain narrows it with its own list of codes (`MailError`, `AlarmError`, ...), kept beside its code.
 */
export class CodedError<Code extends string = string> extends Error {
  readonly catalogue: Catalogue;
  readonly code: Code;
  readonly params: ErrorParams;
  readonly terms: readonly string[];

  constructor(
    catalogue: Catalogue,
    code: Code,
    params: ErrorParams = {},
    options?: { cause?: unknown; terms?: readonly string[] },
  ) {
    const detail = Object.entries(params)
      .map(([key, value]) => `${key}=${value}`)
      .join(", ");
    super(detail ? `${code} (${detail})` : code, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.catalogue = catalogue;
    this.code = code;
    this.params = params;
    this.terms = options?.terms ?? [];
  }
}
