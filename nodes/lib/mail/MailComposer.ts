import { randomUUID } from "node:crypto";
import { realpath, readFile, stat } from "node:fs/promises";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { parseAddressList, type AddressInput, type MailAddress } from "./AddressList";
import { MailError } from "./MailError";
import { escapeHtml, renderTemplate, type TemplateView } from "./Template";
import { isPlainFileName } from "../common/FileName";
import { typeName } from "../common/PlainObject";
import type { MailThreading } from "./MailThreading";
import { valueText } from "../common/ValueText";

/** A recipient group as configured: addresses already parsed, templates not yet rendered. */
export interface RecipientGroup {
  to: MailAddress[];
  cc: MailAddress[];
  bcc: MailAddress[];
  subject: string;
  body: string;
  html: string;
  /** One mail per recipient instead of one to all, so that each gets a link and an identity of their own. */
  individual?: boolean;
}

/** A link the default body ends with, when the group's templates do not place it themselves. */
export interface BodyLink {
  label: string;
  url: string;
}

/** The msg fields that the send node reads, named as in node-red-node-email where they overlap. */
export interface MessageFields {
  to?: AddressInput;
  cc?: AddressInput;
  bcc?: AddressInput;
  replyTo?: AddressInput;
  from?: AddressInput;
  topic?: unknown;
  payload?: unknown;
  html?: unknown;
  filename?: unknown;
  attachments?: unknown;
  priority?: unknown;
  /** The block's alarm, whose priority 1 (urgent) makes the mail urgent when msg.priority does not say. */
  alarm?: unknown;
}

/** Caps that keep one mail within what providers and phones accept; each breach names its limit. */
export interface MailLimits {
  maxAddresses: number;
  maxSubjectLength: number;
  maxBodyLength: number;
  maxAttachments: number;
  maxAttachmentBytes: number;
}

export const DEFAULT_LIMITS: Readonly<MailLimits> = {
  maxAddresses: 50,
  maxSubjectLength: 500,
  maxBodyLength: 100_000,
  maxAttachments: 10,
  maxAttachmentBytes: 10 * 1024 * 1024,
};

export interface SenderPolicy {
  from: MailAddress;
  /** msg.from is honoured only when the server's owner allows it: otherwise a flow could impersonate anyone. */
  allowMsgFrom: boolean;
  /** The one folder that `path` attachments may come from; none means a msg can never make us read a file. */
  attachmentFolder?: string;
  limits: MailLimits;
}

export type MailPriority = "high" | "normal" | "low";

export interface MailAttachment {
  filename: string;
  content: Buffer;
  contentType?: string;
  cid?: string;
}

/** A mail ready to deliver: plain data, so that it can be queued, persisted and retried as it is. */
export interface OutgoingMail {
  messageId: string;
  date: Date;
  from: MailAddress;
  replyTo: MailAddress[];
  to: MailAddress[];
  cc: MailAddress[];
  bcc: MailAddress[];
  subject: string;
  text: string;
  html?: string;
  attachments: MailAttachment[];
  priority: MailPriority;
  /** For a mail about an alarm occurrence: its place in the occurrence's thread (absent in older queued mails). */
  thread?: MailThreading;
}

const PRIORITIES: readonly MailPriority[] = ["high", "normal", "low"];

/**
 * Turns a recipient group and a msg into an OutgoingMail: renders the templates, merges addresses, checks every
 * header for CR/LF and every limit. It does no I/O towards the mail server, so composing errors are found before
 * anything is queued.
 */
export class MailComposer {
  constructor(private readonly policy: SenderPolicy) {}

  /**
   * `notes` are lines the mail must carry whatever its templates say, such as an attachment that could not be made:
   * they end the text body, and the HTML body as paragraphs. `link` (the acknowledge link) ends a body that no group
   * template wrote: a template places `{{ackUrl}}` where its author wants it, or leaves it out.
   */
  async compose(
    group: RecipientGroup | undefined,
    message: MessageFields,
    view: TemplateView,
    notes: readonly string[] = [],
    link?: BodyLink,
  ): Promise<OutgoingMail> {
    const { limits } = this.policy;
    const recipients = {
      to: this.recipients("to", message.to, group?.to),
      cc: this.recipients("cc", message.cc, group?.cc),
      bcc: this.recipients("bcc", message.bcc, group?.bcc),
    };
    if (recipients.to.length + recipients.cc.length + recipients.bcc.length === 0) {
      throw new MailError("address-missing");
    }

    const subject = group?.subject
      ? renderTemplate(group.subject, view, "text", "subject")
      : scalarText(message.topic, "msg.topic");
    if (/[\r\n]/.test(subject)) throw new MailError("header-crlf", { field: "subject" });
    if (subject.length > limits.maxSubjectLength) {
      throw new MailError("limit-subject", { length: subject.length, limit: limits.maxSubjectLength });
    }

    const attachments = await this.attachments(message.attachments);
    let text: string;
    if (group?.body) {
      text = renderTemplate(group.body, view, "text", "body");
    } else if (Buffer.isBuffer(message.payload)) {
      // node-red-node-email sends a Buffer payload as a file; keep that meaning for flows that move over.
      attachments.push({
        filename: headerText(textOf(message.filename, "filename") || "attachment.bin", "filename"),
        content: message.payload,
      });
      text = "";
    } else {
      text = textOf(message.payload, "body");
    }
    let html = group?.html ? renderTemplate(group.html, view, "html", "html") : textOf(message.html, "html");
    if (link && !group?.body && !Buffer.isBuffer(message.payload)) {
      text = [text, `${link.label}: ${link.url}`].filter((part) => part !== "").join("\n\n");
    }
    if (link && !group?.html && html !== "") {
      html += `<p><a href="${escapeHtml(link.url)}">${escapeHtml(link.label)}</a></p>`;
    }
    if (notes.length > 0) {
      text = [text, ...notes].filter((part) => part !== "").join("\n\n");
      if (html !== "") html += notes.map((note) => `<p>${escapeHtml(note)}</p>`).join("");
    }
    for (const body of [text, html]) {
      if (body.length > limits.maxBodyLength) {
        throw new MailError("limit-body", { length: body.length, limit: limits.maxBodyLength });
      }
    }
    this.checkAttachmentLimits(attachments);

    return {
      messageId: `<${randomUUID()}@${domainOf(this.policy.from.address)}>`,
      date: new Date(),
      from: this.sender(message.from),
      replyTo: parseAddressList(message.replyTo, "replyTo"),
      ...recipients,
      subject,
      text,
      ...(html ? { html } : {}),
      attachments,
      priority: priorityOf(message.priority, message.alarm),
    };
  }

  private recipients(field: "to" | "cc" | "bcc", fromMsg: AddressInput, fromGroup: MailAddress[] = []) {
    const fromMessage = parseAddressList(fromMsg, field);
    const list = fromMessage.length > 0 ? fromMessage : fromGroup;
    if (list.length > this.policy.limits.maxAddresses) {
      throw new MailError("limit-addresses", { field, count: list.length, limit: this.policy.limits.maxAddresses });
    }
    return list;
  }

  private sender(fromMsg: AddressInput): MailAddress {
    if (!this.policy.allowMsgFrom) return this.policy.from;
    const [first] = parseAddressList(fromMsg, "from");
    return first ?? this.policy.from;
  }

  private async attachments(input: unknown): Promise<MailAttachment[]> {
    return Promise.all(attachmentList(input).map((item, index) => this.attachment(item, index)));
  }

  private async attachment(item: unknown, index: number): Promise<MailAttachment> {
    if (item === null || typeof item !== "object") throw new MailError("attachment-invalid", { index });
    const spec = item as Record<string, unknown>;
    if (spec.href !== undefined || spec.raw !== undefined) {
      throw new MailError("attachment-href-refused", { index });
    }
    const filename =
      spec.filename === undefined ? undefined : headerText(scalarText(spec.filename, "filename"), "filename");
    const contentType =
      spec.contentType === undefined ? undefined : headerText(String(spec.contentType), "contentType");
    const cid = spec.cid === undefined ? undefined : headerText(String(spec.cid), "cid");
    const content =
      spec.path !== undefined
        ? await this.readAllowedFile(spec.path, index)
        : contentOf(spec.content, spec.encoding, index);
    const name = filename ?? (typeof spec.path === "string" ? spec.path.split(/[\\/]/).pop() : undefined);
    if (!name) throw new MailError("attachment-invalid", { index });
    // The reader's mail program may save it under this name: a name with folders in it is a path.
    if (!isPlainFileName(name))
      throw new MailError("attachment-name", { index, name: JSON.stringify(name).slice(1, -1) });
    return { filename: name, content, ...(contentType ? { contentType } : {}), ...(cid ? { cid } : {}) };
  }

  private async readAllowedFile(path: unknown, index: number): Promise<Buffer> {
    const folder = this.policy.attachmentFolder;
    if (!folder || typeof path !== "string") throw new MailError("attachment-path-refused", { index });
    const allowed = await realpath(folder).catch(() => undefined);
    const wanted = await realpath(isAbsolute(path) ? path : resolve(folder, path)).catch(() => undefined);
    const rel = allowed && wanted ? relative(allowed, wanted) : "..";
    if (!wanted || rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
      throw new MailError("attachment-path-refused", { index });
    }
    const info = await stat(wanted);
    if (info.size > this.policy.limits.maxAttachmentBytes) {
      throw new MailError("limit-attachment-size", { size: info.size, limit: this.policy.limits.maxAttachmentBytes });
    }
    return readFile(wanted);
  }

  private checkAttachmentLimits(attachments: MailAttachment[]): void {
    const { maxAttachments, maxAttachmentBytes } = this.policy.limits;
    if (attachments.length > maxAttachments) {
      throw new MailError("limit-attachments", { count: attachments.length, limit: maxAttachments });
    }
    const size = attachments.reduce((sum, a) => sum + a.content.length, 0);
    if (size > maxAttachmentBytes) {
      throw new MailError("limit-attachment-size", { size, limit: maxAttachmentBytes });
    }
  }
}

function textOf(value: unknown, field: string): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  try {
    return JSON.stringify(value, null, 2);
  } catch {
    throw new MailError("template-invalid", { field, reason: "not serialisable" });
  }
}

/**
 * A header from a msg field: text, or a number or boolean written as text. An object is not a subject: said as
 * such, rather than as the line break its JSON would hold.
 */
function scalarText(value: unknown, field: string): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  throw new MailError("field-type", { field, type: typeName(value) });
}

function headerText(value: string, field: string): string {
  if (/[\r\n]/.test(value)) throw new MailError("header-crlf", { field });
  return value;
}

function contentOf(content: unknown, encoding: unknown, index: number): Buffer {
  if (Buffer.isBuffer(content)) return content;
  if (typeof content === "string") {
    const known = typeof encoding === "string" && Buffer.isEncoding(encoding) ? encoding : "utf8";
    return Buffer.from(content, known);
  }
  // A Buffer that went through JSON (a file node, a context store, an HTTP body) arrives in this shape.
  if (content !== null && typeof content === "object") {
    const json = content as { type?: unknown; data?: unknown };
    if (json.type === "Buffer" && Array.isArray(json.data)) return Buffer.from(json.data as number[]);
    if (content instanceof Uint8Array) return Buffer.from(content);
  }
  throw new MailError("attachment-invalid", { index });
}

/**
 * msg.priority when it is set; otherwise an urgent alarm (priority 1) is a high-priority mail, which the transport
 * marks with X-Priority and Importance so that a phone can ring for it.
 */
function priorityOf(value: unknown, alarm: unknown): MailPriority {
  if (value === undefined || value === null || value === "") {
    return (alarm as { priority?: unknown } | null | undefined)?.priority === 1 ? "high" : "normal";
  }
  if (typeof value === "string" && (PRIORITIES as readonly string[]).includes(value)) return value as MailPriority;
  throw new MailError("priority-invalid", { value: typeof value === "string" ? value : valueText(value) });
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf("@") + 1).replace(/[[\]]/g, "") || "alarm-mail.invalid";
}

/**
 * What `msg.attachments` holds, as a list: nothing, one attachment object, or an array of them (as
 * node-red-node-email takes it). The attachers append to it; the composer checks each item.
 */
export function attachmentList(existing: unknown): unknown[] {
  if (existing === undefined || existing === null) return [];
  return Array.isArray(existing) ? existing : [existing];
}
