import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

const TLS = join(__dirname, "..", "fixtures", "tls");

/** The CA that signed the test servers' certificate: what a server node's `ca` credential must hold to trust them. */
export const TEST_CA = readFileSync(join(TLS, "ca.pem"), "utf8");

/** An answer the test decides in advance, given to the next request of a kind instead of the service's own. */
export interface ScriptedAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: object;
}

export interface ApiRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage["headers"];
  body: Buffer;
  token: string;
}

/**
 * A loopback HTTPS server with the test certificate (for `localhost`), which checks bearer tokens with the test's
 * OAuth2 server, counts the requests in flight per mailbox, and can be told to give scripted answers: the common part
 * of the Graph and Gmail doubles.
 */
export abstract class ApiServer {
  url = "";
  /** Requests in flight now, and the most seen at once, per mailbox. */
  readonly inFlight = new Map<string, number>();
  readonly maxInFlight = new Map<string, number>();
  /** Every request, in arrival order, as "METHOD path" and its status. */
  readonly log: Array<{ line: string; status: number }> = [];
  /** How long each answer takes, like a real service. */
  delayMs = 0;
  /** Answers for the next requests, in order, whatever they ask. */
  readonly script: ScriptedAnswer[] = [];
  /** Requests that are carried out but whose answer is lost: the connection drops instead ("METHOD path"). */
  loseAnswer?: (line: string) => boolean;
  /** The next this many tokens are refused with 401, as a token revoked before its expiry is. */
  refuseTokens = 0;
  private readonly server: Server;

  constructor(private readonly verifyToken: (token: string) => boolean) {
    this.server = createServer(
      { key: readFileSync(join(TLS, "server.key")), cert: readFileSync(join(TLS, "server.pem")) },
      (req, res) => void this.serve(req, res),
    );
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, "localhost", () => resolve()));
    this.url = `https://localhost:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The scopes a token was issued with (its `scope` claim). */
  protected scopes(token: string): string[] {
    try {
      const payload = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()) as { scope?: string };
      return (payload.scope ?? "").split(" ");
    } catch {
      return [];
    }
  }

  /** The service's own answer; `mailbox` names whose concurrency the request counts against. */
  protected abstract handle(req: ApiRequest): Promise<ScriptedAnswer> | ScriptedAnswer;
  protected abstract mailboxOf(path: string): string;
  /** Requests that carry no token (Graph's pre-authorised upload URLs). */
  protected unauthenticated(path: string): boolean {
    return path.includes("/upload-sessions/");
  }
  protected abstract unauthorized(): ScriptedAnswer;

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.url);
    const mailbox = this.mailboxOf(url.pathname);
    const now = (this.inFlight.get(mailbox) ?? 0) + 1;
    this.inFlight.set(mailbox, now);
    this.maxInFlight.set(mailbox, Math.max(now, this.maxInFlight.get(mailbox) ?? 0));
    try {
      const body = await read(req);
      if (this.delayMs) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1] ?? "";
      let answer: ScriptedAnswer;
      if (!this.unauthenticated(url.pathname) && (!token || !this.verifyToken(token) || this.refuse())) {
        answer = this.unauthorized();
      } else {
        const scripted = this.script.shift();
        answer =
          scripted ??
          (await this.handle({
            method: req.method ?? "GET",
            path: url.pathname,
            query: url.searchParams,
            headers: req.headers,
            body,
            token,
          }));
      }
      const line = `${req.method ?? ""} ${url.pathname}`;
      this.log.push({ line, status: answer.status });
      if (this.loseAnswer?.(line)) {
        res.socket?.destroy();
        return;
      }
      res.writeHead(answer.status, {
        ...(answer.body ? { "content-type": "application/json" } : {}),
        ...answer.headers,
      });
      res.end(answer.body ? JSON.stringify(answer.body) : undefined);
    } finally {
      this.inFlight.set(mailbox, (this.inFlight.get(mailbox) ?? 1) - 1);
    }
  }

  private refuse(): boolean {
    if (this.refuseTokens <= 0) return false;
    this.refuseTokens -= 1;
    return true;
  }
}

function read(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** The header block of a MIME message, unfolded, by lower-case name. */
export function mimeHeaders(mime: Buffer): Map<string, string> {
  const head = mime
    .toString("utf8")
    .split(/\r?\n\r?\n/)[0]
    .replace(/\r?\n[ \t]+/g, " ");
  const headers = new Map<string, string>();
  for (const line of head.split(/\r?\n/)) {
    const at = line.indexOf(":");
    if (at > 0) headers.set(line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim());
  }
  return headers;
}
