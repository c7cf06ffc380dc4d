/**
 * The headers every mail of this package carries (alarm mails, reminders, escalations, digests, reports and the
 * dialog's test mail), so that out-of-office and other robots do not answer a gateway's mails: their answers would
 * flood the gateway's mailbox, which the inbox node reads for acknowledgements.
 *
 * - `Auto-Submitted: auto-generated` (RFC 3834 section 5): the mail comes from an automatic process and answers no
 *   other mail. Responders that follow RFC 3834 (Sieve vacation, Gmail, most list servers) must not reply to it.
 *   `auto-replied` is for answers to a mail, which none of ours is.
 * - `X-Auto-Response-Suppress: OOF, AutoReply` ([MS-OXCMAIL] 2.1.3.2.20): Exchange and Outlook send no
 *   out-of-office notice (OOF) and no other automatic reply (AutoReply) of a rule. Not `All`: it would also suppress
 *   non-delivery reports (NDR), and a bounce is how whoever reads the gateway's mailbox learns that an alarm reached
 *   no one at a dead address. Delivery and read receipts (DR, RN, NRN) are only sent when a mail asks for them, which
 *   ours never do, so naming them would change nothing.
 *
 * No msg field or template can set headers (the contract forbids header injection), so there is no user header of
 * the same name for these to give way to.
 */
export const AUTOMATED_MAIL_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "Auto-Submitted": "auto-generated",
  "X-Auto-Response-Suppress": "OOF, AutoReply",
});
