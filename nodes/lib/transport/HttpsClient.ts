import http, { type IncomingHttpHeaders } from "node:http";
import https from "node:https";
import type { Socket } from "node:net";
import tls from "node:tls";
import { proxyFor, type Env } from "./proxy";
import { tcpReachable } from "./reachable";

/** How to reach an HTTPS service: the trust settings of the server node, its timeouts, and the environment's proxy. */
export interface HttpsSettings {
  /** PEM text of the certificate authorities to trust in addition to the system's. */
  ca?: string;
  rejectUnauthorized: boolean;
  /** The TLS name to check when the URL names an IP address. */
  servername?: string;
  connectionTimeout: number;
  socketTimeout: number;
}

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface HttpRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

/**
 * A small HTTPS client on Node's own `https`: the server node's CA and TLS name, keep-alive connections, timeouts
 * that end in a system error the fault classifier knows, and `HTTPS_PROXY` / `NO_PROXY` (an HTTP CONNECT tunnel) as
 * Node-RED's own HTTP nodes honour them. Node's `fetch` cannot take a CA without undici, which is not a dependency.
 */
export class HttpsClient {
  private readonly agent: https.Agent;
  private readonly plainAgent = new http.Agent({ keepAlive: true });

  constructor(
    private readonly settings: HttpsSettings,
    private readonly env: Env = process.env,
  ) {
    this.agent = new https.Agent({ keepAlive: true, ...this.tlsOptions() });
  }

  /** Whether the service at `url` (or the proxy in front of it) takes a TCP connection. */
  reachable(url: URL): Promise<boolean> {
    const secure = url.protocol === "https:";
    const proxy = secure ? proxyFor(url, this.env) : undefined;
    const target = proxy ?? url;
    const port = Number(target.port) || (target.protocol === "https:" ? 443 : 80);
    return tcpReachable(target.hostname, port, Math.min(this.settings.connectionTimeout, 5_000));
  }

  async request(req: HttpRequest): Promise<HttpAnswer> {
    const url = new URL(req.url);
    const secure = url.protocol === "https:";
    // Only https goes through the proxy: a plain http URL is a service on the plant network (or a test double).
    const proxy = secure ? proxyFor(url, this.env) : undefined;
    const tunnel = proxy ? await this.tunnel(proxy, url) : undefined;
    const body = req.body === undefined ? undefined : Buffer.from(req.body);
    const options: https.RequestOptions = {
      method: req.method,
      headers: { ...req.headers, ...(body ? { "content-length": String(body.length) } : {}) },
      timeout: this.settings.connectionTimeout,
      ...(secure ? this.tlsOptions(url) : {}),
      ...(tunnel
        ? { agent: false, createConnection: () => tls.connect({ ...this.tlsOptions(url), socket: tunnel }) }
        : { agent: secure ? this.agent : this.plainAgent }),
    };
    return new Promise<HttpAnswer>((resolve, reject) => {
      const request = (secure ? https : http).request(url, options, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      });
      // Connecting is bounded by the connect timeout; once connected, the socket timeout bounds silence.
      request.on("socket", (socket: Socket) => {
        const connected = () => request.setTimeout(this.settings.socketTimeout);
        if (socket.connecting) socket.once("connect", connected);
        else connected();
      });
      request.on("timeout", () => request.destroy(timeoutError(url.host)));
      request.on("error", reject);
      request.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
    this.plainAgent.destroy();
  }

  private tlsOptions(url?: URL): tls.ConnectionOptions {
    return {
      rejectUnauthorized: this.settings.rejectUnauthorized,
      minVersion: "TLSv1.2",
      ...(this.settings.ca ? { ca: this.settings.ca } : {}),
      ...(this.settings.servername
        ? { servername: this.settings.servername }
        : url && !/^[\d.]+$|:/.test(url.hostname)
          ? { servername: url.hostname }
          : {}),
      ...(url ? { host: url.hostname, port: Number(url.port || 443) } : {}),
    };
  }

  /** An HTTP CONNECT tunnel through the proxy to the service; TLS then runs end to end inside it. */
  private tunnel(proxy: URL, url: URL): Promise<Socket> {
    const authority = `${url.hostname}:${url.port || 443}`;
    const auth = proxy.username
      ? {
          "proxy-authorization": `Basic ${Buffer.from(
            `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`,
          ).toString("base64")}`,
        }
      : {};
    return new Promise((resolve, reject) => {
      const connect = (proxy.protocol === "https:" ? https : http).request({
        host: proxy.hostname,
        port: proxy.port || (proxy.protocol === "https:" ? 443 : 80),
        method: "CONNECT",
        path: authority,
        headers: { host: authority, ...auth },
        timeout: this.settings.connectionTimeout,
        agent: false,
      });
      connect.once("connect", (res, socket) => {
        if (res.statusCode === 200) return resolve(socket);
        socket.destroy();
        reject(
          Object.assign(new Error(`proxy ${proxy.host} answered ${res.statusCode ?? 0} to CONNECT`), {
            code: "EPROXY",
          }),
        );
      });
      connect.once("timeout", () => connect.destroy(timeoutError(proxy.host)));
      connect.once("error", reject);
      connect.end();
    });
  }
}

function timeoutError(what: string): Error {
  return Object.assign(new Error(`${what} timed out`), { code: "ETIMEDOUT" });
}
