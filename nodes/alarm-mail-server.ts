import type { NodeAPI } from "node-red";
import type { ServerCredentials } from "./lib/server/ServerSettings";
import { registerOAuthEndpoints } from "./red/server/OAuthEndpoints";
import { registerOutboxEndpoints } from "./red/server/OutboxEndpoints";
import { registerServerEndpoints } from "./red/server/ServerEndpoints";
import { ServerNode, type ServerNodeObject, type ServerNodeDef } from "./red/server/ServerNode";

export = function register(RED: NodeAPI): void {
  function AlarmMailServerNode(this: ServerNodeObject, def: ServerNodeDef) {
    RED.nodes.createNode(this, def);
    this.mailServer = new ServerNode(RED, this, def);
    this.on("close", (_removed: boolean, done: () => void) => {
      void this.mailServer.close().finally(done);
    });
  }
  RED.nodes.registerType<ServerNodeObject, ServerNodeDef, object, ServerCredentials>(
    "alarm-mail-server",
    AlarmMailServerNode,
    {
      credentials: {
        user: { type: "text" },
        password: { type: "password" },
        ca: { type: "text" },
        clientId: { type: "text" },
        clientSecret: { type: "password" },
        refreshToken: { type: "password" },
      },
    },
  );
  registerServerEndpoints(RED);
  registerOutboxEndpoints(RED);
  registerOAuthEndpoints(RED);
};
