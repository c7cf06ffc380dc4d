import type { Node, NodeAPI } from "node-red";
import { ReportNode, type ReportNodeDef } from "./red/report/ReportNode";

export = function register(RED: NodeAPI): void {
  function AlarmMailReportNode(this: Node, def: ReportNodeDef) {
    RED.nodes.createNode(this, def);
    new ReportNode(RED, this, def);
  }
  RED.nodes.registerType("alarm-mail-report", AlarmMailReportNode);
};
