import type { Node, NodeAPI, NodeDef } from "node-red";
import { parseAddressList } from "../../lib/mail/AddressList";
import { MailError } from "../../lib/mail/MailError";
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

/**
 * The group that `msg.recipients` names: the id of a deployed `alarm-mail-recipients` node, else the name of exactly
 * one. A name that matches none or several is an error that says so, never a mail to the wrong people.
 */
export function recipientsNamed(RED: NodeAPI, idOrName: unknown): RecipientsNode {
  if (typeof idOrName !== "string" || idOrName.trim() === "") {
    throw new MailError("recipients-unknown", { name: typeof idOrName === "string" ? idOrName : typeof idOrName });
  }
  const byId = findRecipients(RED, idOrName);
  if (byId) return byId;
  const name = idOrName.trim();
  const named: string[] = [];
  RED.nodes.eachNode((def) => {
    if (def.type === "alarm-mail-recipients" && typeof def.name === "string" && def.name.trim() === name) {
      named.push(def.id);
    }
  });
  if (named.length > 1) throw new MailError("recipients-ambiguous", { name, count: named.length });
  const found = findRecipients(RED, named[0]);
  if (!found) throw new MailError("recipients-unknown", { name });
  return found;
}
