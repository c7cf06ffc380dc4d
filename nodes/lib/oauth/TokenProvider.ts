import { createHash } from "node:crypto";
import { MailError } from "../mail/MailError";
import type { OAuthClient, OAuthFlow, TokenSet } from "./OAuthClient";
import type { StoredTokens, TokenStore } from "./TokenStore";

export type SignInState =
  | { state: "signed-out" }
  | { state: "signed-in"; expiresAt: number; signedInAt: number; account?: string }
  | { state: "sign-in-again"; reason: string };

export interface TokenProviderOptions {
  flow: OAuthFlow;
  /** A refresh token pasted into the node's credentials; used until the store holds a newer one. */
  refreshToken?: string;
  account?: string;
  /** Renew this long before the access token expires, so that no mail waits for a refresh. */
  refreshMarginMs?: number;
  now?: () => number;
}

/** A token the server refused is renewed once; more refusals within this time reuse that renewal. */
const RENEW_COOLDOWN_MS = 5_000;

/**
 * The access token of one server node, shared by every pooled connection: one request at a time (a burst of mails
 * with an expired token makes one refresh, not one per connection), renewed before it expires, and every rotated
 * refresh token saved at once so that a restart goes on with the newest.
 */
export class TokenProvider {
  private cached?: StoredTokens;
  private inflight?: Promise<string>;
  private renewedAt = 0;
  private problem?: MailError;
  private readonly margin: number;
  private readonly now: () => number;
  private readonly seed?: string;

  constructor(
    private readonly client: OAuthClient,
    private readonly store: TokenStore,
    private readonly id: string,
    private readonly options: TokenProviderOptions,
  ) {
    this.margin = options.refreshMarginMs ?? 5 * 60_000;
    this.now = options.now ?? Date.now;
    if (options.refreshToken) this.seed = refreshTokenSeed(options.refreshToken);
  }

  /** A valid access token; `renew` when the server has just refused the current one. */
  accessToken(renew = false): Promise<string> {
    this.inflight ??= this.obtain(renew).finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** Keeps the tokens of a completed sign-in (authorization code or device code). */
  async signIn(tokens: TokenSet): Promise<void> {
    const stored: StoredTokens = {
      ...tokens,
      signedInAt: this.now(),
      ...(this.options.account ? { account: this.options.account } : {}),
      ...(this.seed ? { seed: this.seed } : {}),
    };
    await this.store.save(this.id, stored);
    this.cached = stored;
    this.problem = undefined;
  }

  /** Whether a person must sign in before a mail can go: a flow that signs in, without usable tokens. */
  async needsSignIn(): Promise<boolean> {
    if (this.options.flow === "client_credentials") return false;
    return (await this.status()).state !== "signed-in";
  }

  async status(): Promise<SignInState> {
    if (this.problem) return { state: "sign-in-again", reason: this.problem.message };
    const tokens = await this.tokens();
    if (!tokens) return { state: "signed-out" };
    return {
      state: "signed-in",
      expiresAt: tokens.expiresAt,
      signedInAt: tokens.signedInAt,
      ...(tokens.account ? { account: tokens.account } : {}),
    };
  }

  private async obtain(renew: boolean): Promise<string> {
    const now = this.now();
    let tokens = await this.tokens();
    const renewedJustNow = now - this.renewedAt < RENEW_COOLDOWN_MS;
    if (tokens && tokens.expiresAt - this.margin > now && (!renew || renewedJustNow)) return tokens.accessToken;
    try {
      const next = await this.fetchTokens(tokens);
      tokens = {
        ...next,
        signedInAt: tokens?.signedInAt ?? now,
        ...(this.options.account ? { account: this.options.account } : {}),
        ...(this.seed ? { seed: this.seed } : {}),
      };
      await this.store.save(this.id, tokens);
      this.cached = tokens;
      this.renewedAt = now;
      this.problem = undefined;
      return tokens.accessToken;
    } catch (err) {
      if (err instanceof MailError && (err.code === "oauth-invalid-grant" || err.code === "oauth-not-signed-in")) {
        this.problem = err;
      }
      throw err;
    }
  }

  private async fetchTokens(current: StoredTokens | undefined): Promise<TokenSet> {
    if (this.options.flow === "client_credentials") return this.client.clientCredentials();
    const refreshToken = current?.refreshToken;
    if (!refreshToken) throw new MailError("oauth-not-signed-in");
    return this.client.refresh(refreshToken);
  }

  /**
   * The stored tokens, unless the refresh token in the node's credentials was changed since they were stored:
   * then the user pasted a new one on purpose, and it wins.
   */
  private async tokens(): Promise<StoredTokens | undefined> {
    const stored = this.cached ?? (await this.store.load(this.id));
    const pasted = this.options.refreshToken;
    this.cached =
      pasted && stored?.seed !== this.seed
        ? { accessToken: "", expiresAt: 0, refreshToken: pasted, signedInAt: this.now(), seed: this.seed }
        : stored;
    return this.cached;
  }
}

/** What marks tokens as descending from a refresh token pasted into the node's credentials. */
export function refreshTokenSeed(refreshToken: string): string {
  return createHash("sha256").update(refreshToken).digest("base64");
}
