import type { Node, NodeAPI, NodeContextData, NodeDef, NodeMessage, NodeMessageInFlow, NodeStatus } from "node-red";
import type { QueueHealth } from "../../lib/outbox/DeliveryScheduler";
import type { DigestItem } from "../../lib/digest/DigestBuffer";
import { digestAwaitsAck, digestHtml, digestLines, digestText } from "../../lib/digest/DigestMail";
import type { MessageFields, OutgoingMail, RecipientGroup } from "../../lib/mail/MailComposer";
import { MailError } from "../../lib/mail/MailError";
import { eventOrderOf, type EventOrder } from "../../lib/outbox/EventOrder";
import type { OutboxEntry, SentEntry, StoredMail } from "../../lib/outbox/Outbox";
import type { DeliveryReceipt } from "../../lib/transport/SmtpTransport";
import { timestampFields, type TemplateView } from "../../lib/mail/Template";
import { DigestCollector } from "./DigestCollector";
import { readDuration } from "../../lib/common/Duration";
import { describeError } from "../kit/i18n";
import { reportConfigError, STATUS } from "../kit/lifecycle";
import { findRecipients, recipientsNamed } from "../recipients/RecipientsNode";
import { leaseMailThreads, takeThreadTurn, threadRootTaken, waitForThreadRoot } from "../kit/threads";
import { DEFAULT_POLICY } from "../../lib/outbox/DeliveryScheduler";
import { joinThread, threadGroup } from "../../lib/mail/MailThreading";
import { blockOfOccurrence } from "../../lib/alarm/AlarmEngine";
import type { MailThreads, ThreadedMail } from "../../lib/thread/MailThreads";
import { findBlock } from "../block/BlockNode";
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

/** Where a msg about an alarm occurrence goes as a thread: the occurrence, its alarm and the recipient group. */
interface ThreadPlace {
  occurrence: string;
  alarm: string;
  group: string;
}

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
  /** The log said that the login was refused, once per occurrence. */
  private warnedBlocked = false;
  private readonly signInStatus: NodeStatus;
  private statusTimer?: NodeJS.Timeout;
  private subscribed?: ServerNode;
  private readonly threads: { threads: Promise<MailThreads>; release: () => Promise<void> };

  constructor(
    private readonly RED: NodeAPI,
    private readonly node: Node,
    private readonly def: SendNodeDef,
  ) {
    this.events = eventList(def.events);
    this.signInStatus = { fill: "yellow", shape: "ring", text: "alarm-mail-send.status.signIn" };
    // A window a timer cannot wait (or not a number) is no window: the digest is off rather than firing at once.
    const digestMs = readDuration(def.digest ?? 0, { whole: true }) ?? 0;
    this.digestBypass = Number(def.digestBypass ?? 1);
    if (digestMs > 0) {
      this.digest = new DigestCollector<Waiting>(RED, node, digestMs, (items, callbacks) =>
        this.sendDigest(items, callbacks),
      );
    }
    this.threads = leaseMailThreads(RED);
    // A store that cannot open leaves mails unthreaded, never unsent: said once here, and the mails still go.
    this.threads.threads.catch((err: unknown) =>
      node.warn(RED._("alarm-mail-send.warn.threads-unavailable", { reason: describeError(RED, err) })),
    );
    const server = findServer(RED, def.server);
    if (server) {
      this.subscribed = server;
      server.subscribe(node.id, this);
    }
    // Config nodes start before flow nodes: a node that cannot send says so at deploy, not at the first alarm.
    const problem = this.configProblem();
    if (problem) {
      const status: NodeStatus = { fill: "red", shape: "ring", text: STATUS.config };
      reportConfigError(RED, node, problem, { status: true });
      this.lastOutcome = () => status;
    }
    node.on("input", (msg, send, done) => void this.onInput(msg, send, done));
    node.on("close", (_removed: boolean, done: () => void) => {
      this.subscribed?.unsubscribe(node.id, this);
      clearTimeout(this.statusTimer);
      void Promise.all([this.digest?.close(), this.threads.release().catch(() => undefined)]).finally(done);
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
            text: this.RED._("alarm-mail-send.status.partial", { count: rejected }),
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
      this.warnOnce(status);
    }, STATUS_INTERVAL_MS);
  }

  private async onInput(msg: NodeMessageInFlow, send: Send, done: Done): Promise<void> {
    if (this.events.length > 0 && typeof msg.event === "string" && !this.events.includes(filteredAs(msg.event))) {
      done();
      return;
    }
    try {
      const server = this.server();
      if (!server.composer) throw server.configError;
      const composer = server.composer;
      const mailsTriggers = this.events.length === 0 || this.events.includes("trigger");
      const order = eventOrderOf(msg, this.node.id, mailsTriggers);
      const toDigest = this.digest !== undefined && this.joinsDigest(msg);
      // A digest goes to the group as one mail; otherwise an individual group makes one mail per recipient.
      const parts = toDigest ? [{ group: this.group(msg), recipient: null }] : this.parts(msg);
      const json = storable(msg);
      const waitings = parts.length === 1 ? [{ msg, send, done }] : together({ msg, send, done }, parts.length);
      const now = new Date();
      const mailed = parts.map((part, index) =>
        this.inThread(
          msg,
          part.recipient,
          async () => {
            const link = await this.ackLink(server, msg, part.recipient);
            // Composing first finds a bad msg at once, even when it then waits in a digest window.
            const mail = await composer.compose(
              part.group,
              msg as MessageFields,
              { ...this.view(msg, now), ...(link ? { ackUrl: link.url } : {}) },
              this.missingAttachments(msg),
              link,
            );
            if (!toDigest || !this.digest) return mail;
            await this.digest.add(JSON.parse(json) as unknown, { msg, send, done });
            this.node.status({
              fill: "blue",
              shape: "ring",
              text: this.RED._("alarm-mail-send.status.digest", { count: this.digest.size }),
            });
            return undefined;
          },
          (mail, waitedInVain) => {
            // Waited for the earlier mail already: the outbox need not wait for it a second time.
            const queued = order && waitedInVain ? { ...order, expectsEarlier: false } : order;
            return this.queue(server, mail, [waitings[index]], rankOf(msg, mail), json, queued);
          },
          // A msg bound for a digest window waits for nothing: its trigger may be in the window too.
          order?.expectsEarlier === true && !toDigest,
        ),
      );
      if (parts.length === 1) await mailed[0];
      // A mail of several that cannot be queued fails alone; the msg leaves once every mail has its outcome.
      else await Promise.all(mailed.map((m, i) => m.catch((err: unknown) => this.reportFailure(waitings[i], err, 0))));
    } catch (err) {
      this.lastOutcome = undefined;
      this.reportFailure({ msg, send, done }, err, 0);
    }
  }

  /**
   * Composes and queues the mail about one msg in its thread, when the msg is about an alarm occurrence: the turn
   * is taken at once, so this must be called before anything is awaited: the mails of one thread then get their
   * places in the order their msgs came. `compose` gives undefined when the msg went elsewhere (a digest window).
   *
   * `expectsEarlier`: the msg is an ack or a recovery and this node mails triggers too. If its thread has no root
   * yet, the trigger is still on its way (a slow attachment): it waits for it, as long as the outbox would, so that
   * the trigger is the root; `queue` hears whether it waited in vain.
   */
  private async inThread(
    msg: NodeMessageInFlow,
    recipient: string | null,
    compose: () => Promise<OutgoingMail | undefined>,
    queue: (mail: OutgoingMail, waitedInVain: boolean) => Promise<void>,
    expectsEarlier = false,
  ): Promise<void> {
    const place = this.threadPlace(msg, recipient);
    let turn = place && takeThreadTurn(place.occurrence, place.group);
    let reserved: MailThreads | undefined;
    let mail: OutgoingMail | undefined;
    let waitedInVain = false;
    try {
      await turn?.ready;
      const threads = place && (await this.threads.threads.catch(() => undefined));
      if (place && turn && threads && expectsEarlier && !threads.thread(place.occurrence, place.group)) {
        // The turn goes to the trigger meanwhile; a new one is taken once it has its place.
        turn.release();
        waitedInVain = !(await waitForThreadRoot(place.occurrence, place.group, DEFAULT_POLICY.orderWait));
        turn = takeThreadTurn(place.occurrence, place.group);
        await turn.ready;
      }
      mail = await compose();
      if (!mail) return;
      if (place && threads) {
        mail = this.joinThread(threads, place, mail);
        reserved = threads;
      }
      turn?.release();
      await queue(mail, waitedInVain);
      if (place && reserved) await this.recordThread(reserved, place, mail);
    } catch (err) {
      if (reserved && mail) reserved.withdraw(mail.messageId);
      throw err;
    } finally {
      turn?.release();
    }
  }

  /** The thread a msg's mail belongs to; undefined for a msg about no alarm occurrence. */
  private threadPlace(msg: NodeMessageInFlow, recipient: string | null): ThreadPlace | undefined {
    const alarm = msg.alarm as { id?: unknown; occurrence?: unknown } | undefined;
    if (typeof alarm?.occurrence !== "string" || typeof alarm.id !== "string") return undefined;
    // An escalation's msg.recipients names the group this mail goes to, hence its thread.
    const group = msg.recipients === undefined ? this.def.recipients : recipientsNamed(this.RED, msg.recipients).id;
    return { occurrence: alarm.occurrence, alarm: alarm.id, group: threadGroup(group, recipient ?? undefined) };
  }

  /**
   * Gives a composed mail its place in its thread at once, before it is queued, so that a mail of the same thread
   * composed just after it answers it (the root is the first mail composed); the headers go with the mail.
   */
  private joinThread(threads: MailThreads, place: ThreadPlace, mail: OutgoingMail): OutgoingMail {
    const before = threads.reserve(this.threadedMail(place, mail));
    if (!before) threadRootTaken(place.occurrence, place.group);
    return joinThread(mail, before, mail.date.getTime());
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
   * Writes a queued mail's place in its thread to disk: what later mails of the occurrence answer after a restart,
   * and what an inbox matches a reply with. The mail is queued already, so a store that fails loses the thread, not
   * the mail.
   */
  private async recordThread(threads: MailThreads, place: ThreadPlace, mail: OutgoingMail): Promise<void> {
    try {
      await threads.record(this.threadedMail(place, mail));
    } catch (err) {
      this.node.warn(this.RED._("alarm-mail-send.warn.thread-unsaved", { reason: describeError(this.RED, err) }));
    }
  }

  /** A mail as the thread store keeps it; the subject is the one it was composed with (a root's is answered). */
  private threadedMail(place: ThreadPlace, mail: OutgoingMail): ThreadedMail {
    return {
      messageId: mail.messageId,
      occurrence: place.occurrence,
      block: blockOfOccurrence(place.occurrence),
      alarm: place.alarm,
      group: place.group,
      recipients: [...mail.to, ...mail.cc, ...mail.bcc].map((a) => a.address),
      at: mail.date.getTime(),
      subject: mail.subject,
    };
  }

  /**
   * Urgent alarms skip the digest, and so do msgs with their own addresses: a digest goes to the recipient group,
   * so merging them would send an event to people it was not meant for.
   */
  private joinsDigest(msg: NodeMessageInFlow): boolean {
    if (msg.to !== undefined || msg.cc !== undefined || msg.bcc !== undefined) return false;
    if (msg.recipients !== undefined) return false;
    const priority = (msg.alarm as { priority?: unknown } | undefined)?.priority;
    return !(typeof priority === "number" && priority <= this.digestBypass);
  }

  /**
   * Closes a digest window: one msg goes as its own mail, several as one mail that lists every event. Either way an
   * individual group gets one mail per recipient, as for any alarm mail, so that its links name their recipient;
   * each msg then leaves once, when every mail has its outcome.
   */
  private async sendDigest(items: DigestItem[], callbacks: Map<string, Waiting>): Promise<void> {
    const waitings = items.map((item) => callbacks.get(item.id) ?? this.restored(item.msg));
    try {
      const server = this.server();
      if (!server.composer) throw server.configError;
      const composer = server.composer;
      const msgs = waitings.map((w) => w.msg);
      const ranks = msgs.map((m) => rankOf(m));
      const parts = this.parts();
      const shares = waitings.map((w) => (parts.length === 1 ? [w] : together(w, parts.length)));
      if (items.length === 1) {
        // Alone in its window, the msg goes as its own mail, in its thread like any other.
        const json = JSON.stringify(items[0].msg ?? null);
        await Promise.all(
          parts.map((part, index) =>
            this.inThread(
              msgs[0],
              part.recipient,
              async () => {
                const link = await this.ackLink(server, msgs[0], part.recipient);
                return composer.compose(
                  part.group,
                  msgs[0] as MessageFields,
                  { ...this.view(msgs[0], new Date(items[0].at)), ...(link ? { ackUrl: link.url } : {}) },
                  this.missingAttachments(msgs[0]),
                  link,
                );
              },
              (mail) => this.queue(server, mail, [shares[0][index]], ranks[0], json),
            ).catch((err: unknown) => this.reportFailure(shares[0][index], err, 0)),
          ),
        );
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
        ackLink: this.RED._("alarm-mail-send.ackLink"),
      };
      const topic = this.RED._("alarm-mail-send.digest.subject", { count: items.length, first: lines[0].label });
      // Without an ackBaseUrl no row has a link: the blocks need not be asked.
      const linkable = server.ackLinks ? this.digestLinkable(items, msgs) : [];
      const stored = JSON.stringify({ digestOf: items.map((item) => item.msg) });
      const rank = Math.min(...ranks);
      await Promise.all(
        parts.map(async (part, index) => {
          const mine = shares.map((share) => share[index]);
          try {
            const linked = await this.digestLinks(server, msgs, linkable, part.recipient);
            const rows = lines.map((line, i) => (linked[i] ? { ...line, ackUrl: linked[i] } : line));
            const fields: MessageFields = { topic, payload: digestText(rows, words), html: digestHtml(rows, words) };
            const mail = await composer.compose(
              part.group && { ...part.group, subject: "", body: "", html: "" },
              fields,
              this.view(msgs[0], new Date()),
            );
            await this.queue(server, mail, mine, rank, stored);
          } catch (err) {
            for (const waiting of mine) this.reportFailure(waiting, err, 0);
          }
        }),
      );
    } catch (err) {
      for (const waiting of waitings) this.reportFailure(waiting, err, 0);
    }
  }

  /**
   * The rows of a digest that may carry an acknowledge link: those that ask for one (`digestAwaitsAck`) and whose
   * occurrence still awaits it in its block now, when the digest is composed, since an ack the node does not mail
   * (its event filter) or a new occurrence leaves no trace in the window. A block not deployed here (yet) is not
   * asked: its link then says what became of the alarm when it is opened.
   */
  private digestLinkable(items: DigestItem[], msgs: NodeMessageInFlow[]): boolean[] {
    return digestAwaitsAck(items).map((awaits, i) => {
      const claims = awaits ? ackClaims(msgs[i].alarm) : undefined;
      if (!claims) return false;
      const now = findBlock(this.RED, claims.block)?.alarm(claims.alarm);
      return now === undefined || (now.occurrence === claims.occurrence && now.ackedAt === null);
    });
  }

  /**
   * Each linkable row's link for one digest mail, made as a single alarm mail's (`ackLink`). One at a time: a key
   * that cannot be read fails every link until a restart, so the first failure ends the links of this mail (and is
   * warned about once, not once a row).
   */
  private async digestLinks(
    server: ServerNode,
    msgs: NodeMessageInFlow[],
    linkable: boolean[],
    recipient: string | null,
  ): Promise<Array<string | undefined>> {
    const links: Array<string | undefined> = [];
    for (const [i, msg] of msgs.entries()) {
      if (!linkable[i]) {
        links.push(undefined);
        continue;
      }
      const link = await this.ackLink(server, msg, recipient);
      if (!link) break;
      links.push(link.url);
    }
    return links;
  }

  private reportFailure(waiting: Waiting, err: unknown, attempts: number): void {
    const message = describeError(this.RED, err);
    waiting.msg.error = { message, code: err instanceof MailError ? err.code : undefined, attempts };
    const status: NodeStatus = { fill: "red", shape: "ring", text: STATUS.failed };
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

  /**
   * The state under the node in a few words; its detail (the fault, the next retry) is in the outbox. The states
   * without a number are catalogue keys, shown in the editor's language.
   */
  private queueStatus(): NodeStatus | undefined {
    if (!this.subscribed) return undefined;
    const count = this.subscribed.queued;
    const health: QueueHealth = this.subscribed.health;
    switch (health.state) {
      case "auth-blocked":
        return { fill: "red", shape: "ring", text: "alarm-mail-send.status.authBlocked" };
      case "retrying":
        return { fill: "yellow", shape: "ring", text: "alarm-mail-send.status.retrying" };
      case "rate-limited":
        return { fill: "yellow", shape: "ring", text: "alarm-mail-send.status.rateLimited" };
      case "sending":
        return { fill: "blue", shape: "dot", text: this.RED._("alarm-mail-send.status.queued", { count }) };
      case "idle":
        if (count > 0) {
          return { fill: "blue", shape: "ring", text: this.RED._("alarm-mail-send.status.queued", { count }) };
        }
        return this.subscribed.signInNeeded ? this.signInStatus : this.lastOutcome?.();
    }
  }

  /**
   * A refused login stops delivery until a person acts: what to do is said once in the log and the debug sidebar
   * when the status first shows it. (A sign-in not made yet is the state of a new OAuth2 server: its status says it.)
   */
  private warnOnce(status: NodeStatus | undefined): void {
    const blocked = status?.text === "alarm-mail-send.status.authBlocked";
    if (blocked && !this.warnedBlocked) {
      this.node.warn(this.RED._("alarm-mail-send.warn.authBlocked", { count: this.subscribed?.queued ?? 0 }));
    }
    this.warnedBlocked = blocked;
  }

  /** Why this node cannot send any mail: a server or group that is missing or whose settings are wrong. */
  private configProblem(): unknown {
    try {
      const server = this.server();
      if (server.configError) return server.configError;
      this.group();
      return undefined;
    } catch (err) {
      return err;
    }
  }

  private server(): ServerNode {
    const server = findServer(this.RED, this.def.server);
    if (!server) throw new MailError("config-missing", { field: "server" });
    return server;
  }

  /**
   * The mails one msg (or, without one, a digest) makes, each with its thread's recipient: one to the group, or with
   * an `individual` group one per recipient (when the msg brings no addresses of its own), each then a thread of its
   * own.
   */
  private parts(msg?: NodeMessageInFlow): Array<{ group: RecipientGroup | undefined; recipient: string | null }> {
    const group = this.group(msg);
    const ownAddresses = msg !== undefined && (msg.to !== undefined || msg.cc !== undefined || msg.bcc !== undefined);
    const everyone = group ? [...group.to, ...group.cc, ...group.bcc] : [];
    // A group with no address at all makes the one mail that the composer then refuses, saying why.
    if (!group?.individual || ownAddresses || everyone.length === 0) return [{ group, recipient: null }];
    return everyone.map((recipient) => ({
      group: { ...group, to: [recipient], cc: [], bcc: [] },
      recipient: recipient.address,
    }));
  }

  /**
   * A mail's acknowledge link, when the server makes links and the msg is about an alarm occurrence that awaits an
   * acknowledgement; an individual mail's link names its recipient.
   */
  private async ackLink(server: ServerNode, msg: NodeMessageInFlow, recipient: string | null) {
    const claims = server.ackLinks ? ackClaims(msg.alarm) : undefined;
    if (!claims || !server.ackLinks) return undefined;
    // An alarm mail without its link still says the alarm: a key that cannot be read is warned about, not fatal.
    const url = await ackUrl(this.RED, server.ackLinks, { ...claims, recipient }, Date.now()).catch((err: unknown) => {
      this.node.warn(
        this.RED._("alarm-mail-send.ackLinkFailed", { reason: err instanceof Error ? err.message : String(err) }),
      );
      return undefined;
    });
    return url === undefined ? undefined : { url, label: this.RED._("alarm-mail-send.ackLink") };
  }

  /** The group of this msg: the one `msg.recipients` names (an escalation's level), else the node's own. */
  private group(msg?: NodeMessageInFlow) {
    if (msg?.recipients !== undefined) {
      const named = recipientsNamed(this.RED, msg.recipients);
      if (!named.group) throw named.configError;
      return named.group;
    }
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

/**
 * The event a msg counts as for the node's event filter: a reminder or an escalation (from `alarm-mail-escalation`)
 * repeats the trigger of an alarm nobody acknowledged, so a node that mails triggers mails them too.
 */
function filteredAs(event: string): string {
  return event === "reminder" || event === "escalation" ? "trigger" : event;
}

function eventList(events: SendNodeDef["events"]): string[] {
  const list = Array.isArray(events) ? events : (events ?? "").split(",");
  return list.map((e) => e.trim()).filter(Boolean);
}
