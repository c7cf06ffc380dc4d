import type { Node, NodeAPI } from "node-red";
import type { InboxCredentials } from "./lib/inbox/InboxSettings";
import { registerInboxEndpoints } from "./red/inbox/InboxEndpoints";
import { InboxNode, type InboxNodeDef } from "./red/inbox/InboxNode";

export = function register(RED: NodeAPI): void {
  function AlarmMailInboxNode(this: Node<InboxCredentials>, def: InboxNodeDef) {
    RED.nodes.createNode(this, def);
    new InboxNode(RED, this, def);
  }
  RED.nodes.registerType<Node<InboxCredentials>, InboxNodeDef, object, InboxCredentials>(
    "alarm-mail-inbox",
    AlarmMailInboxNode,
    {
      credentials: {
        user: { type: "text" },
        password: { type: "password" },
        ca: { type: "text" },
      },
    },
  );
  registerInboxEndpoints(RED);
};
