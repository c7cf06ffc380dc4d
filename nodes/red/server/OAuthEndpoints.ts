import { createHash, randomBytes } from "node:crypto";
import type { Request, Response } from "express";
import type { NodeAPI } from "node-red";
import { MailError } from "../../lib/mail/MailError";
import { OAuthClient, type OAuthSettings, type TokenSet } from "../../lib/oauth/OAuthClient";
import { parseServerSettings, type ServerConfig, type ServerCredentials } from "../../lib/server/ServerSettings";
import { refreshTokenSeed } from "../../lib/oauth/TokenProvider";
import { describeError } from "../kit/i18n";
import { readBody, routeNodeId, type BodySchema } from "../kit/requests";
import { withStoredSecrets } from "./ServerEndpoints";
import { findServer } from "./ServerNode";
import { tokenStore } from "./tokens";

interface SignInRequest {
  config?: ServerConfig;
  credentials?: ServerCredentials;
  redirectUri?: string;
}

/** A sign-in started from the dialog and not yet finished: what the callback needs, valid once, for ten minutes. */
interface PendingSignIn {
  serverId: string;
  oauth: OAuthSettings & { refreshToken?: string };
  account?: string;
  verifier: string;
  redirectUri: string;
  expiresAt: number;
}

type DeviceState =
  | { state: "pending"; userCode: string; verificationUri: string; verificationUriComplete?: string; expiresAt: number }
  | { state: "signed-in" }
  | { state: "failed"; code: string; params: Record<string, string | number>; message: string };

const CATALOGUE = "alarm-mail-server";
const SIGN_IN_BODY = {
  config: { kind: "record", optional: true },
  credentials: { kind: "record", optional: true, strings: true },
  redirectUri: { kind: "string", optional: true, max: 2000 },
} as const satisfies BodySchema;
const PENDING_MS = 10 * 60_000;
const pending = new Map<string, PendingSignIn>();
const devices = new Map<string, { status: DeviceState; abort: AbortController }>();

/**
 * Signing a server node in with OAuth2 from its dialog: the authorization code flow (state and PKCE; the browser
 * comes back to the callback, or the user pastes the address it landed on) and the device code flow (the runtime
 * polls while the user types a code on another device). Starting either needs the node's write permission.
 */
export function registerOAuthEndpoints(RED: NodeAPI): void {
  const canRead = RED.auth.needsPermission("alarm-mail-server.read");
  const canWrite = RED.auth.needsPermission("alarm-mail-server.write");

  RED.httpAdmin.post("/alarm-mail-server/:id/oauth/authorize", canWrite, (req: Request, res: Response) => {
    const id = routeNodeId(RED, req, res, CATALOGUE, "id");
    const checked = id === undefined ? undefined : readBody(RED, req, res, CATALOGUE, SIGN_IN_BODY);
    if (id === undefined || !checked) return;
    const body = checked as SignInRequest;
    void answer(RED, res, async () => {
      const { oauth, account } = oauthOf(RED, id, body);
      if (!body.redirectUri) throw new MailError("config-invalid", { field: "redirectUri" });
      const state = randomBytes(24).toString("base64url");
      const verifier = randomBytes(32).toString("base64url");
      const challenge = createHash("sha256").update(verifier).digest("base64url");
      sweep();
      pending.set(state, {
        serverId: id,
        oauth,
        ...(account ? { account } : {}),
        verifier,
        redirectUri: body.redirectUri,
        expiresAt: Date.now() + PENDING_MS,
      });
      return {
        url: new OAuthClient(oauth).authorizationUrl({
          redirectUri: body.redirectUri,
          state,
          codeChallenge: challenge,
        }),
      };
    });
  });

  // The provider sends the browser here. It cannot carry the editor's token, so the one-time state, bound to a
  // sign-in that a permitted user started, is what is checked.
  RED.httpAdmin.get("/alarm-mail-server/oauth/callback", (req: Request, res: Response) => {
    void complete(RED, String(req.query.state ?? ""), req.query.code, req.query.error).then(
      () => res.type("html").send(page(RED._("alarm-mail-server.oauth.done"))),
      (err: unknown) =>
        res
          .status(400)
          .type("html")
          .send(page(describeError(RED, err))),
    );
  });

  RED.httpAdmin.post("/alarm-mail-server/:id/oauth/callback", canWrite, (req: Request, res: Response) => {
    const id = routeNodeId(RED, req, res, CATALOGUE, "id");
    const body =
      id === undefined ? undefined : readBody(RED, req, res, CATALOGUE, { url: { kind: "string", max: 10_000 } });
    if (id === undefined || !body) return;
    void answer(RED, res, async () => {
      const pasted = new URL(body.url, "http://pasted.invalid");
      const state = pasted.searchParams.get("state") ?? "";
      if (pending.get(state)?.serverId !== id) throw new MailError("oauth-state-invalid");
      await complete(RED, state, pasted.searchParams.get("code"), pasted.searchParams.get("error"));
      return { message: RED._("alarm-mail-server.oauth.done") };
    });
  });

  RED.httpAdmin.post("/alarm-mail-server/:id/oauth/device", canWrite, (req: Request, res: Response) => {
    const id = routeNodeId(RED, req, res, CATALOGUE, "id");
    const checked = id === undefined ? undefined : readBody(RED, req, res, CATALOGUE, SIGN_IN_BODY);
    if (id === undefined || !checked) return;
    const body = checked as SignInRequest;
    void answer(RED, res, async () => {
      const { oauth, account } = oauthOf(RED, id, body);
      const client = new OAuthClient(oauth);
      const device = await client.startDevice();
      devices.get(id)?.abort.abort();
      const abort = new AbortController();
      const status: DeviceState = {
        state: "pending",
        userCode: device.userCode,
        verificationUri: device.verificationUri,
        ...(device.verificationUriComplete ? { verificationUriComplete: device.verificationUriComplete } : {}),
        expiresAt: device.expiresAt,
      };
      devices.set(id, { status, abort });
      void client
        .pollDevice(device, { signal: abort.signal })
        .then(async (tokens) => {
          await saveSignIn(RED, id, tokens, oauth, account);
          devices.set(id, { status: { state: "signed-in" }, abort });
        })
        .catch((err: unknown) => {
          if (abort.signal.aborted) return;
          const code = err instanceof MailError ? err.code : "oauth-failed";
          const params = err instanceof MailError ? err.params : {};
          devices.set(id, { status: { state: "failed", code, params, message: describeError(RED, err) }, abort });
        });
      return status;
    });
  });

  RED.httpAdmin.get("/alarm-mail-server/:id/oauth/status", canRead, (req: Request, res: Response) => {
    const id = routeNodeId(RED, req, res, CATALOGUE, "id");
    if (id === undefined) return;
    void answer(RED, res, async () => {
      const deployed = findServer(RED, id)?.tokens;
      const stored = deployed ? undefined : await (await tokenStore(RED)).load(id);
      const signIn = deployed
        ? await (await deployed).status()
        : stored
          ? { state: "signed-in", expiresAt: stored.expiresAt, signedInAt: stored.signedInAt, account: stored.account }
          : { state: "signed-out" };
      return { signIn, device: devices.get(id)?.status };
    });
  });
}

function oauthOf(
  RED: NodeAPI,
  id: string,
  body: SignInRequest,
): { oauth: OAuthSettings & { refreshToken?: string }; account?: string } {
  const settings = parseServerSettings(
    { ...body.config, auth: "oauth2" },
    withStoredSecrets(RED, id, body.credentials),
  );
  if (!settings.oauth) throw new MailError("config-invalid", { field: "auth" });
  return { oauth: settings.oauth, ...(settings.connection.user ? { account: settings.connection.user } : {}) };
}

async function complete(RED: NodeAPI, state: string, code: unknown, error: unknown): Promise<void> {
  const signIn = pending.get(state);
  pending.delete(state);
  if (!signIn || signIn.expiresAt < Date.now()) throw new MailError("oauth-state-invalid");
  if (typeof error === "string" && error) throw new MailError("oauth-failed", { reason: error });
  if (typeof code !== "string" || !code) throw new MailError("oauth-failed", { reason: "no code" });
  const tokens = await new OAuthClient(signIn.oauth).exchangeCode({
    code,
    redirectUri: signIn.redirectUri,
    codeVerifier: signIn.verifier,
  });
  await saveSignIn(RED, signIn.serverId, tokens, signIn.oauth, signIn.account);
}

/**
 * A deployed server takes the tokens itself (and resumes its queue); otherwise they wait in the store for its deploy,
 * marked as newer than any refresh token pasted into its credentials.
 */
async function saveSignIn(
  RED: NodeAPI,
  id: string,
  tokens: TokenSet,
  oauth: OAuthSettings & { refreshToken?: string },
  account?: string,
): Promise<void> {
  const deployed = findServer(RED, id);
  if (deployed?.tokens) {
    await deployed.signedIn(tokens);
    return;
  }
  await (
    await tokenStore(RED)
  ).save(id, {
    ...tokens,
    signedInAt: Date.now(),
    ...(account ? { account } : {}),
    ...(oauth.refreshToken ? { seed: refreshTokenSeed(oauth.refreshToken) } : {}),
  });
}

function sweep(): void {
  const now = Date.now();
  for (const [state, signIn] of pending) if (signIn.expiresAt < now) pending.delete(state);
}

async function answer(RED: NodeAPI, res: Response, action: () => Promise<object>): Promise<void> {
  try {
    res.json({ ok: true, ...(await action()) });
  } catch (err) {
    const mailError = err instanceof MailError ? err : undefined;
    res.status(mailError?.code === "oauth-state-invalid" ? 400 : 200).json({
      ok: false,
      code: mailError?.code ?? "oauth-failed",
      params: mailError?.params ?? {},
      message: describeError(RED, err),
    });
  }
}

function page(text: string): string {
  const escaped = text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Alarm Mail</title></head><body><p>${escaped}</p></body></html>`;
}
