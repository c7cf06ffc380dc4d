import type { Node, NodeAPI } from "node-red";
import { CsvNode, type CsvNodeDef } from "./red/csv/CsvNode";

export = function register(RED: NodeAPI): void {
  function AlarmMailCsvNode(this: Node, def: CsvNodeDef) {
    RED.nodes.createNode(this, def);
    new CsvNode(RED, this, def);
  }
  RED.nodes.registerType("alarm-mail-csv", AlarmMailCsvNode);
};
