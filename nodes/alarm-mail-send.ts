import type { Node, NodeAPI } from "node-red";
import { SendNode, type SendNodeDef } from "./red/send/SendNode";

export = function register(RED: NodeAPI): void {
  function AlarmMailSendNode(this: Node, def: SendNodeDef) {
    RED.nodes.createNode(this, def);
    new SendNode(RED, this, def);
  }
  RED.nodes.registerType("alarm-mail-send", AlarmMailSendNode);
};
