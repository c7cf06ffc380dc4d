import type { Node, NodeAPI, NodeDef, NodeMessage } from "node-red";
import { InboxError } from "../../lib/inbox/InboxError";
import {
  parseInboxSettings,
  type InboxConfig,
  type InboxCredentials,
  type InboxSettings,
} from "../../lib/inbox/InboxSettings";
import {
  MailboxWatcher,
  type ImapConnection,
  type InboxMail,
  type WatcherError,
  type WatcherState,
} from "../../lib/inbox/MailboxWatcher";
import {
  judgeReply,
  matchSubject,
  replyPayload,
  settle,
  type Decision,
  type RepliedMail,
  type SubjectCandidate,
} from "../../lib/inbox/ReplyDecision";
import { UidMark } from "../../lib/inbox/UidMark";
import type { MailThreads } from "../../lib/thread/MailThreads";
import { findBlock, type MessageAlarm } from "../block/BlockNode";
import { describeError } from "../kit/i18n";
import { closeWithinBudget, reportConfigError } from "../kit/lifecycle";
import { nodeDataPath } from "../kit/storage";
import { leaseMailThreads } from "../kit/threads";
import { findServer } from "../server/ServerNode";

export type InboxNodeDef = NodeDef & InboxConfig;

/**
 * The runtime side of `alarm-mail-inbox`: watches a mailbox for replies to the gateway's alarm mails and acknowledges
 * the occurrence a reply answers, in the block that raised it (on any tab), when the sender was one of its recipients
 * and the reply starts with an acknowledge word. One msg per mail: `ack`, `refused` or `ignored`, with the reason.
 */
export class InboxNode {
  private watcher?: MailboxWatcher;
  private threads?: ReturnType<typeof leaseMailThreads>;
  private mark?: UidMark;
  /** The server whose sign-in gives the token (`auth: oauth2`): a new sign-in there ends the inbox's wait for it. */
  private readonly server?: string;
  private unsubscribe?: () => void;
  /**
   * The kinds of failure said with node.error during this outage: a server that stays down (refusing, then dropping
   * connections) is said once, not at every retry; a different kind, such as a refused login once it is up, is said.
   */
  private readonly reported = new Set<string>();

  constructor(
    private readonly RED: NodeAPI,
    private readonly node: Node<InboxCredentials>,
    def: InboxNodeDef,
  ) {
    let settings: InboxSettings | undefined;
    try {
      settings = parseInboxSettings(def, node.credentials ?? {});
    } catch (err) {
      reportConfigError(RED, node, err, { status: true });
    }
    if (settings) {
      this.server = settings.server;
      this.threads = leaseMailThreads(RED);
      // Without the store no reply can be matched (each is ignored as not-alarm-reply): said at deploy.
      this.threads.threads.catch((err: unknown) =>
        node.warn(RED._("alarm-mail-inbox.warn.threads-unavailable", { reason: describeError(RED, err) })),
      );
      this.mark = new UidMark(nodeDataPath(RED, "inbox", node.id, ".json"));
      this.watcher = new MailboxWatcher({
        connection: imapConnection(RED, settings),
        mailbox: settings.mailbox,
        afterRead: settings.afterRead,
        mark: this.mark,
        take: (mail) => this.take(mail),
        onState: (state) => this.show(state),
        onError: (err) => node.error(describeError(RED, err)),
        pollMs: settings.pollMs,
      });
      // Replies are acknowledged in blocks, which must all be running: a reply that came while Node-RED was down is
      // taken once the flows have started.
      RED.events.once("flows:started", this.start);
    }
    node.on("close", (removed: boolean, done: () => void) => {
      RED.events.removeListener("flows:started", this.start);
      void closeWithinBudget(this.close(removed)).finally(done);
    });
  }

  private readonly start = (): void => {
    if (this.server && this.watcher) {
      const watcher = this.watcher;
      this.unsubscribe = findServer(this.RED, this.server)?.onSignedIn(() => watcher.retry());
    }
    this.watcher?.start();
  };

  private async close(removed: boolean): Promise<void> {
    this.unsubscribe?.();
    await this.watcher?.close();
    await this.threads?.release();
    if (removed) await this.mark?.remove();
  }

  private t(key: string, params: Record<string, string | number> = {}): string {
    return this.RED._(`alarm-mail-inbox.${key}`, params);
  }

  /** Judges one mail, acknowledges when the rules allow, and sends its msg; true when `afterRead` applies to it. */
  private async take(mail: InboxMail): Promise<boolean> {
    const threads = await this.threads?.threads.catch(() => undefined);
    let decision: Decision = judgeReply(mail.reply, {
      // The store keeps Message-IDs as the header writes them, in angle brackets.
      byMessageId: (id) => threads?.find(`<${id}>`),
      bySubject: (subject) => this.bySubject(subject, threads),
    });
    if (decision.event === "ack") {
      const { block, alarm, occurrence } = decision.mail;
      const found = findBlock(this.RED, block);
      const outcome = found
        ? await found.acknowledgeOccurrence(alarm, occurrence, { user: mail.reply.from ?? null, via: "mail" })
        : "block-unavailable";
      decision = settle(decision.mail, outcome);
    }
    this.node.send(this.message(mail, decision));
    this.node.status({
      fill: decision.event === "ack" ? "green" : decision.event === "refused" ? "yellow" : "grey",
      shape: "dot",
      text: this.t(`status.${decision.event}`, { time: clock(new Date()) }),
    });
    // Only replies are marked or deleted: other mail, and the gateway's own alarm mails, stay as they are.
    return decision.mail !== undefined && !(decision.event === "ignored" && decision.reason === "own-mail");
  }

  private message(mail: InboxMail, decision: Decision): NodeMessage & Record<string, unknown> {
    const replied = decision.mail;
    return {
      topic: mail.reply.subject,
      event: decision.event,
      from: mail.reply.from ?? null,
      ...(replied ? { alarm: this.alarmOf(replied) } : {}),
      ...(decision.event === "ack" ? {} : { reason: decision.reason }),
      payload: replyPayload(mail.reply),
    };
  }

  /** The alarm as the block shows it now (when it is still active there), naming the occurrence the reply answered. */
  private alarmOf(replied: RepliedMail): Partial<MessageAlarm> & { id: string; occurrence: string } {
    const view = findBlock(this.RED, replied.block)
      ?.activeAlarms()
      .find((a) => a.id === replied.alarm);
    return { ...view, id: replied.alarm, occurrence: replied.occurrence };
  }

  /**
   * The fallback for a client that drops the threading headers: the alarm whose code the subject carries, among the
   * alarms in alarm or unacknowledged of every deployed block, with the addresses its occurrence's mails went to.
   */
  private bySubject(subject: string, threads: MailThreads | undefined): RepliedMail | undefined {
    if (!threads) return undefined;
    const candidates: SubjectCandidate[] = [];
    const groups = ["msg"];
    this.RED.nodes.eachNode((def) => {
      if (def.type === "alarm-mail-recipients") groups.push(def.id);
      if (def.type !== "alarm-mail-block") return;
      for (const a of findBlock(this.RED, def.id)?.activeAlarms() ?? []) {
        if (a.occurrence) {
          candidates.push({
            block: def.id,
            alarm: a.id,
            label: a.label,
            priority: a.priority,
            occurrence: a.occurrence,
          });
        }
      }
    });
    const found = matchSubject(subject, candidates);
    if (!found) return undefined;
    const recipients = groups.flatMap((group) => threads.thread(found.occurrence, group)?.recipients ?? []);
    if (recipients.length === 0) return undefined;
    return { occurrence: found.occurrence, block: found.block, alarm: found.alarm, recipients };
  }

  private show(state: WatcherState): void {
    switch (state.state) {
      case "connecting":
        this.node.status({ fill: "yellow", shape: "ring", text: this.t("status.connecting") });
        return;
      case "watching":
        if (this.reported.size > 0) this.node.log(this.t("log.reconnected"));
        this.reported.clear();
        this.node.status({ fill: "green", shape: "dot", text: this.t(state.idle ? "status.idle" : "status.polling") });
        return;
      case "waiting": {
        const message = describeError(this.RED, state.error);
        if (!this.reported.has(state.error.code)) this.node.error(message);
        this.reported.add(state.error.code);
        this.node.status({ fill: "red", shape: "ring", text: this.t(`status.${statusOf(state.error)}`) });
        return;
      }
      case "closed":
        this.node.status({});
    }
  }
}

/**
 * How to reach the mailbox of `settings`; with `auth: oauth2`, the token of the named server node's own provider (a
 * second provider would rotate its refresh token behind its back).
 */
export function imapConnection(RED: NodeAPI, settings: InboxSettings): ImapConnection {
  const { host, port, security, rejectUnauthorized, servername, ca, user, password, server } = settings;
  return {
    host,
    port,
    security,
    rejectUnauthorized,
    user,
    ...(servername ? { servername } : {}),
    ...(ca ? { ca } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(server
      ? {
          accessToken: async (renew: boolean) => {
            const provider = await findServer(RED, server)?.tokens;
            if (!provider) throw new InboxError("server-missing", { id: server });
            return provider.accessToken(renew);
          },
        }
      : {}),
  };
}

/** The status of a failure: the inbox's own, or what the server's sign-in needs (an OAuth2 error of its token). */
function statusOf(error: WatcherError): string {
  if (error instanceof InboxError) return error.code;
  return error.code === "oauth-invalid-grant" || error.code === "oauth-not-signed-in" ? error.code : "oauth-failed";
}

function clock(at: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(at.getHours())}:${two(at.getMinutes())}`;
}
