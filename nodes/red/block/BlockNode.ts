import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow, NodeStatus } from "node-red";
import {
  AlarmEngine,
  type AckVia,
  type AlarmEvent,
  type AlarmView,
  type BlockSummary,
  type OccurrenceAck,
} from "../../lib/alarm/AlarmEngine";
import { AlarmError } from "../../lib/alarm/AlarmError";
import { ackComments, historyRecord, type HistoryRecord } from "../../lib/alarm/AlarmHistory";
import { HistoryStore } from "../../lib/alarm/HistoryStore";
import { parseBlockConfig, type BlockOptions, type RawConfig, type RefusedAlarm } from "../../lib/alarm/BlockConfig";
import { decodeBlockSnapshot, encodeBlockSnapshot } from "../../lib/alarm/BlockSnapshot";
import { DeadlineTimer } from "../../lib/common/DeadlineTimer";
import { TextTemplate, type PlaceholderValue } from "../../lib/common/Placeholders";
import type { SnapshotState } from "../../lib/common/SnapshotState";
import { Throttle } from "../../lib/common/Throttle";
import { closeWithinBudget, failMessage, reportConfigError } from "../kit/lifecycle";
import { deployedNode, whenFlowsStart } from "../kit/nodes";
import { nodeSnapshot } from "../kit/snapshots";
import { nodeDataPath } from "../kit/storage";
import { isPlainObject } from "../../lib/common/PlainObject";

export interface BlockNodeDef extends NodeDef {
  block?: string | number;
  alarms?: unknown;
  version?: number;
  floodCount?: number | string;
  floodWindow?: number | string;
  chatterCount?: number | string;
  chatterWindow?: number | string;
  historySize?: number | string;
  historyDays?: number | string;
}

/** The node object of an `alarm-mail-block`: `RED.nodes.getNode(id).alarmBlock` is how other nodes read it. */
export interface BlockNodeObject extends Node {
  alarmBlock: BlockNode;
}

/** An alarm as it travels in `msg.alarm`: the engine's view with times as ISO 8601 strings. */
export type MessageAlarm = Omit<AlarmView, "triggeredAt" | "ackedAt" | "recoveredAt" | "shelvedUntil"> & {
  triggeredAt: string | null;
  ackedAt: string | null;
  recoveredAt: string | null;
  shelvedUntil: string | null;
};

/** An active alarm as the CSV of active alarms writes it: `msg.alarm`'s fields and the comment typed with its ack. */
export type ActiveAlarmRow = MessageAlarm & { comment: string | null };

type Send = (msg: NodeMessage | Array<NodeMessage | NodeMessage[] | null>) => void;
type Done = (err?: Error) => void;

/**
 * A burst of values writes one snapshot, at most this long after the first change. It is the window that a kill -9
 * or a power cut can lose; a stop or a redeploy writes at once.
 */
const SAVE_DELAY_MS = 1000;
/** Topics that no alarm watches are counted once each, up to this many, so that a typo shows without a flood. */
const UNWATCHED_REPORTED = 100;
/** The status under the node changes at most this often: a person reads a few changes a second, not thousands. */
const STATUS_INTERVAL_MS = 250;

/**
 * The runtime side of an `alarm-mail-block`: feeds values and commands to the engine, turns its events into msgs with
 * a readable subject and text, keeps the history, wakes the engine at its next deadline, and saves the block's state
 * so that it survives a restart.
 */
export class BlockNode {
  readonly configError?: Error;
  /** The alarm rows left out at deploy, for the dialog to mark (`GET /alarm-mail-block/:id/refused`). */
  readonly refused: readonly RefusedAlarm[] = [];
  private readonly engine?: AlarmEngine;
  private readonly store?: HistoryStore;
  private readonly options?: BlockOptions;
  /** The state on disk: a read or save that failed shows a red status that stays until a save works. */
  private readonly snapshot: SnapshotState;
  private started = false;
  private readonly deadline = new DeadlineTimer(() => this.wake());
  private readonly stopWaiting: () => void;
  private saveTimer?: NodeJS.Timeout;
  private savedRevision = 0;
  /** The counts behind the status last shown: the text is only built again when they change. */
  private lastStatus = "";
  private readonly status = new Throttle(() => this.showStatus(), STATUS_INTERVAL_MS);
  /** The block's catalogue texts as templates, looked up once in the runtime's language and filled per use. */
  private readonly templates = new Map<string, TextTemplate>();
  private readonly unwatched = new Set<string>();

  constructor(
    private readonly RED: NodeAPI,
    private readonly node: Node,
    def: BlockNodeDef,
  ) {
    // The alarms keep working in memory meanwhile; a status that stays red says that a restart would lose them.
    this.snapshot = nodeSnapshot(RED, node, {
      folder: "blocks",
      type: "alarm-mail-block",
      // A key the editor shows in its language; the file and the reason are in the error.
      status: (fault) => `alarm-mail-block.${fault === "snapshot-unreadable" ? "status.unreadable" : "status.unsaved"}`,
      faulted: () => (this.lastStatus = ""),
      mended: () => this.showStatus(),
    });
    try {
      const config = parseBlockConfig(def as unknown as RawConfig);
      const restored = this.snapshot.load(decodeBlockSnapshot);
      this.options = config.options;
      this.engine = new AlarmEngine(config.alarms, config.options, restored?.engine, `${node.id}/`);
      this.store = new HistoryStore(
        nodeDataPath(RED, "history", node.id),
        { days: config.options.historyDays, maxEvents: config.options.historySize, seed: restored?.history },
        (damage) => this.warnHistory(`${damage.file}:${damage.line}`),
        (err) => this.warnHistory(err instanceof Error ? err.message : String(err)),
      );
      this.store.opened().catch((err: unknown) => this.warnHistory(err instanceof Error ? err.message : String(err)));
      this.savedRevision = this.engine.revision;
      this.refused = config.refused;
      if (config.refused.length > 0) node.error(this.refusedText());
    } catch (err) {
      this.configError = reportConfigError(RED, node, err, { status: true });
    }
    this.showStatus();
    node.on("input", (msg, send, done) => this.onInput(msg, send, done));
    node.on("close", (removed: boolean, done: () => void) => {
      void this.close(removed).finally(done);
    });
    this.stopWaiting = whenFlowsStart(RED, this.onStarted);
  }

  /** Each row left out, as the dialog says it: "Alarm 3 (TT-1-L): Enter the setpoint, a number." */
  refusedRows(): Array<RefusedAlarm & { reason: string; message: string }> {
    return this.refused.map((refused) => {
      const reason = `alarm-mail-block.validation.${refused.rule}`;
      const message = this.RED._("alarm-mail-block.validation.row", {
        row: refused.row,
        id: refused.id,
        message: this.RED._(reason),
      });
      return { ...refused, reason, message };
    });
  }

  /** The one error at deploy that names every row left out, and why. */
  private refusedText(): string {
    const rows = this.refusedRows().map((refused) => refused.message);
    return this.RED._("alarm-mail-block.warn.rows-refused", { count: rows.length, rows: rows.join(" ") });
  }

  /** The block's history, oldest first: what the CSV attacher exports. */
  async history(): Promise<HistoryRecord[]> {
    return (await this.store?.list()) ?? [];
  }

  /** The events with `from <= at < to`, oldest first, one at a time: what a report of a month reads. */
  async scanHistory(from: number, to: number, visit: (record: HistoryRecord) => void): Promise<void> {
    await this.store?.scan(from, to, visit);
  }

  /** The alarms in alarm or awaiting an acknowledgement, most urgent first, as `msg.alarm` shows them. */
  activeAlarms(): MessageAlarm[] {
    return (this.engine?.activeAlarms() ?? []).map(messageAlarm);
  }

  /**
   * The active alarms with the comment typed with each one's acknowledgement (on the link's page), which only the
   * history keeps. A history that cannot be read leaves the comments empty: the alarms themselves are in memory.
   */
  async activeAlarmRows(): Promise<ActiveAlarmRow[]> {
    const alarms = this.engine?.activeAlarms() ?? [];
    const store = this.store;
    const none = new Map<string, string>();
    const comments = store
      ? await ackComments(alarms, (from, to, visit) => store.scan(from, to, visit)).catch(() => none)
      : none;
    return alarms.map((alarm) => ({ ...messageAlarm(alarm), comment: comments.get(alarm.id) ?? null }));
  }

  /**
   * An acknowledgement from outside the flow (a reply to the alarm mail, the link in it) for one occurrence. It is on
   * disk before the promise settles, because the person is then told it was taken: the one-second save window of
   * values must not lose it. The `ack` event goes out of the block as a flow's ack does, to every send node.
   */
  async acknowledgeOccurrence(
    alarm: string,
    occurrence: string,
    args: { user: string | null; via: Exclude<AckVia, "flow">; comment?: string },
  ): Promise<OccurrenceAck | "block-unavailable" | "unsaved"> {
    if (!this.engine) return "block-unavailable";
    const { outcome, events } = this.engine.acknowledgeOccurrence(alarm, occurrence, args, Date.now());
    // What the person wrote with the acknowledgement (the link's page has a comment field) goes with its ack msg.
    const extra = args.comment ? { comment: args.comment } : undefined;
    this.publish(events, (msg) => this.node.send(msg), extra);
    if (outcome === "acked") {
      this.status.request();
      this.arm();
      // Taken in memory but not on disk (the block's status and log say why): the person must not be told it is safe.
      if (!(await this.save())) return "unsaved";
    }
    return outcome;
  }

  /** One alarm as `msg.alarm` shows it now, or undefined when the block has no such alarm (or no valid config). */
  alarm(id: string): MessageAlarm | undefined {
    // "*" is the engine's word for every alarm, never an alarm's id.
    if (!this.engine || id === "*") return undefined;
    try {
      const [found] = this.engine.select(id);
      return found === undefined ? undefined : messageAlarm(found);
    } catch (err) {
      if (err instanceof AlarmError) return undefined;
      throw err;
    }
  }

  summary(): BlockSummary | undefined {
    return this.engine?.summary();
  }

  /** The block's number or label, as `msg.block` carries it: what a CSV's file name says. */
  get block(): string | number {
    return this.options?.block ?? "";
  }

  /** Deadlines that passed while Node-RED was stopped fire once every node can receive what they send. */
  private readonly onStarted = (): void => {
    this.started = true;
    this.wake();
  };

  private onInput(msg: NodeMessageInFlow, send: Send, done: Done): void {
    try {
      if (!this.engine) throw this.configError;
      const now = Date.now();
      const fields = msg as NodeMessageInFlow & Record<string, unknown>;
      if (fields.command === "status") {
        send(this.statusMessage(msg, this.engine, fields.alarm));
      } else if (fields.command !== undefined) {
        const events = this.engine.command(
          fields.command,
          fields.alarm,
          { user: userOf(fields.user), duration: fields.duration },
          now,
        );
        if (fields.command === "reset" && fields.alarm !== "*" && !events.some((e) => e.event === "recovery")) {
          this.node.warn(this.RED._("alarm-mail-block.warn.nothing-to-reset", { alarm: String(fields.alarm) }));
        }
        this.publish(events, send);
      } else if (isPlainObject(msg.payload) && !(typeof msg.topic === "string" && this.engine.watches(msg.topic))) {
        // A whole PLC read: keys no alarm watches are the read's other tags, not mistakes. An object sent to a
        // watched topic is a bad value of that topic instead, and said so below.
        const events: AlarmEvent[] = [];
        let refused: AlarmError | undefined;
        for (const [topic, value] of Object.entries(msg.payload)) {
          const update = this.update(topic, value, now);
          events.push(...update.events);
          refused ??= update.refused;
        }
        this.publish(events, send);
        // One bad tag must not hide the others: they count, and then the msg ends in the error.
        if (refused) throw refused;
      } else {
        if (typeof msg.topic !== "string" || msg.topic === "") throw new AlarmError("topic-missing");
        if (!this.engine.watches(msg.topic)) this.countUnwatched(msg.topic);
        const update = this.update(msg.topic, msg.payload, now);
        if (update.refused) throw update.refused;
        this.publish(update.events, send);
      }
      this.afterChange();
      done();
    } catch (err) {
      // The error stays shown until the next good msg, not overwritten by a status that was waiting.
      this.status.cancel();
      this.lastStatus = "";
      // The good tags of a read with a bad one changed the alarms: their deadlines and snapshot still follow.
      this.arm();
      this.saveSoon();
      failMessage(this.RED, this.node, done, err);
    }
  }

  /**
   * A value the block cannot evaluate on a topic it watches is refused (an error a Catch node sees), and changes
   * nothing of its alarms.
   */
  private update(topic: string, value: unknown, now: number): { events: AlarmEvent[]; refused?: AlarmError } {
    try {
      return { events: this.engine?.update(topic, value, now) ?? [] };
    } catch (err) {
      if (!(err instanceof AlarmError)) throw err;
      return { events: [], refused: err };
    }
  }

  /**
   * A topic that no alarm watches is counted in the status rather than warned about at every msg: a typo shows
   * under the node, without flooding the debug sidebar. Counted once each, up to a bound.
   */
  private countUnwatched(topic: string): void {
    if (this.unwatched.has(topic) || this.unwatched.size >= UNWATCHED_REPORTED) return;
    this.unwatched.add(topic);
    this.status.request();
  }

  private publish(events: AlarmEvent[], send: Send, ackFields?: Record<string, string>): void {
    if (events.length === 0) return;
    for (const event of events) this.store?.add(historyRecord(event, ackFields?.comment));
    send([
      events.map((event) =>
        ackFields && event.event === "ack" ? { ...this.eventMessage(event), ...ackFields } : this.eventMessage(event),
      ),
    ]);
  }

  private eventMessage(event: AlarmEvent): NodeMessage {
    const alarm = event.alarm;
    const block = this.options?.block ?? "";
    const time = localTime(event.at);
    const t = (key: string, params: Record<string, PlaceholderValue> = {}) => this.text(key, params);
    if (!alarm) {
      const params = { block, count: this.options?.floodCount ?? 0, minutes: (this.options?.floodWindow ?? 0) / 60000 };
      return {
        event: event.event,
        block,
        flood: event.flood,
        topic: t(`subject.${event.event}`, params),
        payload: t(`text.${event.event}`, { ...params, time }),
      } as NodeMessage;
    }
    // What a text does not show is not built: the subject and most texts use a few of these.
    const { shelvedUntil, triggeredAt } = alarm;
    const params: Record<string, PlaceholderValue> = {
      id: alarm.id,
      label: alarm.label,
      priority: alarm.priority,
      block,
      time,
      state: () => t(`state.${alarm.state}`),
      event: () => t(`event.${event.event}`),
      user: event.user ?? (() => t("text.nobody")),
      until: () => (shelvedUntil === null ? "" : localTime(shelvedUntil)),
      since: () => (triggeredAt === null ? "" : localTime(triggeredAt)),
      condition: () =>
        t(`condition.${alarm.condition}`, {
          value: alarm.value === null ? "" : String(alarm.value),
          setpoint: alarm.setpoint,
          bit: alarm.bit ?? 0,
        }),
    };
    const textKey =
      event.event === "shelve" && alarm.shelvedUntil === null
        ? "text.shelve-one-shot"
        : event.event === "unshelve"
          ? `text.unshelve-${event.cause ?? "command"}`
          : `text.${event.event}`;
    return {
      event: event.event,
      alarm: messageAlarm(alarm),
      block,
      flood: event.flood,
      ...(event.user === undefined ? {} : { user: event.user }),
      ...(event.cause === undefined ? {} : { cause: event.cause }),
      topic: t("subject.alarm", params),
      payload: t(textKey, params),
    } as NodeMessage;
  }

  /** The reply to a status command: the input msg, so that an HTTP request flow can answer with it. */
  private statusMessage(msg: NodeMessageInFlow, engine: AlarmEngine, target: unknown): NodeMessage {
    const alarms = target === undefined ? engine.activeAlarms() : engine.select(target);
    const summary = engine.summary();
    const block = this.options?.block ?? "";
    const lines = alarms.map((alarm) =>
      this.text("text.status-line", {
        priority: alarm.priority,
        id: alarm.id,
        label: alarm.label,
        state: this.text(`state.${alarm.state}`),
        value: alarm.value === null ? "" : String(alarm.value),
      }),
    );
    return Object.assign(msg, {
      event: "status",
      block,
      flood: summary.flood,
      summary,
      alarms: alarms.map(messageAlarm),
      topic: this.text("subject.status", { block }),
      payload: [this.text("text.status", { block, ...counts(summary) }), ...lines].join("\n"),
    });
  }

  /**
   * A text of the block's catalogue, `key` under `alarm-mail-block.`: its template is translated once (i18next costs
   * tens of µs a call, more than an update), then filled with `params`. The catalogues use no plurals or nesting.
   */
  private text(key: string, params: Readonly<Record<string, PlaceholderValue>> = {}): string {
    let template = this.templates.get(key);
    if (template === undefined) {
      // Node-RED hands its options to i18next, whose skipInterpolation gives the text with its placeholders.
      const translate = this.RED._ as unknown as (id: string, options: { skipInterpolation: boolean }) => string;
      template = new TextTemplate(translate(`alarm-mail-block.${key}`, { skipInterpolation: true }));
      this.templates.set(key, template);
    }
    return template.fill(params);
  }

  private afterChange(): void {
    this.status.request();
    this.arm();
    this.saveSoon();
  }

  /** Arms the one timer of this block for the engine's next deadline. */
  private arm(): void {
    if (!this.engine || !this.started) return;
    this.deadline.arm(this.engine.nextDeadline());
  }

  private wake(): void {
    this.deadline.cancel();
    if (!this.engine) return;
    this.publish(this.engine.advance(Date.now()), (msg) => this.node.send(msg));
    this.afterChange();
  }

  /** Builds the status text only when the counts behind it changed: translating is the costly part. */
  private showStatus(): void {
    const summary = this.engine?.summary();
    if (!summary || this.snapshot.faulty) return;
    if (this.refused.length > 0) {
      // Until the table is mended; a catalogue key, which the editor shows in its own language.
      if (this.lastStatus === "refused") return;
      this.lastStatus = "refused";
      this.node.status({ fill: "yellow", shape: "ring", text: "alarm-mail-block.status.refused" });
      return;
    }
    const unwatched = this.unwatched.size;
    const key = `${summary.active}|${summary.unacked}|${summary.chattering}|${summary.flood}|${unwatched}`;
    if (key === this.lastStatus) return;
    this.lastStatus = key;
    // One thing in a few words, the most pressing first: shelved and hidden alarms are in the status command's reply.
    const params = counts(summary);
    const text = summary.flood
      ? this.text("status.flood", params)
      : summary.chattering > 0
        ? this.text("status.chattering", params)
        : unwatched > 0
          ? this.text("status.unwatched", { count: unwatched })
          : this.text("status.summary", params);
    const fill: NodeStatus["fill"] =
      summary.flood || summary.chattering > 0 ? "yellow" : summary.active > 0 || summary.unacked > 0 ? "blue" : "green";
    this.node.status({ fill, shape: "dot", text });
  }

  private warnHistory(reason: string): void {
    this.node.warn(this.RED._("alarm-mail-block.warn.history-damaged", { reason }));
  }

  private saveSoon(): void {
    if (!this.engine || this.engine.revision === this.savedRevision || this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      void this.save();
    }, SAVE_DELAY_MS);
  }

  /** Writes the state now; false when the disk refused it (then said in the status and log). */
  private async save(): Promise<boolean> {
    if (!this.engine) return false;
    const revision = this.engine.revision;
    this.savedRevision = revision;
    // The history has its own files now; an empty list keeps the snapshot readable by an older version.
    const engine = this.engine;
    const saved = await this.snapshot.write(() =>
      encodeBlockSnapshot({ engine: engine.snapshot(), history: [] }, Date.now()),
    );
    // The next change tries again; until then the previous snapshot stays whole.
    if (!saved) this.savedRevision = -1;
    return saved;
  }

  private async close(removed: boolean): Promise<void> {
    this.stopWaiting();
    this.status.cancel();
    this.deadline.cancel();
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    const unsaved = this.engine !== undefined && this.engine.revision !== this.savedRevision;
    const file = this.snapshot.file;
    const work = removed ? file.remove() : unsaved ? this.save() : file.settled();
    const history = (removed ? this.store?.remove() : this.store?.close()) ?? Promise.resolve();
    await closeWithinBudget(
      Promise.all([
        work.catch((err: unknown) => this.snapshot.fault("snapshot-unreadable", err)),
        history.catch((err: unknown) => this.warnHistory(err instanceof Error ? err.message : String(err))),
      ]),
    );
  }
}

/** The deployed `alarm-mail-block` node `id`, for the nodes that read its alarms and history. */
export function findBlock(RED: NodeAPI, id: unknown): BlockNode | undefined {
  return deployedNode<BlockNodeObject>(RED, id, "alarm-mail-block")?.alarmBlock;
}

/** The summary's numbers, as catalogue placeholders take them. */
function counts(s: BlockSummary): Record<string, number> {
  return {
    alarms: s.alarms,
    active: s.active,
    unacked: s.unacked,
    shelved: s.shelved,
    suppressed: s.suppressed,
    outOfService: s.outOfService,
    chattering: s.chattering,
  };
}

function messageAlarm(alarm: AlarmView): MessageAlarm {
  return {
    ...alarm,
    triggeredAt: iso(alarm.triggeredAt),
    ackedAt: iso(alarm.ackedAt),
    recoveredAt: iso(alarm.recoveredAt),
    shelvedUntil: iso(alarm.shelvedUntil),
  };
}

function iso(at: number | null): string | null {
  return at === null ? null : new Date(at).toISOString();
}

/** The gateway's local time, as an operator reads it on a phone: 2026-01-15 08:42:05. */
function localTime(at: number): string {
  const d = new Date(at);
  const two = (n: number) => String(n).padStart(2, "0");
  return (
    `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ` +
    `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`
  );
}

function userOf(user: unknown): string | null {
  if (typeof user === "string" && user.trim() !== "") return user.trim();
  return typeof user === "number" ? String(user) : null;
}
