import type { Node, NodeAPI, NodeDef } from "node-red";
import { parseAddressList } from "../../lib/mail/AddressList";
import { MailError } from "../../lib/mail/MailError";
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
  /** The recipients node's id: what names its threads. */
  readonly id: string;

  constructor(RED: NodeAPI, node: Node, def: RecipientsNodeDef) {
    this.id = node.id;
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
      individual: def.individual === true || def.individual === "true",
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
