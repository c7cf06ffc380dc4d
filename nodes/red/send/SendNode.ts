import type { Node, NodeAPI, NodeContextData, NodeDef, NodeMessage, NodeMessageInFlow, NodeStatus } from "node-red";
import type { QueueHealth } from "../../lib/outbox/DeliveryScheduler";
import type { DigestItem } from "../../lib/digest/DigestBuffer";
import { digestHtml, digestLines, digestText } from "../../lib/digest/DigestMail";
import type { BodyLink, MessageFields, OutgoingMail, RecipientGroup } from "../../lib/mail/MailComposer";
import { MailError } from "../../lib/mail/MailError";
import { eventOrderOf, type EventOrder } from "../../lib/outbox/EventOrder";
import type { OutboxEntry, SentEntry, StoredMail } from "../../lib/outbox/Outbox";
import type { DeliveryReceipt } from "../../lib/transport/SmtpTransport";
import { timestampFields, type TemplateView } from "../../lib/mail/Template";
import { DigestCollector } from "./DigestCollector";
import { readDuration } from "../../lib/common/Duration";
import { describeError, statusText } from "../kit/i18n";
import { findRecipients } from "../recipients/RecipientsNode";
import { ackUrl } from "../server/ackLinks";
import { findServer, type OutboxListener, type ServerNode } from "../server/ServerNode";

export interface SendNodeDef extends NodeDef {
  server?: string;
  recipients?: string;
  events?: string[] | string;
  /** Flood control: collect msgs for this many ms into one mail (0 = off). */
  digest?: number | string;
  /** Alarms of this priority or more urgent (1) skip the digest (0 = none do). */
  digestBypass?: number | string;
}

type Send = (msg: NodeMessage | Array<NodeMessage | null>) => void;
type Done = (err?: Error) => void;

/** A msg whose mail is queued, with the callbacks that report its outcome once the outbox has delivered it. */
interface Waiting {
  msg: NodeMessageInFlow;
  send: Send;
  done: Done;
}

const MAIL_PRIORITY_RANK = { high: 1, normal: 3, low: 4 } as const;
const STATUS_INTERVAL_MS = 250;

/**
 * The runtime side of `alarm-mail-send`: composes a mail from the recipient group and the msg, puts it in the
 * server's durable outbox (done is called once it is delivered or has failed for good), and reports the outcome on
 * output 1 (delivered) or output 2 with done(err) (failed). Mails queued before a restart report through the node
 * with the msg as it was stored.
 */
export class SendNode implements OutboxListener {
  private readonly events: string[];
  /** By Message-ID: the msgs a queued mail answers for (several when it is a digest). */
  private readonly waiting = new Map<string, Waiting[]>();
  private readonly digest?: DigestCollector<Waiting>;
  private readonly digestBypass: number;
  /** The last outcome, as a status built only when it is shown: a storm delivers hundreds of mails a second. */
  private lastOutcome?: () => NodeStatus;
  private shownSignIn = false;
  private readonly signInStatus: NodeStatus;
  private statusTimer?: NodeJS.Timeout;
  private subscribed?: ServerNode;

  constructor(
    private readonly RED: NodeAPI,
    private readonly node: Node,
    private readonly def: SendNodeDef,
  ) {
    this.events = eventList(def.events);
    this.signInStatus = { fill: "yellow", shape: "ring", text: RED._("alarm-mail-send.status.signIn") };
    // A window a timer cannot wait (or not a number) is no window: the digest is off rather than firing at once.
    const digestMs = readDuration(def.digest ?? 0, { whole: true }) ?? 0;
    this.digestBypass = Number(def.digestBypass ?? 1);
    if (digestMs > 0) {
      this.digest = new DigestCollector<Waiting>(RED, node, digestMs, (items, callbacks) =>
        this.sendDigest(items, callbacks),
      );
    }
    const server = findServer(RED, def.server);
    if (server) {
      this.subscribed = server;
      server.subscribe(node.id, this);
    }
    node.on("input", (msg, send, done) => void this.onInput(msg, send, done));
    node.on("close", (_removed: boolean, done: () => void) => {
      this.subscribed?.unsubscribe(node.id, this);
      clearTimeout(this.statusTimer);
      void (this.digest?.close() ?? Promise.resolve()).finally(done);
    });
  }

  sent(entry: SentEntry, receipt: DeliveryReceipt, stored: StoredMail): void {
    const waitings = this.take(entry.id, stored);
    for (const waiting of waitings) {
      waiting.msg.mail = {
        ...receipt,
        messageId: entry.id,
        attempts: entry.attempts,
        queuedAt: new Date(entry.createdAt),
        sentAt: new Date(entry.sentAt),
      };
    }
    const { sentAt } = entry;
    const rejected = receipt.rejected.length;
    this.lastOutcome = () => {
      const time = new Date(sentAt).toLocaleTimeString();
      return rejected > 0
        ? {
            fill: "yellow",
            shape: "dot",
            text: this.RED._("alarm-mail-send.status.partial", { count: rejected, time }),
          }
        : { fill: "green", shape: "dot", text: this.RED._("alarm-mail-send.status.sent", { time }) };
    };
    // The last mail of a burst shows its outcome at once; during the burst the queue's count shows instead.
    if (this.subscribed?.queued === 0) this.node.status(this.lastOutcome());
    else this.change();
    for (const waiting of waitings) {
      waiting.send([waiting.msg, null]);
      waiting.done();
    }
  }

  failed(entry: OutboxEntry, error: MailError, stored: StoredMail): void {
    for (const waiting of this.take(entry.id, stored)) this.reportFailure(waiting, error, entry.attempts);
    this.change();
  }

  /** The server's queue changed: show it, at most a few times a second. */
  change(): void {
    this.statusTimer ??= setTimeout(() => {
      this.statusTimer = undefined;
      const status = this.queueStatus();
      if (status) this.node.status(status);
      else if (this.shownSignIn) this.node.status({});
      this.shownSignIn = status === this.signInStatus;
    }, STATUS_INTERVAL_MS);
  }

  private async onInput(msg: NodeMessageInFlow, send: Send, done: Done): Promise<void> {
    if (this.events.length > 0 && typeof msg.event === "string" && !this.events.includes(msg.event)) {
      done();
      return;
    }
    try {
      const server = this.server();
      if (!server.composer) throw server.configError;
      const composer = server.composer;
      // Composing first finds a bad msg at once, even when it then waits in a digest window.
      const parts = await this.parts(server, msg);
      const now = new Date();
      const mails = await Promise.all(
        parts.map((part) =>
          composer.compose(
            part.group,
            msg as MessageFields,
            { ...this.view(msg, now), ...(part.link ? { ackUrl: part.link.url } : {}) },
            this.missingAttachments(msg),
            part.link,
          ),
        ),
      );
      if (this.digest && this.joinsDigest(msg)) {
        await this.digest.add(JSON.parse(storable(msg)) as unknown, { msg, send, done });
        this.node.status({
          fill: "blue",
          shape: "ring",
          text: this.RED._("alarm-mail-send.status.digest", { count: this.digest.size }),
        });
        return;
      }
      const mailsTriggers = this.events.length === 0 || this.events.includes("trigger");
      const order = eventOrderOf(msg, this.node.id, mailsTriggers);
      const json = storable(msg);
      const waitings = mails.length === 1 ? [{ msg, send, done }] : together({ msg, send, done }, mails.length);
      for (const [index, mail] of mails.entries()) {
        const waiting = waitings[index];
        // A mail of several that cannot be queued fails alone; the msg leaves once every mail has its outcome.
        const queued = this.queue(server, mail, [waiting], rankOf(msg, mail), json, order);
        if (mails.length === 1) await queued;
        else await queued.catch((err: unknown) => this.reportFailure(waiting, err, 0));
      }
    } catch (err) {
      this.lastOutcome = undefined;
      this.reportFailure({ msg, send, done }, err, 0);
    }
  }

  private async queue(
    server: ServerNode,
    mail: OutgoingMail,
    waitings: Waiting[],
    rank: number,
    msgJson: string,
    order?: EventOrder,
  ) {
    this.waiting.set(mail.messageId, waitings);
    try {
      await server.queue(mail, { rank, sendNode: this.node.id, msgJson, ...(order ? { order } : {}) });
    } catch (err) {
      this.waiting.delete(mail.messageId);
      throw err;
    }
    this.change();
  }

  /**
   * Urgent alarms skip the digest, and so do msgs with their own addresses: a digest goes to the recipient group,
   * so merging them would send an event to people it was not meant for.
   */
  private joinsDigest(msg: NodeMessageInFlow): boolean {
    if (msg.to !== undefined || msg.cc !== undefined || msg.bcc !== undefined) return false;
    const priority = (msg.alarm as { priority?: unknown } | undefined)?.priority;
    return !(typeof priority === "number" && priority <= this.digestBypass);
  }

  /** Closes a digest window: one msg goes as its own mail, several as one mail that lists every event. */
  private async sendDigest(items: DigestItem[], callbacks: Map<string, Waiting>): Promise<void> {
    const waitings = items.map((item) => callbacks.get(item.id) ?? this.restored(item.msg));
    try {
      const server = this.server();
      if (!server.composer) throw server.configError;
      const msgs = waitings.map((w) => w.msg);
      const ranks = msgs.map((m) => rankOf(m));
      if (items.length === 1) {
        const mail = await server.composer.compose(
          this.group(),
          msgs[0] as MessageFields,
          this.view(msgs[0], new Date(items[0].at)),
          this.missingAttachments(msgs[0]),
        );
        await this.queue(server, mail, waitings, ranks[0], JSON.stringify(items[0].msg ?? null));
        return;
      }
      const time = (ms: number) => new Date(ms).toLocaleTimeString();
      const lines = digestLines(items, time);
      const words = {
        intro: this.RED._("alarm-mail-send.digest.intro", {
          count: items.length,
          from: time(items[0].at),
          to: time(items[items.length - 1].at),
        }),
        headings: {
          time: this.RED._("alarm-mail-send.digest.time"),
          event: this.RED._("alarm-mail-send.digest.event"),
          label: this.RED._("alarm-mail-send.digest.alarm"),
          value: this.RED._("alarm-mail-send.digest.value"),
        },
      };
      const group = this.group();
      const fields: MessageFields = {
        topic: this.RED._("alarm-mail-send.digest.subject", { count: items.length, first: lines[0].label }),
        payload: digestText(lines, words),
        html: digestHtml(lines, words),
      };
      const mail = await server.composer.compose(
        group && { ...group, subject: "", body: "", html: "" },
        fields,
        this.view(msgs[0], new Date()),
      );
      const stored = JSON.stringify({ digestOf: items.map((item) => item.msg) });
      await this.queue(server, mail, waitings, Math.min(...ranks), stored);
    } catch (err) {
      for (const waiting of waitings) this.reportFailure(waiting, err, 0);
    }
  }

  private reportFailure(waiting: Waiting, err: unknown, attempts: number): void {
    const message = describeError(this.RED, err);
    waiting.msg.error = { message, code: err instanceof MailError ? err.code : undefined, attempts };
    const status: NodeStatus = { fill: "red", shape: "ring", text: statusText(message) };
    this.lastOutcome = () => status;
    this.node.status(status);
    waiting.send([null, waiting.msg]);
    waiting.done(new Error(message));
  }

  /** The msgs and callbacks of a queued mail; after a restart, the stored msgs with the node's own send and error. */
  private take(id: string, stored: StoredMail): Waiting[] {
    const waiting = this.waiting.get(id);
    this.waiting.delete(id);
    if (waiting) return waiting;
    const storedMsg = stored.msg;
    const digestOf = (storedMsg as { digestOf?: unknown } | null)?.digestOf;
    return Array.isArray(digestOf) ? digestOf.map((m) => this.restored(m)) : [this.restored(storedMsg)];
  }

  private restored(storedMsg: unknown): Waiting {
    const msg = (storedMsg && typeof storedMsg === "object" ? storedMsg : {}) as NodeMessageInFlow;
    return {
      msg,
      send: (out) => this.node.send(out),
      done: (err) => {
        if (err) this.node.error(err, msg);
      },
    };
  }

  private queueStatus(): NodeStatus | undefined {
    if (!this.subscribed) return undefined;
    const count = this.subscribed.queued;
    const health: QueueHealth = this.subscribed.health;
    const time = (at: number) => new Date(at).toLocaleTimeString();
    switch (health.state) {
      case "auth-blocked":
        return { fill: "red", shape: "ring", text: this.RED._("alarm-mail-send.status.authBlocked", { count }) };
      case "retrying":
        return {
          fill: "yellow",
          shape: "ring",
          text: statusText(
            this.RED._("alarm-mail-send.status.retrying", {
              count,
              time: time(health.nextAt),
              reason: health.error.code,
            }),
          ),
        };
      case "rate-limited":
        return {
          fill: "yellow",
          shape: "ring",
          text: this.RED._("alarm-mail-send.status.rateLimited", { count, time: time(health.until) }),
        };
      case "sending":
        return { fill: "blue", shape: "dot", text: this.RED._("alarm-mail-send.status.queued", { count }) };
      case "idle":
        if (count > 0) {
          return { fill: "blue", shape: "ring", text: this.RED._("alarm-mail-send.status.queued", { count }) };
        }
        return this.subscribed.signInNeeded ? this.signInStatus : this.lastOutcome?.();
    }
  }

  private server(): ServerNode {
    const server = findServer(this.RED, this.def.server);
    if (!server) throw new MailError("config-missing", { field: "server" });
    return server;
  }

  /**
   * The mails one msg makes: one to the group, or with an `individual` group one per recipient (when the msg brings
   * no addresses of its own). Each carries its own acknowledge link when the server makes links and the msg is about
   * an alarm occurrence that awaits an acknowledgement; an individual mail's link names its recipient.
   */
  private async parts(
    server: ServerNode,
    msg: NodeMessageInFlow,
  ): Promise<Array<{ group: RecipientGroup | undefined; link?: BodyLink }>> {
    const group = this.group();
    const claims = server.ackLinks ? ackClaims(msg.alarm) : undefined;
    const link = async (recipient: string | null): Promise<BodyLink | undefined> => {
      if (!claims || !server.ackLinks) return undefined;
      // An alarm mail without its link still says the alarm: a key that cannot be read is warned about, not fatal.
      const url = await ackUrl(this.RED, server.ackLinks, { ...claims, recipient }, Date.now()).catch(
        (err: unknown) => {
          this.node.warn(
            this.RED._("alarm-mail-send.ackLinkFailed", { reason: err instanceof Error ? err.message : String(err) }),
          );
          return undefined;
        },
      );
      return url === undefined ? undefined : { url, label: this.RED._("alarm-mail-send.ackLink") };
    };
    const ownAddresses = msg.to !== undefined || msg.cc !== undefined || msg.bcc !== undefined;
    const everyone = group ? [...group.to, ...group.cc, ...group.bcc] : [];
    // A group with no address at all makes the one mail that the composer then refuses, saying why.
    if (!group?.individual || ownAddresses || everyone.length === 0) return [{ group, link: await link(null) }];
    return Promise.all(
      everyone.map(async (recipient) => ({
        group: { ...group, to: [recipient], cc: [], bcc: [] },
        link: await link(recipient.address),
      })),
    );
  }

  private group() {
    if (!this.def.recipients) return undefined;
    const recipients = findRecipients(this.RED, this.def.recipients);
    if (!recipients) throw new MailError("config-missing", { field: "recipients" });
    if (!recipients.group) throw recipients.configError;
    return recipients.group;
  }

  /**
   * What an attacher could not add (`msg.screenshotError`, `msg.csvError`): the mail goes without it and says so, so
   * that the reader does not look for a picture or a file that never came.
   */
  private missingAttachments(msg: NodeMessageInFlow): string[] {
    const failures = [msg.screenshotError, msg.csvError];
    return failures.flatMap((failure) => {
      const reason = (failure as { message?: unknown } | null | undefined)?.message;
      return typeof reason === "string" && reason !== "" ? [this.RED._("alarm-mail-send.missing", { reason })] : [];
    });
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

/**
 * What an acknowledge link names, from `msg.alarm` as the block sends it: its occurrence ("<block node id>/<alarm
 * id>/<time>") names the block. Undefined for a msg that is not about an occurrence awaiting an acknowledgement.
 */
function ackClaims(alarm: unknown): { block: string; alarm: string; occurrence: string } | undefined {
  if (alarm === null || typeof alarm !== "object") return undefined;
  const { id, occurrence, ackedAt, state } = alarm as Record<string, unknown>;
  if (typeof id !== "string" || typeof occurrence !== "string" || ackedAt !== null) return undefined;
  if (state !== "unacked" && state !== "rtn-unacked") return undefined;
  const block = occurrence.slice(0, occurrence.indexOf("/"));
  if (block === "" || !occurrence.startsWith(`${block}/${id}/`)) return undefined;
  return { block, alarm: id, occurrence };
}

/**
 * One msg mailed as several mails (an `individual` group): it leaves once, when every mail has its outcome, on
 * output 1 with `msg.mail` (the last mail's) and `msg.mails` (each mail's, in the group's order), or on output 2
 * with the first failure's `msg.error` when any failed.
 */
function together(waiting: Waiting, count: number): Waiting[] {
  const parts = Array.from({ length: count }, () => ({ ...waiting.msg }) as NodeMessageInFlow);
  let left = count;
  let failure: Error | undefined;
  let failed: NodeMessageInFlow | undefined;
  return parts.map((part) => ({
    msg: part,
    send: () => undefined,
    done: (err?: Error) => {
      if (err && !failure) {
        failure = err;
        failed = part;
      }
      if (--left > 0) return;
      waiting.msg.mails = parts.map((p) => p.mail ?? null);
      waiting.msg.mail = parts[count - 1].mail;
      if (failed) {
        waiting.msg.error = failed.error;
        waiting.send([null, waiting.msg]);
        waiting.done(failure);
      } else {
        waiting.send([waiting.msg, null]);
        waiting.done();
      }
    },
  }));
}

/** The alarm's priority (1, most urgent, to 4) orders the outbox; without an alarm, the mail's priority does. */
function rankOf(msg: NodeMessageInFlow, mail?: OutgoingMail): number {
  const priority = (msg.alarm as { priority?: unknown } | undefined)?.priority;
  if (typeof priority === "number" && priority >= 1 && priority <= 4) return priority;
  return MAIL_PRIORITY_RANK[mail?.priority ?? "normal"];
}

/**
 * The msg as it is kept with its queued mail, to be given back on an output after a restart, as JSON text: written
 * into the journal record as it is, never parsed while the msg itself is at hand. Without the HTTP request and
 * response of an http-in flow, and without the attachments, which are in the mail itself.
 */
function storable(msg: NodeMessageInFlow): string {
  const { req, res, attachments, ...rest } = msg;
  const kept = Buffer.isBuffer(rest.payload) ? { ...rest, payload: undefined } : rest;
  try {
    return JSON.stringify(kept);
  } catch {
    return JSON.stringify({ _msgid: msg._msgid, topic: msg.topic, event: msg.event });
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
