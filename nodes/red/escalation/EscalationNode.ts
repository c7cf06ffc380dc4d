import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow, NodeStatus } from "node-red";
import { DeadlineTimer } from "../../lib/common/DeadlineTimer";
import { isPlainObject } from "../../lib/common/PlainObject";
import type { SnapshotState } from "../../lib/common/SnapshotState";
import { Throttle } from "../../lib/common/Throttle";
import {
  EscalationError,
  parseEscalationConfig,
  ROSTER_PREFIX,
  type EscalationConfig,
} from "../../lib/escalation/EscalationConfig";
import {
  EscalationEngine,
  type EscalationEvent,
  type EscalationInput,
  type EscalationOutput,
} from "../../lib/escalation/EscalationEngine";
import { decodeEscalationSnapshot, SnapshotEncoder } from "../../lib/escalation/EscalationSnapshot";
import { closeWithinBudget, failMessage, reportConfigError } from "../kit/lifecycle";
import { deployedNode, whenFlowsStart } from "../kit/nodes";
import { nodeSnapshot } from "../kit/snapshots";
import { recipientsNamed } from "../recipients/RecipientsNode";

export interface EscalationNodeDef extends NodeDef {
  levels?: unknown;
  rosters?: unknown;
  quiet?: unknown;
  stopOn?: string;
  tz?: string;
}

/** The node object of an `alarm-mail-escalation`: `RED.nodes.getNode(id).escalation` is its runtime. */
export interface EscalationNodeObject extends Node {
  escalation: EscalationNode;
}

type Send = (msg: NodeMessage | Array<NodeMessage | NodeMessage[] | null>) => void;
type Done = (err?: Error) => void;

const STATUS_INTERVAL_MS = 250;
/** The block's events that the people on duty are told of; the others (shelving, floods) are not theirs to act on. */
const FOLLOWED = new Set(["trigger", "ack", "recovery"]);

/**
 * The runtime side of an `alarm-mail-escalation`: feeds the block's trigger, ack and recovery msgs to the engine,
 * turns its events into msgs for a send node (`msg.recipients` naming the group), wakes at the next deadline, and
 * keeps the state on disk: written at once after every change, and a msg is done only once its change is saved,
 * so that a kill -9 loses no pending reminder.
 */
export class EscalationNode {
  readonly configError?: Error;
  private readonly engine?: EscalationEngine;
  private readonly config?: EscalationConfig;
  /** The state on disk: a read or save that failed shows a red status that stays until a save works. */
  private readonly snapshot: SnapshotState;
  private started = false;
  private readonly deadline = new DeadlineTimer(() => this.wake());
  private readonly stopWaiting: () => void;
  private savedRevision = 0;
  /** The write that has not started yet: every change made before it starts is in it. */
  private nextWrite?: Promise<void>;
  private readonly encoder = new SnapshotEncoder();
  private lastStatus = "";
  private readonly status = new Throttle(() => this.showStatus(), STATUS_INTERVAL_MS);

  constructor(
    private readonly RED: NodeAPI,
    private readonly node: Node,
    def: EscalationNodeDef,
  ) {
    // Nobody must trust reminders that a restart would lose; the escalation keeps working in memory meanwhile.
    this.snapshot = nodeSnapshot(RED, node, {
      folder: "escalation",
      type: "alarm-mail-escalation",
      status: (fault) => RED._(`alarm-mail-escalation.status.${fault}`),
      faulted: () => (this.lastStatus = ""),
      mended: () => this.showStatus(),
    });
    try {
      const config = parseEscalationConfig(def as unknown as Record<string, unknown>);
      this.config = config;
      this.engine = new EscalationEngine(config, this.snapshot.load(decodeEscalationSnapshot));
      this.savedRevision = this.engine.revision;
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

  /** Deadlines that passed while Node-RED was stopped fire once every node can receive what they send. */
  private readonly onStarted = (): void => {
    this.started = true;
    this.checkGroups();
    this.wake();
  };

  /**
   * A group that no deployed recipients node answers to is said at start, once each, rather than first at 3 a.m.
   * when the send node refuses the escalation. Config nodes exist by the time the flows have started.
   */
  private checkGroups(): void {
    if (!this.config) return;
    const named = new Set<string>();
    for (const level of this.config.levels) {
      if (!level.recipients.startsWith(ROSTER_PREFIX)) named.add(level.recipients);
    }
    for (const shifts of this.config.rosters.values()) for (const shift of shifts) named.add(shift.recipients);
    for (const group of named) {
      try {
        recipientsNamed(this.RED, group);
      } catch {
        this.node.warn(this.RED._("alarm-mail-escalation.warn.group-unknown", { group }));
      }
    }
  }

  private onInput(msg: NodeMessageInFlow, send: Send, done: Done): void {
    try {
      if (!this.engine) throw this.configError;
      if (typeof msg.event !== "string" || !FOLLOWED.has(msg.event)) {
        done();
        return;
      }
      const input = inputOf(msg);
      const out = this.engine.receive(input, Date.now());
      this.emit(out, send, { input, msg });
      this.afterChange().then(
        () => done(),
        () => done(),
      );
    } catch (err) {
      this.status.cancel();
      this.lastStatus = "";
      failMessage(this.RED, this.node, done, err);
    }
  }

  /**
   * The engine's events as msgs, all on the one output in the order it raised them. The event that answers the
   * msg just received carries that msg's fields; the others, raised by a deadline, the trigger's as it was saved.
   */
  private emit(out: EscalationOutput, send: Send, current?: { input: EscalationInput; msg: NodeMessageInFlow }) {
    for (const gap of out.unstaffed) {
      this.node.warn(this.RED._("alarm-mail-escalation.warn.unstaffed", { level: gap.level, roster: gap.roster }));
    }
    if (out.events.length === 0) return;
    const msgs = out.events.map((event) => {
      const own = current && event.key === current.input.key && event.event === current.input.event;
      const base = own ? this.RED.util.cloneMessage(current.msg) : fromData(event.data);
      return this.eventMessage(event, base as Record<string, unknown>);
    });
    send([msgs]);
  }

  private eventMessage(event: EscalationEvent, base: Record<string, unknown>): NodeMessage {
    const msg: Record<string, unknown> = {
      ...base,
      event: event.event,
      recipients: event.recipients,
      // `at` places a reminder or an escalation among the occurrence's mails, which the send node keeps in order.
      escalation: { level: event.level, attempt: event.attempt, recipients: event.recipients, at: event.at },
    };
    if ((event.event === "reminder" || event.event === "escalation") && typeof base.topic === "string") {
      msg.topic = this.RED._(`alarm-mail-escalation.subject.${event.event}`, {
        topic: base.topic,
        level: event.level,
        attempt: event.attempt,
      });
    }
    return msg as NodeMessage;
  }

  private afterChange(): Promise<void> {
    this.status.request();
    this.arm();
    return this.save();
  }

  /** Arms the one timer of this node for the engine's next deadline. */
  private arm(): void {
    if (!this.engine || !this.started) return;
    this.deadline.arm(this.engine.nextDeadline());
  }

  private wake(): void {
    this.deadline.cancel();
    if (!this.engine) return;
    this.emit(this.engine.advance(Date.now()), (msg) => this.node.send(msg));
    void this.afterChange();
  }

  private showStatus(): void {
    if (!this.engine || this.snapshot.faulty) return;
    const summary = this.engine.summary();
    const time = summary.next === undefined ? "" : this.engine.wallClock().hhmm(summary.next);
    const key = `${summary.open}|${summary.unacked}|${summary.held}|${time}`;
    if (key === this.lastStatus) return;
    this.lastStatus = key;
    const params = { unacked: summary.unacked, held: summary.held, hhmm: time, open: summary.open };
    let status: NodeStatus;
    if (summary.open === 0) {
      status = { fill: "green", shape: "dot", text: this.RED._("alarm-mail-escalation.status.idle") };
    } else if (summary.held > 0) {
      status = { fill: "yellow", shape: "ring", text: this.RED._("alarm-mail-escalation.status.held", params) };
    } else {
      const text = time === "" ? "status.unacked" : "status.next";
      status = { fill: "blue", shape: "dot", text: this.RED._(`alarm-mail-escalation.${text}`, params) };
    }
    this.node.status(status);
  }

  /** Writes the state if it changed: one write at a time, and the changes made meanwhile share the next one. */
  private save(): Promise<void> {
    const engine = this.engine;
    const file = this.snapshot.file;
    if (!engine || engine.revision === this.savedRevision) return file.settled();
    if (this.nextWrite) return this.nextWrite;
    const write = file.settled().then(async () => {
      this.nextWrite = undefined;
      const revision = engine.revision;
      if (await this.snapshot.write(() => this.encoder.encode(engine, Date.now()))) {
        this.savedRevision = Math.max(this.savedRevision, revision);
      }
    });
    this.nextWrite = write;
    return write;
  }

  private async close(removed: boolean): Promise<void> {
    this.stopWaiting();
    this.status.cancel();
    this.deadline.cancel();
    const file = this.snapshot.file;
    const work = removed ? file.settled().then(() => file.remove()) : this.save();
    await closeWithinBudget(work.catch((err: unknown) => this.snapshot.fault("snapshot-unwritable", err)));
  }
}

/** The deployed `alarm-mail-escalation` node `id`. */
export function findEscalation(RED: NodeAPI, id: unknown): EscalationNode | undefined {
  return deployedNode<EscalationNodeObject>(RED, id, "alarm-mail-escalation")?.escalation;
}

/**
 * What the engine needs of a block's msg. The occurrence names it; a block from before occurrences existed is keyed
 * by its block, alarm and trigger time, which is what an occurrence is.
 */
function inputOf(msg: NodeMessageInFlow): EscalationInput {
  const alarm = (msg as { alarm?: unknown }).alarm;
  if (!isPlainObject(alarm)) throw new EscalationError("occurrence-missing");
  let key = typeof alarm.occurrence === "string" && alarm.occurrence !== "" ? alarm.occurrence : undefined;
  if (key === undefined && typeof alarm.id === "string" && typeof alarm.triggeredAt === "string") {
    key = `${String(alarm.block ?? "")}/${alarm.id}/${alarm.triggeredAt}`;
  }
  if (key === undefined) throw new EscalationError("occurrence-missing");
  const event = msg.event as EscalationInput["event"];
  const priority = typeof alarm.priority === "number" && Number.isFinite(alarm.priority) ? alarm.priority : 1;
  return {
    key,
    event,
    priority,
    over: alarm.state === "normal",
    ...(event === "trigger" ? { data: storable(msg) } : {}),
  };
}

/**
 * The trigger msg as the state file keeps it, to be sent again with reminders: its own fields, without an HTTP
 * request, attachments (made again by the attachers downstream) or the msg id (each reminder is a msg of its own).
 */
function storable(msg: NodeMessageInFlow): unknown {
  const { req: _req, res: _res, attachments: _attachments, _msgid: _id, ...rest } = msg as Record<string, unknown>;
  try {
    return JSON.parse(JSON.stringify(rest)) as unknown;
  } catch {
    return { topic: msg.topic, payload: String(msg.payload), alarm: (msg as { alarm?: unknown }).alarm };
  }
}

function fromData(data: unknown): Record<string, unknown> {
  return isPlainObject(data) ? structuredClone(data) : {};
}
