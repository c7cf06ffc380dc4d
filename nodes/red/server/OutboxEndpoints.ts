import type { Request, Response } from "express";
import type { NodeAPI } from "node-red";
import type { OutboxEntry, SentEntry } from "../../lib/outbox/Outbox";
import { deployedNode } from "../kit/nodes";
import { OUTBOX_TOPIC, type ServerNode, type ServerNodeObject } from "./ServerNode";

interface ServerView {
  id: string;
  name: string;
  address: string;
  health: ServerNode["health"];
  queued: OutboxEntry[];
  failed: OutboxEntry[];
  sent: SentEntry[];
}

/**
 * The sent log: what each server's outbox holds (queued, failed, recently sent), never mail bodies; resend a failed
 * mail; purge failed mails and the log. Reading needs the read permission, changing needs write.
 */
export function registerOutboxEndpoints(RED: NodeAPI): void {
  const canRead = RED.auth.needsPermission("alarm-mail-server.read");
  const canWrite = RED.auth.needsPermission("alarm-mail-server.write");

  RED.httpAdmin.get("/alarm-mail/outbox", canRead, (_req: Request, res: Response) => {
    res.json({ servers: servers(RED).map(view) });
  });

  RED.httpAdmin.post("/alarm-mail/outbox/:server/resend", canWrite, (req: Request, res: Response) => {
    const server = find(RED, String(req.params.server));
    const id = (req.body as { id?: unknown } | undefined)?.id;
    if (!server || typeof id !== "string") {
      res.status(404).json({ ok: false });
      return;
    }
    void server.mailServer.resend(id).then((ok) => res.status(ok ? 200 : 404).json({ ok }));
  });

  RED.httpAdmin.post("/alarm-mail/outbox/:server/purge", canWrite, (req: Request, res: Response) => {
    const server = find(RED, String(req.params.server));
    const ids = (req.body as { ids?: unknown } | undefined)?.ids;
    const box = server?.mailServer.mailbox;
    if (!box) {
      res.status(404).json({ ok: false });
      return;
    }
    const list = Array.isArray(ids) ? ids.filter((id): id is string => typeof id === "string") : undefined;
    void box.purge(list).then((purged) => {
      RED.comms.publish(OUTBOX_TOPIC, { server: server.id }, false);
      res.json({ ok: true, purged });
    });
  });
}

function servers(RED: NodeAPI): ServerNodeObject[] {
  const found: ServerNodeObject[] = [];
  RED.nodes.eachNode((def) => {
    if (def.type !== "alarm-mail-server") return;
    const node = deployedNode<ServerNodeObject>(RED, def.id, "alarm-mail-server");
    if (node?.mailServer) found.push(node);
  });
  return found;
}

function find(RED: NodeAPI, id: string): ServerNodeObject | undefined {
  return servers(RED).find((node) => node.id === id);
}

function view(node: ServerNodeObject): ServerView {
  const box = node.mailServer.mailbox;
  return {
    id: node.id,
    name: node.name ?? "",
    address: node.mailServer.address,
    health: node.mailServer.health,
    queued: [...(box?.pending() ?? [])],
    failed: box?.failed() ?? [],
    sent: box?.sentLog() ?? [],
  };
}
