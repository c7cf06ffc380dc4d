import type { NodeAPI } from "node-red";
import { TokenStore } from "../../lib/oauth/TokenStore";
import { dataDir } from "../kit/storage";

let store: Promise<TokenStore> | undefined;

/**
 * The one token store of this Node-RED: encrypted with the credentialSecret of settings.js when there is one, so
 * that the tokens are as safe as the credentials; otherwise with a key file of its own.
 */
export function tokenStore(RED: NodeAPI): Promise<TokenStore> {
  const secret = (RED.settings as unknown as { credentialSecret?: unknown }).credentialSecret;
  store ??= TokenStore.open(dataDir(RED, "tokens"), typeof secret === "string" && secret ? secret : undefined);
  return store;
}
