import type { NodeAPI } from "node-red";
import { BlockNode, type BlockNodeDef, type BlockNodeObject } from "./red/block/BlockNode";
import { registerBlockEndpoints } from "./red/block/BlockEndpoints";

export = function register(RED: NodeAPI): void {
  function AlarmMailBlockNode(this: BlockNodeObject, def: BlockNodeDef) {
    RED.nodes.createNode(this, def);
    this.alarmBlock = new BlockNode(RED, this, def);
  }
  RED.nodes.registerType("alarm-mail-block", AlarmMailBlockNode);
  registerBlockEndpoints(RED);
};
