import type { Node, NodeAPI, NodeDef } from "node-red";
import { parseAddressList } from "../../lib/mail/AddressList";
import type { RecipientGroup } from "../../lib/mail/MailComposer";
import { describeError } from "../kit/i18n";
import { reportConfigError } from "../kit/lifecycle";
import { deployedNode } from "../kit/nodes";

export interface RecipientsNodeDef extends NodeDef {
  to?: string;
  cc?: string;
  bcc?: string;
  subject?: string;
  body?: string;
  html?: string;
}

/** The node object of an `alarm-mail-recipients` config node, carrying its runtime for the send nodes. */
export interface RecipientsNodeObject extends Node {
  recipients: RecipientsNode;
}

/** The runtime side of an `alarm-mail-recipients` config node: its addresses checked once, at deploy. */
export class RecipientsNode {
  readonly group?: RecipientGroup;
  readonly configError?: Error;

  constructor(RED: NodeAPI, node: Node, def: RecipientsNodeDef) {
    // Every field is checked, and every bad address named in one error: one deploy mends them all.
    const problems: unknown[] = [];
    const field = (text: string | undefined, name: "to" | "cc" | "bcc") => {
      try {
        return parseAddressList(text ?? "", name, { lineSeparated: true });
      } catch (err) {
        problems.push(err);
        return [];
      }
    };
    const group = {
      to: field(def.to, "to"),
      cc: field(def.cc, "cc"),
      bcc: field(def.bcc, "bcc"),
      subject: def.subject ?? "",
      body: def.body ?? "",
      html: def.html ?? "",
    };
    if (problems.length === 0) this.group = group;
    else {
      const error =
        problems.length === 1 ? problems[0] : new Error(problems.map((p) => describeError(RED, p)).join(" "));
      this.configError = reportConfigError(RED, node, error, { status: false });
    }
  }
}

/** The deployed `alarm-mail-recipients` node `id`. */
export function findRecipients(RED: NodeAPI, id: unknown): RecipientsNode | undefined {
  return deployedNode<RecipientsNodeObject>(RED, id, "alarm-mail-recipients")?.recipients;
}
