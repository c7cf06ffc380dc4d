import type { Node, NodeAPI, NodeContextData, NodeDef, NodeMessage, NodeMessageInFlow } from "node-red";
import { MailError } from "../lib/MailError";
import type { MessageFields } from "../lib/MailComposer";
import { timestampFields, type TemplateView } from "../lib/Template";
import { describeError, statusText } from "./i18n";
import type { RecipientsNode } from "./RecipientsNode";
import type { ServerNode } from "./ServerNode";

export interface SendNodeDef extends NodeDef {
  server?: string;
  recipients?: string;
  events?: string[] | string;
}

type Send = (msg: NodeMessage | Array<NodeMessage | null>) => void;
type Done = (err?: Error) => void;

/**
 * The runtime side of `alarm-mail-send`: composes a mail from the recipient group and the msg, hands it to the
 * server, and reports the outcome on output 1 (delivered) or output 2 with done(err) (failed).
 */
export class SendNode {
  private readonly events: string[];

  constructor(
    private readonly RED: NodeAPI,
    private readonly node: Node,
    private readonly def: SendNodeDef,
  ) {
    this.events = eventList(def.events);
    node.on("input", (msg, send, done) => void this.onInput(msg, send, done));
  }

  private async onInput(msg: NodeMessageInFlow, send: Send, done: Done): Promise<void> {
    if (this.events.length > 0 && typeof msg.event === "string" && !this.events.includes(msg.event)) {
      done();
      return;
    }
    const queuedAt = new Date();
    try {
      const server = this.server();
      const composer = server.composer;
      if (!composer) throw server.configError;
      const mail = await composer.compose(this.group(), msg as MessageFields, this.view(msg, queuedAt));
      this.node.status({ fill: "blue", shape: "dot", text: "alarm-mail-send.status.sending" });
      const receipt = await server.deliver(mail);
      msg.mail = { ...receipt, attempts: 1, queuedAt, sentAt: new Date() };
      const time = new Date().toLocaleTimeString();
      this.node.status(
        receipt.rejected.length > 0
          ? {
              fill: "yellow",
              shape: "dot",
              text: this.RED._("alarm-mail-send.status.partial", { count: receipt.rejected.length, time }),
            }
          : { fill: "green", shape: "dot", text: this.RED._("alarm-mail-send.status.sent", { time }) },
      );
      send([msg, null]);
      done();
    } catch (err) {
      const message = describeError(this.RED, err);
      const error = new Error(message);
      msg.error = { message, code: err instanceof MailError ? err.code : undefined };
      this.node.status({ fill: "red", shape: "ring", text: statusText(message) });
      send([null, msg]);
      done(error);
    }
  }

  private server() {
    const node = this.def.server ? (this.RED.nodes.getNode(this.def.server) as ServerNode | null) : null;
    if (!node) throw new MailError("config-missing", { field: "server" });
    return node.mailServer;
  }

  private group() {
    if (!this.def.recipients) return undefined;
    const node = this.RED.nodes.getNode(this.def.recipients) as RecipientsNode | null;
    if (!node) throw new MailError("config-missing", { field: "recipients" });
    if (!node.recipients.group) throw node.recipients.configError;
    return node.recipients.group;
  }

  /** Templates see the msg's fields at the top ({{payload}}, {{alarm.label}}) and flow/global context by name. */
  private view(msg: NodeMessageInFlow, now: Date): TemplateView {
    const context = this.node.context();
    return {
      ...msg,
      msg,
      flow: contextView(context.flow),
      global: contextView(context.global),
      ...timestampFields(now),
    };
  }
}

function contextView(store: NodeContextData): object {
  return new Proxy(
    {},
    {
      has: (_target, key) => typeof key === "string" && store.get(key) !== undefined,
      get: (_target, key) => (typeof key === "string" ? store.get(key) : undefined),
    },
  );
}

function eventList(events: SendNodeDef["events"]): string[] {
  const list = Array.isArray(events) ? events : (events ?? "").split(",");
  return list.map((e) => e.trim()).filter(Boolean);
}
