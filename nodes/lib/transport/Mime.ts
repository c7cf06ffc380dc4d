import MailComposer from "nodemailer/lib/mail-composer";
import type { MailAttachment, OutgoingMail } from "../mail/MailComposer";
import { toNodemailerMessage } from "./SmtpTransport";

/**
 * The MIME of a mail, built by nodemailer's composer from the same options as the SMTP transport gives it, so that a
 * mail looks the same whichever way it goes, with the outbox's Message-ID. Bcc stays in the headers: the HTTPS
 * services take the recipients from them (and strip the Bcc line before delivery); SMTP has its envelope instead.
 */
export function buildMime(mail: OutgoingMail, attachments: MailAttachment[] = mail.attachments): Promise<Buffer> {
  const node = new MailComposer({
    ...toNodemailerMessage(mail),
    attachments: attachments.map((a) => ({ ...a })),
  }).compile();
  node.keepBcc = true;
  return node.build();
}

/** Every recipient of a mail, as the receipt lists them: the HTTPS services accept all or none. */
export function recipientsOf(mail: OutgoingMail): string[] {
  return [...mail.to, ...mail.cc, ...mail.bcc].map((a) => a.address);
}
