import type { Node, NodeAPI } from "node-red";
import { ScreenshotNode, type ScreenshotCredentials, type ScreenshotNodeDef } from "./red/screenshot/ScreenshotNode";

export = function register(RED: NodeAPI): void {
  function AlarmMailScreenshotNode(this: Node<ScreenshotCredentials>, def: ScreenshotNodeDef) {
    RED.nodes.createNode(this, def);
    new ScreenshotNode(RED, this, def, this.credentials);
  }
  RED.nodes.registerType<Node<ScreenshotCredentials>, ScreenshotNodeDef, object, ScreenshotCredentials>(
    "alarm-mail-screenshot",
    AlarmMailScreenshotNode,
    { credentials: { username: { type: "text" }, password: { type: "password" } } },
  );
};
