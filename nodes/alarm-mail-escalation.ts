import type { NodeAPI } from "node-red";
import { EscalationNode, type EscalationNodeDef, type EscalationNodeObject } from "./red/escalation/EscalationNode";

export = function register(RED: NodeAPI): void {
  function AlarmMailEscalationNode(this: EscalationNodeObject, def: EscalationNodeDef) {
    RED.nodes.createNode(this, def);
    this.escalation = new EscalationNode(RED, this, def);
  }
  RED.nodes.registerType("alarm-mail-escalation", AlarmMailEscalationNode);
};
