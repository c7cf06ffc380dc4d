import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { connect, type Socket } from "node:net";

/** An HTTP proxy on loopback that only tunnels (CONNECT), as a plant's outbound proxy does, and logs what it opened. */
export class ConnectProxy {
  readonly tunnels: string[] = [];
  url = "";
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  constructor() {
    this.server = createServer((_req, res) => {
      res.writeHead(405);
      res.end();
    });
    this.server.on("connect", (req, client) => {
      const authority = req.url ?? "";
      this.tunnels.push(authority);
      const [host, port] = [
        authority.slice(0, authority.lastIndexOf(":")),
        authority.slice(authority.lastIndexOf(":") + 1),
      ];
      this.sockets.add(client as Socket);
      const upstream = connect(Number(port), host, () => {
        client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        upstream.pipe(client);
        client.pipe(upstream);
      });
      this.sockets.add(upstream);
      upstream.on("error", () => client.destroy());
      client.on("error", () => upstream.destroy());
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", () => resolve()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.sockets.forEach((socket) => socket.destroy());
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
