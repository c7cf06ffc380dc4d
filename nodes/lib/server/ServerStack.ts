import { OAuthClient, type OAuthSettings } from "../oauth/OAuthClient";
import { TokenProvider } from "../oauth/TokenProvider";
import type { TokenStore } from "../oauth/TokenStore";
import { MailError } from "../mail/MailError";
import { GmailTransport } from "../transport/GmailTransport";
import { GraphTransport } from "../transport/GraphTransport";
import { SmtpTransport } from "../transport/SmtpTransport";
import type { AccessTokenSource, Transport } from "../transport/Transport";
import { DEFAULT_GMAIL_URL, type ServerSettings } from "./ServerSettings";

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

/**
 * The transport for a server's settings: SMTP (asking `tokens` for every XOAUTH2 login when it signs in with
 * OAuth2), Microsoft Graph or the Gmail API (a bearer token from `tokens` on every request).
 */
export function createTransport(settings: ServerSettings, tokens?: Promise<TokenProvider> | TokenProvider): Transport {
  const source: AccessTokenSource | undefined = tokens
    ? { accessToken: async (renew: boolean) => (await tokens).accessToken(renew) }
    : undefined;
  const { ca, rejectUnauthorized, servername, connectionTimeout, socketTimeout } = settings.connection;
  const https = { ca, rejectUnauthorized, servername, connectionTimeout, socketTimeout };
  if (settings.transport === "smtp") {
    // As many connections as the outbox delivers mails at once: none waits for a connection, none idles.
    return new SmtpTransport({
      ...settings.connection,
      maxConnections: settings.delivery.concurrency,
      ...(source ? { tokens: source } : {}),
    });
  }
  if (!source) throw new MailError("config-invalid", { field: "auth" });
  if (settings.graph) {
    return new GraphTransport({
      ...https,
      graphUrl: settings.graph.url,
      mailbox: settings.graph.mailbox,
      tokens: source,
    });
  }
  return new GmailTransport({ ...https, gmailUrl: settings.gmail?.url ?? DEFAULT_GMAIL_URL, tokens: source });
}
