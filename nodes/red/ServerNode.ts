import type { Node, NodeAPI, NodeDef } from "node-red";
import { MailComposer } from "../lib/MailComposer";
import { parseServerSettings, type ServerConfig, type ServerCredentials } from "../lib/ServerSettings";
import { SmtpTransport, type DeliveryReceipt } from "../lib/SmtpTransport";
import type { OutgoingMail } from "../lib/MailComposer";
import { describeError } from "./i18n";

export type ServerNodeDef = NodeDef & ServerConfig;

/**
 * The runtime side of an `alarm-mail-server` config node: the composer that applies this server's sender and limits,
 * and the one pooled transport that every send node using this server shares.
 */
export class MailServer {
  readonly composer?: MailComposer;
  /** Why this server cannot send, when its settings are wrong: every send node reports it rather than guessing. */
  readonly configError?: Error;
  private readonly transport?: SmtpTransport;

  constructor(RED: NodeAPI, node: Node<ServerCredentials>, def: ServerNodeDef) {
    try {
      const settings = parseServerSettings(def, node.credentials ?? {});
      this.composer = new MailComposer(settings.sender);
      this.transport = new SmtpTransport(settings.connection);
    } catch (err) {
      this.configError = err instanceof Error ? err : new Error(String(err));
      node.error(describeError(RED, err));
    }
  }

  /** The single point where a composed mail leaves for the network; the durable outbox takes its place later. */
  async deliver(mail: OutgoingMail): Promise<DeliveryReceipt> {
    if (!this.transport) throw this.configError;
    return this.transport.send(mail);
  }

  close(): void {
    this.transport?.close();
  }
}

export interface ServerNode extends Node<ServerCredentials> {
  mailServer: MailServer;
}
