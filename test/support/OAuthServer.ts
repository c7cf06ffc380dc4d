import { createPublicKey, randomUUID, verify } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { OAuth2Server } from "oauth2-mock-server" with { "resolution-mode": "import" };

interface Jwk {
  kid?: string;
  kty: string;
  n?: string;
  e?: string;
}

interface DeviceGrant {
  userCode: string;
  approved: boolean;
  denied: boolean;
  polls: number;
}

/**
 * A real OAuth2 server on loopback: oauth2-mock-server for the authorization code, refresh and client credentials
 * grants, with what a provider really does added in front of it: refresh tokens that rotate at every use and are
 * refused once used or revoked (`invalid_grant`), and the device authorization grant (RFC 8628) it lacks.
 */
export class OAuthServer {
  mock!: OAuth2Server;
  /** Token requests, counted by grant type. */
  readonly tokenRequests: Record<string, number> = {};
  /** Seconds the next tokens say they last (the JWT itself is valid for an hour). */
  expiresIn = 3600;
  url = "";
  private readonly front: Server;
  private readonly liveRefreshTokens = new Set<string>();
  private readonly devices = new Map<string, DeviceGrant>();

  constructor() {
    this.front = createServer((req, res) => void this.handle(req, res));
  }

  async start(): Promise<void> {
    // An ES module: loaded with import() from this CommonJS test code.
    const { OAuth2Server: Server } = await import("oauth2-mock-server");
    this.mock = new Server();
    await this.mock.issuer.keys.generate("RS256");
    await this.mock.start(0, "127.0.0.1");
    this.mock.service.on(
      "beforeResponse",
      (response: { body: Record<string, unknown>; statusCode: number }, req: { body: Record<string, string> }) =>
        this.rotate(response, req.body),
    );
    await new Promise<void>((resolve) => this.front.listen(0, "127.0.0.1", () => resolve()));
    this.url = `http://127.0.0.1:${(this.front.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.front.close(() => resolve()));
    await this.mock.stop();
  }

  get endpoints() {
    return {
      authorizeUrl: `${this.url}/authorize`,
      tokenUrl: `${this.url}/token`,
      deviceUrl: `${this.url}/devicecode`,
    };
  }

  /** Whether a bearer token was signed by this server's key and has not expired. */
  verifyAccessToken(token: string): boolean {
    const [header, payload, signature] = token.split(".");
    if (!header || !payload || !signature) return false;
    const { kid } = JSON.parse(Buffer.from(header, "base64url").toString()) as { kid?: string };
    const jwk = (this.mock.issuer.keys.toJSON() as Jwk[]).find((k) => k.kid === kid);
    if (!jwk) return false;
    const key = createPublicKey({ key: jwk as unknown as import("node:crypto").JsonWebKey, format: "jwk" });
    const signed = verify("RSA-SHA256", Buffer.from(`${header}.${payload}`), key, Buffer.from(signature, "base64url"));
    const { exp } = JSON.parse(Buffer.from(payload, "base64url").toString()) as { exp: number };
    return signed && exp * 1000 > Date.now();
  }

  approveDevice(userCode: string): void {
    for (const grant of this.devices.values()) if (grant.userCode === userCode) grant.approved = true;
  }

  denyDevice(userCode: string): void {
    for (const grant of this.devices.values()) if (grant.userCode === userCode) grant.denied = true;
  }

  /** What a provider does when an admin revokes the app's sessions: every refresh token stops working. */
  revokeAll(): void {
    this.liveRefreshTokens.clear();
  }

  /** Refresh tokens issued and not yet used or revoked. */
  get refreshTokens(): string[] {
    return [...this.liveRefreshTokens];
  }

  private rotate(response: { body: Record<string, unknown>; statusCode: number }, body: Record<string, string>): void {
    this.count(body.grant_type);
    if (body.grant_type === "refresh_token") {
      if (!this.liveRefreshTokens.delete(body.refresh_token)) {
        response.statusCode = 400;
        response.body = { error: "invalid_grant", error_description: "refresh token used or revoked" };
        return;
      }
    }
    response.body.expires_in = this.expiresIn;
    if (typeof response.body.refresh_token === "string") this.liveRefreshTokens.add(response.body.refresh_token);
  }

  private count(grant: string | undefined): void {
    const key = grant ?? "none";
    this.tokenRequests[key] = (this.tokenRequests[key] ?? 0) + 1;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await read(req);
    const path = (req.url ?? "").split("?")[0];
    const form = new URLSearchParams(body.toString());
    if (req.method === "POST" && path === "/devicecode") return this.startDevice(res);
    if (req.method === "POST" && path === "/token" && form.get("grant_type")?.includes("device_code")) {
      return this.pollDevice(form.get("device_code") ?? "", res);
    }
    // Everything else is the mock's.
    const upstream = await fetch(`${this.mock.issuer.url}${req.url ?? "/"}`, {
      method: req.method,
      headers: Object.fromEntries(
        Object.entries(req.headers).filter((e): e is [string, string] => typeof e[1] === "string" && e[0] !== "host"),
      ),
      ...(req.method === "GET" || req.method === "HEAD" ? {} : { body: new Uint8Array(body) }),
      redirect: "manual",
    });
    const headers: Record<string, string> = {};
    upstream.headers.forEach((value, name) => {
      if (name !== "content-length" && name !== "transfer-encoding") headers[name] = value;
    });
    res.writeHead(upstream.status, headers);
    res.end(Buffer.from(await upstream.arrayBuffer()));
  }

  private startDevice(res: ServerResponse): void {
    const deviceCode = randomUUID();
    const userCode = `${randomUUID().slice(0, 4)}-${randomUUID().slice(0, 4)}`.toUpperCase();
    this.devices.set(deviceCode, { userCode, approved: false, denied: false, polls: 0 });
    json(res, 200, {
      device_code: deviceCode,
      user_code: userCode,
      verification_uri: `${this.url}/device`,
      expires_in: 120,
      interval: 1,
    });
  }

  private async pollDevice(deviceCode: string, res: ServerResponse): Promise<void> {
    this.count("device_code");
    const grant = this.devices.get(deviceCode);
    if (!grant) return json(res, 400, { error: "invalid_grant" });
    grant.polls += 1;
    if (grant.denied) return json(res, 400, { error: "access_denied" });
    // The second poll is told to slow down, as providers do when a client polls too often.
    if (grant.polls === 2) return json(res, 400, { error: "slow_down" });
    if (!grant.approved) return json(res, 400, { error: "authorization_pending" });
    this.devices.delete(deviceCode);
    const refreshToken = randomUUID();
    this.liveRefreshTokens.add(refreshToken);
    json(res, 200, {
      access_token: await this.mock.issuer.buildToken({ scopesOrTransform: "https://outlook.office.com/SMTP.Send" }),
      token_type: "Bearer",
      expires_in: this.expiresIn,
      refresh_token: refreshToken,
    });
  }
}

function read(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
  });
}

function json(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

/**
 * A token introspection endpoint (RFC 7662) on loopback, which Dovecot asks about each XOAUTH2 token as it asks a
 * provider: `active` says whether a token is valid; every token asked about and every answer are kept, in order.
 */
export class TokenIntrospection {
  readonly shown = new Set<string>();
  readonly answers: boolean[] = [];
  private readonly server: Server;

  /** `username`: the mailbox an active token opens. */
  constructor(username: string, active: (token: string) => boolean) {
    this.server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => {
        const token = new URLSearchParams(body).get("token") ?? "";
        this.shown.add(token);
        const valid = active(token);
        this.answers.push(valid);
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify(valid ? { active: true, username } : { active: false }));
      });
    });
  }

  /** Listens on loopback; resolves with the endpoint's URL. */
  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", () => resolve()));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/introspect`;
  }

  close(): Promise<void> {
    return new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
