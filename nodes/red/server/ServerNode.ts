import type { Node, NodeAPI, NodeDef } from "node-red";
import { DeliveryScheduler, type MailRoute, type QueueHealth } from "../../lib/outbox/DeliveryScheduler";
import { MailComposer, type OutgoingMail } from "../../lib/mail/MailComposer";
import { MailError } from "../../lib/mail/MailError";
import type { TokenSet } from "../../lib/oauth/OAuthClient";
import type { TokenProvider } from "../../lib/oauth/TokenProvider";
import type { EventOrder } from "../../lib/outbox/EventOrder";
import { Outbox, type OutboxEntry, type SentEntry, type StoredMail } from "../../lib/outbox/Outbox";
import {
  parseServerSettings,
  type AckLinkSettings,
  type ServerConfig,
  type ServerCredentials,
} from "../../lib/server/ServerSettings";
import { createTokenProvider, createTransport } from "../../lib/server/ServerStack";
import type { DeliveryReceipt, Transport } from "../../lib/transport/Transport";
import { describeError } from "../kit/i18n";
import { reportConfigError } from "../kit/lifecycle";
import { deployedNode } from "../kit/nodes";
import { nodeDataPath } from "../kit/storage";
import { enableAckLinks } from "./ackLinks";
import { tokenStore } from "./tokens";

export type ServerNodeDef = NodeDef & ServerConfig;

/** The comms topic on which the editor's outbox sidebar hears that a queue changed. */
export const OUTBOX_TOPIC = "alarm-mail/outbox";

/** What a send node wants to hear from the server whose outbox holds its mails. */
export interface OutboxListener {
  /** `stored.msg`, the msg kept with the mail, is parsed when read: only a msg from before a restart needs it. */
  sent(entry: SentEntry, receipt: DeliveryReceipt, stored: StoredMail): void;
  failed(entry: OutboxEntry, error: MailError, stored: StoredMail): void;
  change(): void;
}

type Outcome =
  | { kind: "sent"; args: Parameters<OutboxListener["sent"]> }
  | { kind: "failed"; args: Parameters<OutboxListener["failed"]> };

/** Outcomes for a send node that has not started yet (after a restart); bounded, oldest dropped. */
const BACKLOG_LIMIT = 1000;

/**
 * The runtime side of an `alarm-mail-server` config node: the composer that applies this server's sender and limits,
 * the one pooled transport that every send node using this server shares, and the durable outbox that its
 * DeliveryScheduler empties in the background.
 */
export class ServerNode {
  readonly composer?: MailComposer;
  private error?: Error;
  /** "host:port", for the sent log. */
  readonly address: string;
  private publishTimer?: NodeJS.Timeout;
  readonly transport?: Transport;
  private scheduler?: DeliveryScheduler;
  private outbox?: Outbox;
  private ready: Promise<void>;
  /** Where recipients reach this gateway to acknowledge, when alarm mails carry links (`ackBaseUrl`). */
  readonly ackLinks?: AckLinkSettings;
  /** The OAuth2 token provider, when this server logs in with XOAUTH2. */
  readonly tokens?: Promise<TokenProvider>;
  private readonly listeners = new Map<string, OutboxListener>();
  private needsSignIn = false;
  private readonly signInListeners = new Set<() => void>();
  private readonly backlog = new Map<string, Outcome[]>();
  /** Opens the outbox (again, after a disk fault at deploy); undefined when the settings are wrong. */
  private reopen?: () => Promise<void>;
  private outboxError?: MailError;
  private closing = false;

  constructor(
    private readonly RED: NodeAPI,
    private readonly node: Node<ServerCredentials>,
    def: ServerNodeDef,
  ) {
    this.address =
      def.transport === "graph" || def.transport === "gmail"
        ? `${def.transport}:${String(def.mailbox || "me")}`
        : `${String(def.host ?? "")}:${String(def.port ?? "")}`;
    try {
      const settings = parseServerSettings(def, node.credentials ?? {});
      this.composer = new MailComposer(settings.sender);
      this.ackLinks = settings.ack;
      if (settings.ack) enableAckLinks(node.id, true);
      const oauth = settings.oauth;
      const account = settings.connection.user;
      const tokens = oauth
        ? tokenStore(RED).then((store) => createTokenProvider(oauth, account, store, node.id))
        : undefined;
      this.tokens = tokens;
      if (tokens) {
        // Said at deploy, on every send node, rather than discovered when the first alarm waits for a token.
        void tokens
          .then((provider) => provider.needsSignIn())
          .then((needed) => this.setSignInNeeded(needed))
          .catch((err: unknown) => node.error(describeError(RED, err)));
      }
      const transport = createTransport(settings, tokens);
      this.transport = transport;
      const primary: MailRoute = {
        name: "primary",
        send: (mail) => transport.send(mail),
        reachable: () => transport.reachable(),
      };
      const backup = settings.backup ? this.backupRoute(settings.backup) : undefined;
      this.reopen = () => this.openOutbox(primary, backup, settings.delivery);
      this.ready = this.reopen();
    } catch (err) {
      this.error = reportConfigError(RED, node, err, { status: false });
      this.ready = Promise.resolve();
    }
  }

  /**
   * Resolves once the mail is on disk in this server's outbox; delivery follows in the background. A disk that
   * refuses the write (full, read-only) is an `outbox-unavailable` error and the mail is not queued: the send node
   * says so on output 2. An outbox that could not be opened is tried again with each mail, so that freeing the
   * disk is enough.
   */
  async queue(
    mail: OutgoingMail,
    meta: { rank: number; sendNode: string; msgJson: string; order?: EventOrder },
  ): Promise<OutboxEntry> {
    await this.ready;
    if (!this.outbox && this.reopen && !this.closing) {
      this.ready = this.reopen();
      await this.ready;
    }
    if (!this.outbox || !this.scheduler) {
      throw this.configError ?? this.outboxError ?? new MailError("outbox-unavailable", { reason: "closed" });
    }
    let entry: OutboxEntry;
    try {
      entry = await this.outbox.enqueue(mail, meta);
    } catch (err) {
      throw new MailError("outbox-unavailable", { reason: reasonOf(err) }, { cause: err });
    }
    this.scheduler.kick();
    return entry;
  }

  /** Why this server cannot send, when its settings are wrong: every send node reports it rather than guessing. */
  get configError(): Error | undefined {
    return this.error;
  }

  get health(): QueueHealth {
    return this.scheduler?.status ?? { state: "idle" };
  }

  get queued(): number {
    return this.scheduler?.queued ?? 0;
  }

  get mailbox(): Outbox | undefined {
    return this.outbox;
  }

  /** An OAuth2 server that nobody has signed in to yet (or whose sign-in the provider revoked). */
  get signInNeeded(): boolean {
    return this.needsSignIn;
  }

  /** A sign-in from the editor completed: use its tokens and retry what waited for them. */
  async signedIn(tokens: TokenSet): Promise<void> {
    await (await this.tokens)?.signIn(tokens);
    this.setSignInNeeded(false);
    this.signInListeners.forEach((listener) => listener());
    await this.ready;
    this.scheduler?.resume();
  }

  /** Calls `listener` after each sign-in from the editor (an inbox waiting for it logs in at once); its remover. */
  onSignedIn(listener: () => void): () => void {
    this.signInListeners.add(listener);
    return () => this.signInListeners.delete(listener);
  }

  /** Puts a failed mail back in the queue. */
  async resend(id: string): Promise<boolean> {
    await this.ready;
    const done = (await this.outbox?.resend(id)) ?? false;
    this.scheduler?.kick();
    return done;
  }

  subscribe(sendNode: string, listener: OutboxListener): void {
    this.listeners.set(sendNode, listener);
    const waiting = this.backlog.get(sendNode) ?? [];
    this.backlog.delete(sendNode);
    for (const outcome of waiting) {
      if (outcome.kind === "sent") listener.sent(...outcome.args);
      else listener.failed(...outcome.args);
    }
    listener.change();
  }

  private setSignInNeeded(needed: boolean): void {
    this.needsSignIn = needed;
    this.listeners.forEach((listener) => listener.change());
  }

  unsubscribe(sendNode: string, listener: OutboxListener): void {
    if (this.listeners.get(sendNode) === listener) this.listeners.delete(sendNode);
  }

  /** Stops delivery within Node-RED's close budget; mails not yet accepted stay queued for the next start. */
  async close(): Promise<void> {
    this.closing = true;
    enableAckLinks(this.node.id, false);
    await this.ready;
    clearTimeout(this.publishTimer);
    await this.scheduler?.close(10_000);
    await this.outbox?.close();
    this.transport?.close();
  }

  private async openOutbox(
    primary: MailRoute,
    backup: MailRoute | undefined,
    policy: ConstructorParameters<typeof DeliveryScheduler>[3],
  ): Promise<void> {
    const dir = nodeDataPath(this.RED, "outbox", this.node.id);
    try {
      this.outbox = await Outbox.open(dir, {
        onCorrupt: (corrupt) =>
          this.node.error(
            this.RED._("alarm-mail-server.outbox.corrupt", {
              file: corrupt.file,
              offset: corrupt.offset,
              reason: corrupt.reason,
            }),
          ),
      });
    } catch (err) {
      // Said once until it works again; every mail meanwhile is refused with the same words.
      const reported = this.outboxError !== undefined;
      this.outboxError = new MailError("outbox-unavailable", { reason: reasonOf(err) }, { cause: err });
      if (!reported) reportConfigError(this.RED, this.node, this.outboxError, { status: false });
      return;
    }
    this.outboxError = undefined;
    const scheduler = new DeliveryScheduler(this.outbox, primary, backup, policy);
    scheduler.on("sent", (...args) => this.dispatch(args[0].sendNode, { kind: "sent", args }));
    scheduler.on("failed", (...args) => this.dispatch(args[0].sendNode, { kind: "failed", args }));
    scheduler.on("change", () => {
      this.listeners.forEach((listener) => listener.change());
      this.publish();
    });
    this.scheduler = scheduler;
    scheduler.kick();
  }

  /** Tells the editor's outbox sidebar, at most once a second, that this queue changed. */
  private publish(): void {
    this.publishTimer ??= setTimeout(() => {
      this.publishTimer = undefined;
      this.RED.comms.publish(OUTBOX_TOPIC, { server: this.node.id }, false);
    }, 1000);
  }

  private dispatch(sendNode: string | undefined, outcome: Outcome): void {
    if (!sendNode) return;
    const listener = this.listeners.get(sendNode);
    if (listener) {
      if (outcome.kind === "sent") listener.sent(...outcome.args);
      else listener.failed(...outcome.args);
      return;
    }
    const waiting = this.backlog.get(sendNode) ?? [];
    waiting.push(outcome);
    if (waiting.length > BACKLOG_LIMIT) waiting.shift();
    this.backlog.set(sendNode, waiting);
  }

  /** The backup is another server node, found when first needed: config nodes start in no set order. */
  private backupRoute(id: string): MailRoute {
    return {
      name: "backup",
      send: (mail) => {
        const transport = findServer(this.RED, id)?.transport;
        if (!transport) return Promise.reject(new MailError("config-missing", { field: "backup" }));
        return transport.send(mail);
      },
      reachable: async () => (await findServer(this.RED, id)?.transport?.reachable()) ?? false,
    };
  }
}

export interface ServerNodeObject extends Node<ServerCredentials> {
  mailServer: ServerNode;
}

/** The deployed `alarm-mail-server` node `id`: what send nodes, admin endpoints and a failover route use. */
export function findServer(RED: NodeAPI, id: unknown): ServerNode | undefined {
  return deployedNode<ServerNodeObject>(RED, id, "alarm-mail-server")?.mailServer;
}

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
