import addressparser from "nodemailer/lib/addressparser";
import { MailError } from "./MailError";
import { typeName } from "../common/PlainObject";

export interface MailAddress {
  name: string;
  address: string;
}

export type AddressField = "from" | "to" | "cc" | "bcc" | "replyTo";

/** What users type in a recipient field, or what a flow puts in msg.to: text, or an array of texts. */
export type AddressInput = string | readonly string[] | undefined | null;

const LOCAL = '[^\\s@<>()\\[\\],;:"\\\\]+';
const DOMAIN = '(?:[^\\s@<>()\\[\\],;:"\\\\.]+\\.)+[^\\s@<>()\\[\\],;:"\\\\.]{2,}';
/** A host name of one label (`localhost`, an intranet relay's `mailhub`): valid on a plant network. */
const HOST = '[^\\s@<>()\\[\\],;:"\\\\.]+';
const ADDRESS = new RegExp(`^${LOCAL}@(?:${DOMAIN}|${HOST}|\\[[0-9a-fA-F:.]+\\])$`, "u");
const ADDRESS_INSIDE = new RegExp(`${LOCAL}@${DOMAIN}`, "u");

/**
 * Parses a list of addresses separated by commas or semicolons, with optional display names
 * ("Jean Dupont <jean@plant.example>"). Every entry is checked, and an entry that is not an address is an error
 * naming the field and the entry: a mistyped recipient must not silently vanish from an alarm mail.
 * New lines separate entries only where `lineSeparated` says the text was typed in the editor; in a msg field
 * a CR or LF is an injection attempt and is refused.
 */
export function parseAddressList(
  input: AddressInput,
  field: AddressField,
  { lineSeparated = false }: { lineSeparated?: boolean } = {},
): MailAddress[] {
  if (input === undefined || input === null) return [];
  // A flow may put anything in msg.to: an object is said to be one, not shown as "[object Object]".
  if (typeof input !== "string" && !Array.isArray(input)) {
    throw new MailError("field-type", { field: `msg.${field}`, type: typeName(input) });
  }
  const entries: readonly unknown[] = typeof input === "string" ? [input] : input;
  const result: MailAddress[] = [];
  // Every entry that is not an address, so that one correction mends them all.
  const invalid: string[] = [];
  for (const entry of entries) {
    if (typeof entry !== "string") {
      throw new MailError("field-type", { field: `msg.${field}`, type: typeName(entry) });
    }
    if (!lineSeparated && /[\r\n]/.test(entry)) {
      throw new MailError("address-crlf", { field });
    }
    const text = entry.replace(/\r?\n/g, ",");
    for (const parsed of addressparser(text, { flatten: true })) {
      if (isAddress(parsed.name, parsed.address, text)) result.push({ name: parsed.name, address: parsed.address });
      else
        invalid.push(
          parsed.name && parsed.address ? `${parsed.name} <${parsed.address}>` : parsed.name || parsed.address,
        );
    }
  }
  if (invalid.length === 1) throw new MailError("address-invalid", { field, address: invalid[0] });
  if (invalid.length > 1) {
    throw new MailError("addresses-invalid", { field, addresses: invalid.map((a) => `"${a}"`).join(", ") });
  }
  return result;
}

function isAddress(name: string, address: string, source: string): boolean {
  if (!ADDRESS.test(address)) return false;
  // addressparser folds stray words into the display name; "a@x.org b@y.org" must not become one recipient.
  return !(/[<>]/.test(name) || (ADDRESS_INSIDE.test(name) && !source.includes(`<${address}>`)));
}

/** The text form for a header or a log line. */
export function formatAddress({ name, address }: MailAddress): string {
  return name ? `"${name.replace(/["\\]/g, "\\$&")}" <${address}>` : address;
}
