import type { Node, NodeAPI, NodeDef } from "node-red";
import { parseAddressList } from "../../lib/mail/AddressList";
import type { RecipientGroup } from "../../lib/mail/MailComposer";
import { describeError } from "../kit/i18n";

export interface RecipientsNodeDef extends NodeDef {
  to?: string;
  cc?: string;
  bcc?: string;
  subject?: string;
  body?: string;
  html?: string;
}

export interface RecipientsNode extends Node {
  recipients: RecipientList;
}

/** The runtime side of an `alarm-mail-recipients` config node: its addresses checked once, at deploy. */
export class RecipientList {
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
      };
    } catch (err) {
      this.configError = err instanceof Error ? err : new Error(String(err));
      node.error(describeError(RED, err));
    }
  }
}
