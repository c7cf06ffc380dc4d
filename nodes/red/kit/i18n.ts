import type { NodeAPI } from "node-red";
import { AlarmError } from "../../lib/alarm/AlarmError";
import { MailError } from "../../lib/mail/MailError";

/** MailError messages live in one catalogue, the server node's, so the runtime and the editor say them alike. */
export const ERRORS = "@alarm-mail/node-red/alarm-mail-server:errors.";

/** An alarm block's errors live in the block's catalogue, beside its other texts. */
export const BLOCK_ERRORS = "@alarm-mail/node-red/alarm-mail-block:errors.";

/** The error in the runtime's language; errors that are not ours keep their own text. */
export function describeError(RED: NodeAPI, err: unknown): string {
  if (err instanceof MailError) return RED._(ERRORS + err.code, err.params);
  if (err instanceof AlarmError) return RED._(BLOCK_ERRORS + err.code, err.params);
  return err instanceof Error ? err.message : String(err);
}

/** A status line is short: the first sentence of the message, cut to fit under a node. */
export function statusText(text: string): string {
  const first = text.split(/(?<=[.!?])\s/)[0] ?? text;
  return first.length > 60 ? `${first.slice(0, 59)}…` : first;
}
