import type { NodeAPI } from "node-red";
import { RecipientList, type RecipientsNode, type RecipientsNodeDef } from "./red/recipients/RecipientsNode";

export = function register(RED: NodeAPI): void {
  function AlarmMailRecipientsNode(this: RecipientsNode, def: RecipientsNodeDef) {
    RED.nodes.createNode(this, def);
    this.recipients = new RecipientList(RED, this, def);
  }
  RED.nodes.registerType("alarm-mail-recipients", AlarmMailRecipientsNode);
};
