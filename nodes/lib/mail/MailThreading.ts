import { createHash } from "node:crypto";
import { escapeHtml } from "./Template";

/**
 * The headers that put a mail in its alarm thread, as the outbox keeps them with the mail (so a mail queued before a
 * restart keeps them) and every transport writes them (nodemailer's options for SMTP, the MIME for Graph and Gmail).
 * docs/threads.md says why each one is there.
 */
export interface MailThreading {
  /** The thread's first mail: its own Message-ID on the root, what In-Reply-To names on every later mail. */
  root: string;
  /** Where the mail stands in its thread: 1 for the root. */
  position: number;
  /** The References field: the root, then the thread's latest mails, oldest first; empty on the root. */
  references: string[];
  /** Thread-Topic: the root's subject without a reply prefix, the conversation topic Outlook groups by. */
  topic: string;
  /** Thread-Index: Outlook's conversation index (base64), 22 bytes on the root and 27 on every later mail. */
  index: string;
}

/** What a mail's thread looked like before it: where the new mail goes. */
export interface ThreadSoFar {
  root: string;
  messageIds: readonly string[];
  /** The root's subject; absent in records written before subjects were kept. */
  subject?: string;
  /** When the root was queued (ms): the time in the conversation index's header. */
  startedAt: number;
}

/**
 * At most this many Message-IDs in References: the root and the latest ones. RFC 5322 lets it grow with every
 * reply; an occurrence with reminders every few minutes would make a header of kilobytes, and clients thread on the
 * root and the parent, which stay (the trimming rule of netnews, RFC 5537 section 3.4.4).
 */
export const MAX_REFERENCES = 10;

/** A reply or forward prefix, as Gmail, Outlook and Thunderbird each strip it (a few languages' forms too). */
const REPLY_PREFIX = /^\s*(?:re|fwd?|aw|wg|tr|sv|vs|antw|rif)\s*(?:\[\d+\])?\s*:\s*/i;

/**
 * The recipient group a thread belongs to: the recipients node's id ("msg" for a msg's own addresses), and with an
 * `individual` group the one recipient, since each of them then gets mails of their own. The one place where the send
 * path names a thread's group.
 */
export function threadGroup(groupNode: string | undefined, recipient?: string): string {
  const group = groupNode || "msg";
  return recipient ? `${group}/${recipient.toLowerCase()}` : group;
}

/** A subject without its reply and forward prefixes ("Re: Fwd: X" is "X"). */
export function topicOf(subject: string): string {
  let topic = subject;
  for (let match = REPLY_PREFIX.exec(topic); match; match = REPLY_PREFIX.exec(topic)) {
    topic = topic.slice(match[0].length);
  }
  return topic.trim();
}

/**
 * The subject of a later mail of a thread: the root's, after "Re: ". Gmail joins a mail to a thread only when its
 * subject matches the root's once such prefixes are ignored, and Outlook takes "Re: " off when it normalises; the
 * event the mail is about (acknowledged, back to normal) goes into the body's first line instead.
 */
export function replySubject(rootSubject: string): string {
  return `Re: ${topicOf(rootSubject)}`;
}

/** The References field of a new mail answering a thread: the root and the latest mails, at most `max` in all. */
export function referencesOf(messageIds: readonly string[], max = MAX_REFERENCES): string[] {
  if (messageIds.length <= max) return [...messageIds];
  return [messageIds[0], ...messageIds.slice(messageIds.length - (max - 1))];
}

/**
 * The threading of a mail: the root's when no mail of its thread came before, otherwise an answer to the root.
 * `subject` is the mail's own; a root without a known subject (an old record) lends it the mail's.
 */
export function threadingOf(
  before: ThreadSoFar | undefined,
  mail: { messageId: string; subject: string; at: number },
): MailThreading {
  if (!before || before.messageIds.length === 0) {
    return {
      root: mail.messageId,
      position: 1,
      references: [],
      topic: topicOf(mail.subject),
      index: conversationIndex(mail.messageId, mail.at),
    };
  }
  return {
    root: before.root,
    position: before.messageIds.length + 1,
    references: referencesOf(before.messageIds),
    topic: topicOf(before.subject ?? mail.subject),
    index: conversationIndex(before.root, before.startedAt, { messageId: mail.messageId, at: mail.at }),
  };
}

/** Milliseconds from 1601-01-01 (a FILETIME's epoch) to 1970-01-01. */
const FILETIME_EPOCH_MS = 11_644_473_600_000n;

function fileTime(ms: number): bigint {
  return (BigInt(Math.max(0, Math.round(ms))) + FILETIME_EPOCH_MS) * 10_000n;
}

/**
 * Outlook's conversation index (MS-OXOMSG 2.2.1.3, PidTagConversationIndex; the Thread-Index header of MS-OXCMAIL):
 * a 22-byte header (0x01, the top 40 bits of the root's FILETIME, a GUID for the conversation) and, for an answer, a
 * 5-byte response level (the time since the header's, a random nibble, a sequence nibble). Exchange and Outlook.com
 * derive the conversation from the GUID, so it is made from the root's Message-ID: every mail of a thread computes
 * the same header, after a restart too, with nothing more to keep than the root's time. Every later mail answers
 * the root (as its In-Reply-To says), so it has exactly one response level.
 */
export function conversationIndex(root: string, startedAt: number, reply?: { messageId: string; at: number }): string {
  const header = Buffer.alloc(22);
  header[0] = 0x01;
  const start = fileTime(startedAt) >> 24n;
  header.writeUIntBE(Number(start & 0xff_ffff_ffffn), 1, 5);
  createHash("sha256").update(root).digest().copy(header, 6, 0, 16);
  if (!reply) return header.toString("base64");

  const delta = fileTime(reply.at) - (start << 24n);
  const positive = delta > 0n ? delta : 0n;
  // Under about 1.7 years the delta's bits 18 to 48 are kept (code 0), beyond it bits 23 to 53 (code 1).
  const small = positive >> 49n === 0n;
  const bits = (small ? positive >> 18n : positive >> 23n) & 0x7fff_ffffn;
  const level = Buffer.alloc(5);
  level.writeUInt32BE(Number(bits) + (small ? 0 : 0x8000_0000), 0);
  // The random nibble from the mail's own Message-ID, so that a resent mail gets the same index; sequence nibble 0.
  level[4] = createHash("sha256").update(reply.messageId).digest()[0] & 0xf0;
  return Buffer.concat([header, level]).toString("base64");
}

/** A conversation index read back: its GUID (hex) and its times (ms), the header's first; for tests and tools. */
export function readConversationIndex(index: string): { guid: string; times: number[] } | undefined {
  const bytes = Buffer.from(index, "base64");
  if (bytes.length < 22 || (bytes.length - 22) % 5 !== 0 || bytes[0] !== 0x01) return undefined;
  const start = BigInt(bytes.readUIntBE(1, 5)) << 24n;
  const toMs = (ft: bigint) => Number(ft / 10_000n - FILETIME_EPOCH_MS);
  const times = [toMs(start)];
  for (let at = 22; at < bytes.length; at += 5) {
    const word = bytes.readUInt32BE(at);
    const code = word >>> 31;
    const value = BigInt(word & 0x7fff_ffff);
    times.push(toMs(start + (code === 0 ? value << 18n : value << 23n)));
  }
  return { guid: bytes.subarray(6, 22).toString("hex"), times };
}

/** The fields of a mail that its thread changes. */
interface ThreadableMail {
  messageId: string;
  subject: string;
  text: string;
  html?: string;
  thread?: MailThreading;
}

/**
 * A composed mail put in its thread (`before`: the thread as it was without it). The root keeps its subject; a later
 * mail takes the root's subject after "Re: ", and its own subject (what happened: acknowledged, back to normal)
 * becomes the first line of its body, unless it says the same as the root's.
 */
export function joinThread<M extends ThreadableMail>(mail: M, before: ThreadSoFar | undefined, at: number): M {
  const thread = threadingOf(before, { messageId: mail.messageId, subject: mail.subject, at });
  if (thread.root === mail.messageId) return { ...mail, thread };
  const own = mail.subject.trim();
  const first = own !== "" && topicOf(own) !== thread.topic ? own : "";
  return {
    ...mail,
    subject: replySubject(thread.topic),
    text: first === "" ? mail.text : [first, mail.text].filter((part) => part !== "").join("\n\n"),
    ...(mail.html && first !== "" ? { html: `<p><strong>${escapeHtml(first)}</strong></p>${mail.html}` } : {}),
    thread,
  };
}
