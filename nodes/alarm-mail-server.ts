import type { NodeAPI } from "node-red";
import type { ServerCredentials } from "./lib/server/ServerSettings";
import { registerAckEndpoints } from "./red/ack/AckEndpoints";
import { announceDataDir } from "./red/server/DataDirNotice";
import { registerOAuthEndpoints } from "./red/server/OAuthEndpoints";
import { registerOutboxEndpoints } from "./red/server/OutboxEndpoints";
import { registerServerEndpoints } from "./red/server/ServerEndpoints";
import { ServerNode, type ServerNodeObject, type ServerNodeDef } from "./red/server/ServerNode";
import { DATA_DIR_SETTING } from "./red/kit/storage";

export = function register(RED: NodeAPI): void {
  function AlarmMailServerNode(this: ServerNodeObject, def: ServerNodeDef) {
    RED.nodes.createNode(this, def);
    this.mailServer = new ServerNode(RED, this, def);
    this.on("close", (_removed: boolean, done: () => void) => {
      void this.mailServer.close().finally(done);
    });
  }
  RED.nodes.registerType<ServerNodeObject, ServerNodeDef, { [DATA_DIR_SETTING]: string }, ServerCredentials>(
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
      // The data folder of the whole package (outbox, alarm states, traces); the editor has no use for it.
      settings: { [DATA_DIR_SETTING]: { value: "", exportable: false } },
    },
  );
  announceDataDir(RED);
  registerServerEndpoints(RED);
  registerOutboxEndpoints(RED);
  registerOAuthEndpoints(RED);
  registerAckEndpoints(RED);
};
