import type { NodeAPI } from "node-red";
import { TraceNode, type TraceNodeDef, type TraceNodeObject } from "./red/trace/TraceNode";

export = function register(RED: NodeAPI): void {
  function AlarmMailTraceNode(this: TraceNodeObject, def: TraceNodeDef) {
    RED.nodes.createNode(this, def);
    this.traceLog = new TraceNode(RED, this, def);
  }
  RED.nodes.registerType("alarm-mail-trace", AlarmMailTraceNode);
};
