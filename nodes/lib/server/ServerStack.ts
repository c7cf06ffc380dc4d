import { OAuthClient, type OAuthSettings } from "../oauth/OAuthClient";
import { TokenProvider } from "../oauth/TokenProvider";
import type { TokenStore } from "../oauth/TokenStore";
import { SmtpTransport } from "../transport/SmtpTransport";
import type { ServerSettings } from "./ServerSettings";

/**
 * The token provider for a server's OAuth2 settings (`ServerSettings.oauth`, and its user as the account), over the
 * one token store. The deployed server and the dialog's test buttons both build it here.
 */
export function createTokenProvider(
  oauth: OAuthSettings & { refreshToken?: string },
  account: string | undefined,
  store: TokenStore,
  serverId: string,
): TokenProvider {
  return new TokenProvider(new OAuthClient(oauth), store, serverId, {
    flow: oauth.flow,
    ...(oauth.refreshToken ? { refreshToken: oauth.refreshToken } : {}),
    ...(account ? { account } : {}),
  });
}

/** The transport for a server's settings, asking `tokens` for every XOAUTH2 login when it signs in with OAuth2. */
export function createTransport(
  settings: ServerSettings,
  tokens?: Promise<TokenProvider> | TokenProvider,
): SmtpTransport {
  return new SmtpTransport({
    ...settings.connection,
    ...(tokens ? { tokens: { accessToken: async (renew: boolean) => (await tokens).accessToken(renew) } } : {}),
  });
}
