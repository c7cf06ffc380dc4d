import { AuthorizationCode, ClientCredentials, type AccessToken, type ModuleOptions } from "simple-oauth2";
import { MailError } from "../mail/MailError";

export type OAuthFlow = "authorization_code" | "device_code" | "client_credentials";

export interface OAuthSettings {
  flow: OAuthFlow;
  authorizeUrl?: string;
  tokenUrl: string;
  deviceUrl?: string;
  scope: string;
  clientId: string;
  /** Absent for public clients (device code, PKCE). */
  clientSecret?: string;
}

/** What a sign-in or a refresh gives; times in epoch ms. */
export interface TokenSet {
  accessToken: string;
  expiresAt: number;
  refreshToken?: string;
  scope?: string;
}

/** What the person at the dialog needs to sign a headless gateway in (RFC 8628). */
export interface DeviceAuthorization {
  deviceCode: string;
  userCode: string;
  verificationUri: string;
  verificationUriComplete?: string;
  expiresAt: number;
  interval: number;
}

interface TokenResponse {
  access_token?: unknown;
  expires_in?: unknown;
  refresh_token?: unknown;
  scope?: unknown;
  error?: unknown;
  error_description?: unknown;
}

const DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";

/**
 * The OAuth2 grants a mail gateway needs. Authorization code (with PKCE), client credentials and refresh go through
 * simple-oauth2; the device authorization grant, which it lacks, is a small client of its own.
 */
export class OAuthClient {
  constructor(private readonly settings: OAuthSettings) {}

  authorizationUrl(params: { redirectUri: string; state: string; codeChallenge: string }): string {
    return this.authorizationCode().authorizeURL({
      redirect_uri: params.redirectUri,
      scope: this.settings.scope,
      state: params.state,
      code_challenge: params.codeChallenge,
      code_challenge_method: "S256",
      // Google hands out a refresh token only with offline access and an explicit consent screen.
      access_type: "offline",
      prompt: "consent",
    } as Parameters<AuthorizationCode["authorizeURL"]>[0]);
  }

  async exchangeCode(params: { code: string; redirectUri: string; codeVerifier: string }): Promise<TokenSet> {
    const token = await call(() =>
      this.authorizationCode().getToken({
        code: params.code,
        redirect_uri: params.redirectUri,
        code_verifier: params.codeVerifier,
      } as Parameters<AuthorizationCode["getToken"]>[0]),
    );
    return tokenSet(token);
  }

  /**
   * Uses a refresh token. A provider that does not send a new refresh token (Google) keeps the old one valid, so it
   * is kept; one that rotates it (Microsoft) sends the new one, which replaces it.
   */
  async refresh(refreshToken: string): Promise<TokenSet> {
    const current = this.authorizationCode().createToken({ refresh_token: refreshToken, access_token: "" });
    const token = await call(() => current.refresh({ scope: this.settings.scope }));
    const fresh = tokenSet(token);
    return { ...fresh, refreshToken: fresh.refreshToken ?? refreshToken };
  }

  async clientCredentials(): Promise<TokenSet> {
    const client = new ClientCredentials(this.moduleOptions(false));
    return tokenSet(await call(() => client.getToken({ scope: this.settings.scope })));
  }

  async startDevice(now = Date.now()): Promise<DeviceAuthorization> {
    if (!this.settings.deviceUrl) throw new MailError("config-invalid", { field: "deviceUrl" });
    const body = await this.post(this.settings.deviceUrl, {
      client_id: this.settings.clientId,
      scope: this.settings.scope,
    });
    const {
      device_code,
      user_code,
      verification_uri,
      verification_url,
      verification_uri_complete,
      expires_in,
      interval,
    } = body as Record<string, unknown>;
    const uri = verification_uri ?? verification_url;
    if (typeof device_code !== "string" || typeof user_code !== "string" || typeof uri !== "string") {
      throw new MailError("oauth-failed", { reason: "the device authorization answer is incomplete" });
    }
    return {
      deviceCode: device_code,
      userCode: user_code,
      verificationUri: uri,
      ...(typeof verification_uri_complete === "string" ? { verificationUriComplete: verification_uri_complete } : {}),
      expiresAt: now + Number(expires_in ?? 900) * 1000,
      interval: Number(interval ?? 5) * 1000,
    };
  }

  /**
   * Polls the token endpoint until the person has approved, refused, or the code expired (RFC 8628 §3.4-3.5):
   * `authorization_pending` waits the interval, `slow_down` adds five seconds to it for good.
   */
  async pollDevice(
    device: DeviceAuthorization,
    options: { signal?: AbortSignal; now?: () => number } = {},
  ): Promise<TokenSet> {
    const now = options.now ?? Date.now;
    let interval = device.interval;
    for (;;) {
      await sleep(interval, options.signal);
      if (now() > device.expiresAt) throw new MailError("oauth-device-expired");
      const body = (await this.post(
        this.settings.tokenUrl,
        {
          grant_type: DEVICE_GRANT,
          device_code: device.deviceCode,
          client_id: this.settings.clientId,
          ...(this.settings.clientSecret ? { client_secret: this.settings.clientSecret } : {}),
        },
        true,
      )) as TokenResponse;
      switch (body.error) {
        case undefined:
          return fromResponse(body);
        case "authorization_pending":
          continue;
        case "slow_down":
          interval += 5000;
          continue;
        case "access_denied":
          throw new MailError("oauth-device-denied");
        case "expired_token":
          throw new MailError("oauth-device-expired");
        default:
          throw oauthError(body);
      }
    }
  }

  private authorizationCode(): AuthorizationCode {
    return new AuthorizationCode(this.moduleOptions());
  }

  private moduleOptions(withAuthorize = true): ModuleOptions {
    const token = new URL(this.settings.tokenUrl);
    const authorize = new URL(this.settings.authorizeUrl || this.settings.tokenUrl);
    return {
      client: { id: this.settings.clientId, secret: this.settings.clientSecret ?? "" },
      auth: {
        tokenHost: token.origin,
        tokenPath: token.pathname + token.search,
        ...(withAuthorize
          ? { authorizeHost: authorize.origin, authorizePath: authorize.pathname + authorize.search }
          : {}),
      },
      // Client id and secret in the body work with Microsoft, Google and public clients alike.
      options: { authorizationMethod: "body" },
    };
  }

  /** A form POST that answers JSON; with `errorsAreAnswers`, a 4xx body is the answer (device polling). */
  private async post(url: string, form: Record<string, string>, errorsAreAnswers = false): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
        body: new URLSearchParams(form).toString(),
      });
    } catch (err) {
      throw new MailError("oauth-unreachable", { url, reason: reasonOf(err) });
    }
    const body = (await response.json().catch(() => ({}))) as TokenResponse;
    if (!response.ok && !(errorsAreAnswers && response.status < 500 && typeof body.error === "string")) {
      throw oauthError(body, response.status);
    }
    return body;
  }
}

async function call(request: () => Promise<AccessToken>): Promise<AccessToken> {
  try {
    return await request();
  } catch (err) {
    const payload = (err as { data?: { payload?: unknown } }).data?.payload;
    const body = Buffer.isBuffer(payload) ? safeJson(payload.toString()) : payload;
    if (body && typeof body === "object") throw oauthError(body as TokenResponse);
    throw new MailError("oauth-unreachable", { url: "", reason: reasonOf(err) });
  }
}

function tokenSet(token: AccessToken): TokenSet {
  return fromResponse(token.token as TokenResponse);
}

function fromResponse(body: TokenResponse): TokenSet {
  if (typeof body.access_token !== "string") throw new MailError("oauth-failed", { reason: "no access token" });
  return {
    accessToken: body.access_token,
    expiresAt: Date.now() + Number(body.expires_in ?? 3600) * 1000,
    ...(typeof body.refresh_token === "string" && body.refresh_token ? { refreshToken: body.refresh_token } : {}),
    ...(typeof body.scope === "string" ? { scope: body.scope } : {}),
  };
}

/** `invalid_grant` means the sign-in is no longer valid: only signing in again helps, and the user must be told so. */
function oauthError(body: TokenResponse, status?: number): MailError {
  const reason = [body.error, body.error_description, status ? `HTTP ${status}` : ""].filter(Boolean).join(": ");
  if (body.error === "invalid_grant") return new MailError("oauth-invalid-grant", { reason });
  if (body.error === "invalid_client" || body.error === "unauthorized_client") {
    return new MailError("oauth-invalid-client", { reason });
  }
  return new MailError("oauth-failed", { reason: reason || "unknown" });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new MailError("oauth-device-cancelled"));
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(new MailError("oauth-device-cancelled"));
    });
  });
}
