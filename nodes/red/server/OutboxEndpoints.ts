import type { Request, Response } from "express";
import type { NodeAPI } from "node-red";
import type { OutboxEntry, SentEntry } from "../../lib/outbox/Outbox";
import { describeError } from "../kit/i18n";
import { deployedNode } from "../kit/nodes";
import { readBody, routeNodeId, unknownNode } from "../kit/requests";
import { OUTBOX_TOPIC, type ServerNode, type ServerNodeObject } from "./ServerNode";

const CATALOGUE = "alarm-mail-server";

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
    const server = serverOf(RED, req, res);
    const body = server && readBody(RED, req, res, CATALOGUE, { id: { kind: "string", max: 1000 } });
    if (!server || !body) return;
    server.mailServer.resend(body.id).then(
      (ok) => res.status(ok ? 200 : 404).json({ ok }),
      (err: unknown) => failed(RED, res, err),
    );
  });

  // Without ids it purges every failed mail and the whole sent log: only an absent field means "all", never a
  // field of another shape.
  RED.httpAdmin.post("/alarm-mail/outbox/:server/purge", canWrite, (req: Request, res: Response) => {
    const server = serverOf(RED, req, res);
    const body = server && readBody(RED, req, res, CATALOGUE, { ids: { kind: "strings", optional: true } });
    const box = server?.mailServer.mailbox;
    if (!server || !body) return;
    if (!box) {
      unknownNode(RED, res, CATALOGUE, server.id);
      return;
    }
    box.purge(body.ids).then(
      (purged) => {
        RED.comms.publish(OUTBOX_TOPIC, { server: server.id }, false);
        res.json({ ok: true, purged });
      },
      (err: unknown) => failed(RED, res, err),
    );
  });
}

/**
 * The outbox could not record the change (a full disk, or a redeploy closing it): said to the sidebar, and never an
 * unhandled rejection, which would stop Node-RED.
 */
function failed(RED: NodeAPI, res: Response, err: unknown): void {
  res.status(500).json({ ok: false, message: describeError(RED, err) });
}

/** The deployed server a route names; undefined after answering 404. */
function serverOf(RED: NodeAPI, req: Request, res: Response): ServerNodeObject | undefined {
  const id = routeNodeId(RED, req, res, CATALOGUE, "server");
  if (id === undefined) return undefined;
  const found = servers(RED).find((node) => node.id === id);
  if (!found) unknownNode(RED, res, CATALOGUE, id);
  return found;
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
