import { join } from "node:path";
import type { NodeAPI } from "node-red";
import { loadAckKey } from "../../lib/ack/AckKey";
import { AckSigner, type AckClaims } from "../../lib/ack/AckToken";
import { UsedTokens } from "../../lib/ack/UsedTokens";
import type { AckLinkSettings } from "../../lib/server/ServerSettings";
import { dataDir } from "../kit/storage";

/** The path of the acknowledge route under Node-RED's httpNode root. */
export const ACK_ROUTE = "/alarm-mail/ack/:token";

/** What signs and checks this gateway's links, and which links were used: one for the whole Node-RED. */
export interface AckState {
  signer: AckSigner;
  used: UsedTokens;
}

/** By data folder: a test runtime may load the nodes again with another folder. */
const states = new Map<string, Promise<AckState>>();
/** The server nodes deployed with an `ackBaseUrl`: without one, the route stands aside. */
const enabled = new Set<string>();

/**
 * The key (`<data>/ack/.key`, 0600) and the used-link record (`<data>/ack/used/`), opened at the first link made or
 * checked. A key that cannot be read or made is not retried at each link: the error stays until a restart.
 */
export function ackState(RED: NodeAPI): Promise<AckState> {
  const dir = dataDir(RED, "ack");
  let state = states.get(dir);
  if (!state) {
    state = (async () => {
      const signer = new AckSigner(await loadAckKey(dir));
      const used = await UsedTokens.open(join(dir, "used"), {
        onCorrupt: (corrupt) =>
          RED.log.warn(RED._("alarm-mail-server.ack.corrupt", { file: corrupt.file, offset: corrupt.offset })),
      });
      return { signer, used };
    })();
    states.set(dir, state);
  }
  return state;
}

/** A server node with an `ackBaseUrl` was deployed (true) or stopped (false). */
export function enableAckLinks(serverId: string, on: boolean): void {
  if (on) enabled.add(serverId);
  else enabled.delete(serverId);
}

export function ackLinksEnabled(): boolean {
  return enabled.size > 0;
}

/**
 * The link for `claims` (the expiry is the server's `ackLinkTtl` from now): `<ackBaseUrl><httpNodeRoot>alarm-mail/
 * ack/<token>`. Undefined when Node-RED serves no httpNode routes (`httpNodeRoot: false`), where no link could work.
 */
export async function ackUrl(
  RED: NodeAPI,
  settings: AckLinkSettings,
  claims: Omit<AckClaims, "expires">,
  now: number,
): Promise<string | undefined> {
  const root = (RED.settings as unknown as { httpNodeRoot?: unknown }).httpNodeRoot;
  if (root === false) return undefined;
  const prefix = typeof root === "string" ? root.replace(/\/+$/, "") : "";
  const { signer } = await ackState(RED);
  const token = signer.sign({ ...claims, expires: now + settings.ttlMs });
  return `${settings.baseUrl}${prefix}${ACK_ROUTE.replace(":token", token)}`;
}
