/**
 * What a person wrote in a reply, without what their mail client added: the quoted alarm mail, the "On ... wrote:"
 * line above it, an Outlook header block and a signature. Mail clients put the new text first (top posting) on
 * phones, so the reply's first line that is not quoted is where an acknowledge word is looked for.
 */

/** The words that acknowledge, as the first word of the reply's first line, in any case. */
export const ACK_WORDS: readonly string[] = ["ack", "ok", "acquitter", "quittieren", "confirm"];

/** The longest new text kept for `msg.payload`: a reply is a line or two; a pasted log is cut. */
export const MAX_REPLY_TEXT = 4000;

/**
 * The line a client puts above the quoted mail: "On Mon, 6 Jan 2026 at 08:42, Alarm <a@b> wrote:" (English, Gmail,
 * Apple Mail), "Le ... a écrit :" (French), "Am ... schrieb ...:" (German), "În ... a scris:" (Romanian). Clients
 * wrap it, so it may end a line or two later: `quoteHeaderAt` joins up to three lines before testing.
 */
const QUOTE_HEADERS: readonly RegExp[] = [
  /^on\b.*\bwrote\s*:\s*$/i,
  /^le\b.*\ba\s+écrit\s*:\s*$/i,
  /^am\b.*\bschrieb\b.*:\s*$/i,
  /^(?:în|in|pe)\b.*\ba\s+scris\s*:\s*$/i,
];

/** Lines that open what a client appends: a forwarded or original mail, Outlook's rule and header block. */
const APPENDED: readonly RegExp[] = [
  /^-{2,}\s*(?:original message|ursprüngliche nachricht|message d'origine|mesaj original|forwarded message)/i,
  /^_{10,}\s*$/,
  /^(?:from|de|von|de la)\s*:\s*\S.*$/i,
];

/** Signature delimiters: the standard "-- " (RFC 3676), and what phones put under every mail. */
const SIGNATURES: readonly RegExp[] = [/^--\s*$/, /^sent from my\b/i, /^envoyé de mon\b/i, /^von meinem\b.*gesendet/i];

/** The reply's new text: the lines before the quote, its header, an appended mail or a signature, trimmed. */
export function newText(text: string): string {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  const kept: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    const bare = line.trim();
    if (bare.startsWith(">")) break;
    if (quoteHeaderAt(lines, i)) break;
    if (APPENDED.some((re) => re.test(bare))) break;
    // "-- " is kept with its space by format=flowed; trimmed, "--" alone still means a signature.
    if (SIGNATURES.some((re) => re.test(bare))) break;
    kept.push(line.trimEnd());
  }
  const joined = kept.join("\n").trim();
  return joined.length > MAX_REPLY_TEXT ? `${joined.slice(0, MAX_REPLY_TEXT - 1)}…` : joined;
}

/** Whether the lines from `i` (one to three of them, as a client wrapped it) are a quote header. */
function quoteHeaderAt(lines: readonly string[], i: number): boolean {
  let joined = "";
  for (let j = i; j < Math.min(lines.length, i + 3); j++) {
    const part = (lines[j] ?? "").trim();
    if (part === "" || part.startsWith(">")) return false;
    joined = joined === "" ? part : `${joined} ${part}`;
    if (QUOTE_HEADERS.some((re) => re.test(joined))) return true;
  }
  return false;
}

/** The first line of the new text that holds anything: where the acknowledge word must be. */
export function firstLine(text: string): string {
  return (
    newText(text)
      .split("\n")
      .map((line) => line.trim())
      .find((line) => line !== "") ?? ""
  );
}

/**
 * Whether a line starts with an acknowledge word: "OK", "ack.", "Quittieren, bin unterwegs", "confirm!" do; "okay",
 * "acknowledged?" or "not ok" do not, since only the listed words count and only as the first word.
 */
export function startsWithAckWord(line: string): boolean {
  const word = /^[\p{L}\p{N}]+/u.exec(line.trim())?.[0];
  return word !== undefined && ACK_WORDS.includes(word.toLocaleLowerCase("en-US"));
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " " };

/**
 * A simple text version of an HTML-only reply, enough to find its first line and what was quoted: blocks and `<br>`
 * become line breaks, a `<blockquote>` (how clients quote in HTML) becomes "> " lines, scripts and styles go, and
 * entities are decoded. It is not a renderer: the alarm mail's text part, not its layout, is what matters here.
 */
export function htmlToText(html: string): string {
  let text = html
    .replace(/<!--[\s\S]*?-->/g, "")
    .replace(/<(script|style|head|title)\b[\s\S]*?<\/\1\s*>/gi, "")
    // Quoted parts are cut anyway: marking where they start is enough, whatever they contain.
    .replace(/<blockquote\b[^>]*>/gi, "\n> ")
    .replace(/<br\s*\/?>/gi, "\n")
    .replace(/<\/?(?:p|div|tr|li|ul|ol|table|h[1-6]|hr|pre)\b[^>]*>/gi, "\n")
    .replace(/<[^>]+>/g, "");
  text = text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
    if (name.startsWith("#x") || name.startsWith("#X")) return codePoint(parseInt(name.slice(2), 16), whole);
    if (name.startsWith("#")) return codePoint(parseInt(name.slice(1), 10), whole);
    return ENTITIES[name.toLowerCase()] ?? whole;
  });
  return text
    .split("\n")
    .map((line) => line.replace(/[ \t\u00a0]+/g, " ").trim())
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

function codePoint(n: number, fallback: string): string {
  return Number.isInteger(n) && n > 0 && n <= 0x10ffff ? String.fromCodePoint(n) : fallback;
}
