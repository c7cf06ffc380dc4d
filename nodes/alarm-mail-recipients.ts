import type { NodeAPI } from "node-red";
import { RecipientsNode, type RecipientsNodeDef, type RecipientsNodeObject } from "./red/recipients/RecipientsNode";

export = function register(RED: NodeAPI): void {
  function AlarmMailRecipientsNode(this: RecipientsNodeObject, def: RecipientsNodeDef) {
    RED.nodes.createNode(this, def);
    this.recipients = new RecipientsNode(RED, this, def);
  }
  RED.nodes.registerType("alarm-mail-recipients", AlarmMailRecipientsNode);
};
