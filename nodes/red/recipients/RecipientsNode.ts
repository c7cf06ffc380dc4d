import type { Node, NodeAPI, NodeDef } from "node-red";
import { parseAddressList } from "../../lib/mail/AddressList";
import type { RecipientGroup } from "../../lib/mail/MailComposer";
import { reportConfigError } from "../kit/lifecycle";
import { deployedNode } from "../kit/nodes";

export interface RecipientsNodeDef extends NodeDef {
  to?: string;
  cc?: string;
  bcc?: string;
  subject?: string;
  body?: string;
  html?: string;
  individual?: boolean | string;
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
    try {
      const lines = { lineSeparated: true };
      this.group = {
        to: parseAddressList(def.to ?? "", "to", lines),
        cc: parseAddressList(def.cc ?? "", "cc", lines),
        bcc: parseAddressList(def.bcc ?? "", "bcc", lines),
        subject: def.subject ?? "",
        body: def.body ?? "",
        html: def.html ?? "",
        individual: def.individual === true || def.individual === "true",
      };
    } catch (err) {
      this.configError = reportConfigError(RED, node, err, { status: false });
    }
  }
}

/** The deployed `alarm-mail-recipients` node `id`. */
export function findRecipients(RED: NodeAPI, id: unknown): RecipientsNode | undefined {
  return deployedNode<RecipientsNodeObject>(RED, id, "alarm-mail-recipients")?.recipients;
}
