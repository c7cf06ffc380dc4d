import type { ThreadInfo } from "../thread/MailThreads";
import { firstLine, newText, startsWithAckWord } from "./ReplyText";

/**
 * An alarm mail this gateway sent, as the thread store knows it: the occurrence, the block node and alarm it came
 * from, and the lower-case addresses the mails of that occurrence went to.
 */
export type RepliedMail = Pick<ThreadInfo, "occurrence" | "block" | "alarm" | "recipients">;

/** One mail read from the mailbox, reduced to what the decision needs. */
export interface Reply {
  /** The sender's address, lower-case; undefined when the mail names none. */
  from?: string;
  subject: string;
  inReplyTo: readonly string[];
  /** The References header's ids, oldest first as the header lists them. */
  references: readonly string[];
  /** The reply's text (an HTML-only reply already turned into text). */
  text: string;
  /** The mail's own Message-ID, without angle brackets. */
  messageId?: string;
  /** An Auto-Submitted header other than "no": an out-of-office answer or a bounce, never a person's ack. */
  automatic: boolean;
}

/** Where a reply is matched: the thread store by Message-ID, and the subject when no header names a mail of ours. */
export interface ReplyLookup {
  byMessageId(id: string): RepliedMail | undefined;
  bySubject(subject: string): RepliedMail | undefined;
}

export type IgnoredReason = "not-alarm-reply" | "own-mail" | "automatic" | "no-ack-word" | "already-acked" | "outdated";
export type RefusedReason = "unknown-sender" | "unknown-alarm" | "block-unavailable" | "unsaved";

/** What the block answered when asked to acknowledge an occurrence (`BlockNode.acknowledgeOccurrence`). */
export type AckOutcome = "acked" | "already-acked" | "outdated" | "unknown-alarm" | "block-unavailable" | "unsaved";

/**
 * What the inbox says about a reply: the msg's `event` and `reason`. Out of `judgeReply`, an `ack` is one to ask the
 * block for; out of `settle`, one the block took.
 */
export type Decision =
  | { event: "ack"; mail: RepliedMail }
  | { event: "ignored"; reason: IgnoredReason; mail?: RepliedMail }
  | { event: "refused"; reason: RefusedReason; mail: RepliedMail };

/**
 * The mail a reply answers: the ids of In-Reply-To, then of References newest first (a reply to the ack mail names the
 * root in References), then the subject. The first that is an alarm mail of this gateway wins.
 */
export function matchReply(reply: Reply, lookup: ReplyLookup): RepliedMail | undefined {
  const ids = [...reply.inReplyTo, ...[...reply.references].reverse()];
  for (const id of ids) {
    const found = lookup.byMessageId(id);
    if (found) return found;
  }
  return lookup.bySubject(reply.subject);
}

/**
 * The rules of the contract, in order: a mail of the gateway's own (an alarm mail that reached the watched mailbox,
 * which may answer an earlier one) is never an acknowledgement; a mail that answers no alarm mail of ours is not an
 * alarm reply; an automatic
 * answer acknowledges nothing; a sender the alarm mail did not go to is refused; a first line without an acknowledge
 * word is ignored. What is left is an ack for the block to take or refuse (`settle`).
 */
export function judgeReply(reply: Reply, lookup: ReplyLookup): Decision {
  const own = reply.messageId === undefined ? undefined : lookup.byMessageId(reply.messageId);
  if (own) return { event: "ignored", reason: "own-mail", mail: own };
  const mail = matchReply(reply, lookup);
  if (!mail) return { event: "ignored", reason: "not-alarm-reply" };
  if (reply.automatic) return { event: "ignored", reason: "automatic", mail };
  if (!reply.from || !mail.recipients.includes(reply.from)) return { event: "refused", reason: "unknown-sender", mail };
  if (!startsWithAckWord(firstLine(reply.text))) return { event: "ignored", reason: "no-ack-word", mail };
  return { event: "ack", mail };
}

/**
 * The block's answer as the inbox reports it: an occurrence already acknowledged, over or replaced is `ignored` (the
 * alarm needs nothing more); a block or alarm that is gone, or an ack the block could not save, is `refused`.
 */
export function settle(mail: RepliedMail, outcome: AckOutcome): Decision {
  switch (outcome) {
    case "acked":
      return { event: "ack", mail };
    case "already-acked":
    case "outdated":
      return { event: "ignored", reason: outcome, mail };
    default:
      return { event: "refused", reason: outcome, mail };
  }
}

/** The reply's new text, as `msg.payload` carries it. */
export function replyPayload(reply: Reply): string {
  return newText(reply.text);
}

/** The Message-IDs in a header value (`<a@b> <c@d>`), in the order written, without the angle brackets. */
export function messageIds(header: string | undefined): string[] {
  if (!header) return [];
  return [...header.matchAll(/<([^<>\s]+)>/g)].map((m) => m[1] ?? "").filter((id) => id !== "");
}

/**
 * The value of one header in a raw header block (as IMAP returns `BODY[HEADER.FIELDS (...)]`), unfolded; the first
 * when it occurs more than once.
 */
export function headerValue(raw: string, name: string): string | undefined {
  const unfolded = raw.replace(/\r?\n[ \t]+/g, " ");
  const wanted = name.toLowerCase();
  for (const line of unfolded.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === wanted) return line.slice(colon + 1).trim();
  }
  return undefined;
}

/** Reply and forward prefixes that clients put before a subject, in the languages of the catalogues and Outlook's. */
const SUBJECT_PREFIX = /^\s*(?:(?:re|aw|antw|fwd?|tr|wg|rif|sv|ref)\s*(?:\[\d+\])?\s*:\s*)+/i;

/** A subject without the "Re: ", "AW: ", "TR: " ... that replies and forwards put before it. */
export function baseSubject(subject: string): string {
  return subject.replace(SUBJECT_PREFIX, "").trim();
}

/** An alarm in alarm or awaiting an acknowledgement, as the subject fallback compares it. */
export interface SubjectCandidate {
  /** The block node's id. */
  block: string;
  alarm: string;
  label: string;
  priority: number;
  occurrence: string;
}

/**
 * The alarm a subject names when no header matched (a client that drops In-Reply-To and References). The block's
 * subject starts with the alarm's code, `[P<priority>] <label>`, then a colon (before it a space in French); the reply
 * matches when, without its Re:/AW:/TR: prefixes, it starts the same way. Only a code that exactly one alarm of the
 * gateway carries counts: two blocks with the same label and priority cannot be told apart by subject.
 */
export function matchSubject(subject: string, candidates: readonly SubjectCandidate[]): SubjectCandidate | undefined {
  const base = baseSubject(subject);
  const found = candidates.filter((c) => {
    const code = `[P${c.priority}] ${c.label}`;
    return base.startsWith(code) && /^\s*:/.test(base.slice(code.length));
  });
  return found.length === 1 ? found[0] : undefined;
}
