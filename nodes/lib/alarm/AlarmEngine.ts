import { AlarmError } from "./AlarmError";
import { durationRangeText, readDuration, type DurationRange } from "../common/Duration";
import type { AckMode, AlarmDefinition, BlockOptions, Condition, Priority } from "./BlockConfig";
import { DeadlineQueue } from "./DeadlineQueue";
import { valueText } from "../common/ValueText";

/**
 * The alarm states of ISA-18.2 / IEC 62682. A latching alarm whose condition cleared keeps `unacked` or `acked`
 * (with `latched: true`) until it is reset.
 */
export type AlarmState = "normal" | "unacked" | "acked" | "rtn-unacked" | "shelved" | "suppressed" | "out-of-service";

export type AlarmValue = number | boolean;

/** How an acknowledgement came: a msg in the flow, a reply to the alarm mail, or the link in it. */
export type AckVia = "flow" | "mail" | "link";

/**
 * What became of an acknowledgement for one occurrence (from a mail reply or link): taken, or why not. An occurrence
 * that is over was acknowledged, so it answers `already-acked`; one that a newer occurrence replaced is `outdated`.
 */
export type OccurrenceAck = "acked" | "already-acked" | "outdated" | "unknown-alarm";

export type AlarmEventType =
  | "trigger"
  | "ack"
  | "recovery"
  | "shelve"
  | "unshelve"
  | "suppress"
  | "unsuppress"
  | "out-of-service"
  | "in-service"
  | "chattering"
  | "chattering-end"
  | "flood"
  | "flood-end";

export const COMMANDS = [
  "ack",
  "shelve",
  "unshelve",
  "reset",
  "suppress",
  "unsuppress",
  "out-of-service",
  "in-service",
] as const;
export type Command = (typeof COMMANDS)[number];

/** Which alarms a command is for: an id, several, or "*" for all of them. */
export type AlarmTarget = unknown;

/** An alarm as events, the status command and the list of active alarms show it. Times are epoch ms. */
export interface AlarmView {
  id: string;
  label: string;
  block: string | number;
  priority: Priority;
  state: AlarmState;
  value: AlarmValue | null;
  setpoint: number;
  condition: Condition;
  triggeredAt: number | null;
  ackedAt: number | null;
  recoveredAt: number | null;
  ackBy: string | null;
  ackVia: AckVia | null;
  /** The current or last occurrence: unique to it and stable across restarts; null before the first. */
  occurrence: string | null;
  topic: string;
  bit?: number;
  ack: AckMode;
  /** In alarm: its condition holds (after the on-delay), or it is latched. */
  active: boolean;
  latched: boolean;
  /** When a timed shelve ends; null while not shelved or for a one-shot shelve. */
  shelvedUntil: number | null;
  chattering: boolean;
}

export interface AlarmEvent {
  event: AlarmEventType;
  at: number;
  /** Absent for block-wide events (flood, flood-end). */
  alarm?: AlarmView;
  /** Who acknowledged, shelved or reset, when the command said. */
  user?: string | null;
  /** Why an alarm was unshelved: a command, its time ran out, or a one-shot shelve ended with the occurrence. */
  cause?: "command" | "expired" | "one-shot";
  /** Whether the block is in an alarm flood when the event happens. */
  flood: boolean;
}

export interface BlockSummary {
  alarms: number;
  /** In alarm and shown: not shelved, suppressed or out of service. */
  active: number;
  unacked: number;
  shelved: number;
  suppressed: number;
  outOfService: number;
  chattering: number;
  flood: boolean;
}

/** What survives a restart for one alarm. */
export interface SlotState {
  value: AlarmValue | null;
  /**
   * The condition on the last value, before the on and off delays; the deadband applies while the alarm is active.
   * Older snapshots worked it out with the deadband during the on-delay too: it is worked out again when a snapshot is
   * loaded.
   */
  raw: boolean;
  /** The condition after the on and off delays. */
  active: boolean;
  /** While raw and active differ: when active follows raw. */
  pendingAt: number | null;
  latched: boolean;
  acked: boolean;
  /** A trigger was reported for the current occurrence, and no recovery yet. */
  announced: boolean;
  triggeredAt: number | null;
  ackedAt: number | null;
  recoveredAt: number | null;
  ackBy: string | null;
  /** Absent in snapshots from before acknowledgement by mail: read as null. */
  ackVia?: AckVia | null;
  /** Absent in snapshots from before occurrences had names: made from the trigger time when read. */
  occurrence?: string | null;
  shelved: boolean;
  shelvedUntil: number | null;
  suppressed: boolean;
  outOfService: boolean;
  /**
   * The times of the last triggers (transitions into alarm), as many as chattering needs. The name is from when
   * chattering counted the condition's activations; it is kept so that snapshots stay readable both ways.
   */
  activations: number[];
  chattering: boolean;
  chatterEndsAt: number | null;
}

export interface FloodState {
  /** The last triggers of the block, one more than the flood threshold. */
  times: number[];
  active: boolean;
  endsAt: number | null;
}

export interface EngineSnapshot {
  alarms: Record<string, SlotState>;
  flood: FloodState;
}

interface Slot extends SlotState {
  readonly def: AlarmDefinition;
  /** Which counters this alarm is in now (FLAG_*), so that a change adjusts them without a scan of the table. */
  flags: number;
}

type EventExtra = Pick<AlarmEvent, "user" | "cause">;

type Deadline = { kind: "delay" | "shelve" | "chatter"; slot: Slot } | { kind: "flood" };

/** A shelve lasts at least 1 ms: 0 or less would unshelve before the command returns. */
const SHELVE_RANGE: DurationRange = { least: 1 };

const FLAG_ACTIVE = 1;
const FLAG_UNACKED = 2;
const FLAG_SHELVED = 4;
const FLAG_SUPPRESSED = 8;
const FLAG_OUT_OF_SERVICE = 16;
const FLAG_CHATTERING = 32;
const FLAG_LISTED = 64;
const FLAGS = [FLAG_ACTIVE, FLAG_UNACKED, FLAG_SHELVED, FLAG_SUPPRESSED, FLAG_OUT_OF_SERVICE, FLAG_CHATTERING];

/** Numbers, booleans and numeric strings are values; anything else is not. */
export function coerceValue(input: unknown): AlarmValue | undefined {
  if (typeof input === "boolean") return input;
  const n = typeof input === "number" ? input : typeof input === "string" && input.trim() !== "" ? Number(input) : NaN;
  if (!Number.isFinite(n)) return undefined;
  // -0 would come back from a saved snapshot as 0; make it 0 from the start.
  return n === 0 ? 0 : n;
}

/**
 * Whether an alarm's condition holds for a value. `active` is whether the alarm is active (in alarm after its delays):
 * high and low then clear only once the value is back past the setpoint by the deadband, so that a value hovering at
 * the setpoint cannot re-trigger. The deadband holds only the return to normal (ISA-18.2 deadband, OPC UA Part 9
 * B.1.5): an alarm still in its on-delay is not active, and its condition must hold on the setpoint itself.
 */
export function conditionHolds(def: AlarmDefinition, value: number, active: boolean): boolean {
  switch (def.condition) {
    case "high":
      return active ? value > def.setpoint - def.deadband : value > def.setpoint;
    case "low":
      return active ? value < def.setpoint + def.deadband : value < def.setpoint;
    case "equal":
      return value === def.setpoint;
    case "not-equal":
      return value !== def.setpoint;
    case "true":
      return value !== 0;
    case "false":
      return value === 0;
    case "bit":
      // ToInt32 keeps the low 32 bits, so signed 16-bit words read as negative numbers work as well.
      return ((value >> def.bit) & 1) === 1;
  }
}

function freshState(): SlotState {
  return {
    value: null,
    raw: false,
    active: false,
    pendingAt: null,
    latched: false,
    acked: true,
    announced: false,
    triggeredAt: null,
    ackedAt: null,
    recoveredAt: null,
    ackBy: null,
    ackVia: null,
    occurrence: null,
    shelved: false,
    shelvedUntil: null,
    suppressed: false,
    outOfService: false,
    activations: [],
    chattering: false,
    chatterEndsAt: null,
  };
}

/**
 * Evaluates a block's alarms from values and commands into ISA-18.2 states and events. Pure: it never reads a clock
 * nor sets a timer. Every call takes `now`, first fires the deadlines (on and off delays, shelve expiry, end of
 * chattering or flood) that are due by then, and returns the events in the order they happened; the caller wakes it
 * at `nextDeadline()`. A value costs O(alarms on its topic), whatever the size of the table.
 */
export class AlarmEngine {
  /** Bumped by every change that a restart must see; the caller saves a snapshot when it moved. */
  revision = 0;
  private readonly slots: Slot[];
  private readonly byId = new Map<string, Slot>();
  private readonly byTopic = new Map<string, Slot[]>();
  private readonly deadlines = new DeadlineQueue<Deadline>();
  /** Alarms in alarm or awaiting an acknowledgement: the list of active alarms. */
  private readonly listed = new Set<Slot>();
  private readonly counts = new Map<number, number>(FLAGS.map((flag) => [flag, 0]));
  private flood: FloodState = { times: [], active: false, endsAt: null };
  private out: AlarmEvent[] = [];

  constructor(
    definitions: AlarmDefinition[],
    private readonly options: BlockOptions,
    restored?: EngineSnapshot,
    /** Put before every occurrence name, so that names are unique across blocks too (the block node's id). */
    private readonly occurrencePrefix = "",
  ) {
    this.slots = definitions.map((def) => makeSlot(def, restored?.alarms[def.id] ?? freshState(), occurrencePrefix));
    for (const slot of this.slots) {
      if (slot.value !== null) {
        // A snapshot from before the deadband held only an active alarm, or from an older table, may keep a condition
        // and a running delay that the last value no longer gives: the value decides.
        slot.raw = conditionHolds(slot.def, Number(slot.value), slot.active);
        if (slot.raw === slot.active) slot.pendingAt = null;
      }
      this.byId.set(slot.def.id, slot);
      const list = this.byTopic.get(slot.def.topic);
      if (list) list.push(slot);
      else this.byTopic.set(slot.def.topic, [slot]);
      this.refresh(slot);
      if (slot.pendingAt !== null) this.schedule(slot.pendingAt, { kind: "delay", slot });
      if (slot.shelved && slot.shelvedUntil !== null) this.schedule(slot.shelvedUntil, { kind: "shelve", slot });
      if (slot.chattering && slot.chatterEndsAt !== null) this.schedule(slot.chatterEndsAt, { kind: "chatter", slot });
    }
    if (restored) {
      this.flood = { ...restored.flood, times: restored.flood.times.slice(-(options.floodCount + 1)) };
      if (this.flood.active && this.flood.endsAt !== null) this.schedule(this.flood.endsAt, { kind: "flood" });
    }
  }

  get size(): number {
    return this.slots.length;
  }

  /** Whether any alarm watches this topic. */
  watches(topic: string): boolean {
    return this.byTopic.has(topic);
  }

  /**
   * A new value for a topic. A value that is not a number, a boolean or a numeric string (or not an integer for a
   * bit alarm) is refused with `value-invalid` before anything changes.
   */
  update(topic: string, input: unknown, now: number): AlarmEvent[] {
    const slots = this.byTopic.get(topic) ?? [];
    const value = coerceValue(input);
    if (slots.length > 0 && value === undefined)
      throw new AlarmError("value-invalid", { topic, value: valueText(input) });
    const number = Number(value);
    if (!Number.isInteger(number) && slots.some((slot) => slot.def.condition === "bit")) {
      throw new AlarmError("value-invalid", { topic, value: valueText(input) });
    }
    this.begin(now);
    for (const slot of slots) {
      slot.value = value ?? null;
      const raw = conditionHolds(slot.def, number, slot.active);
      if (raw !== slot.raw) {
        slot.raw = raw;
        this.revision++;
      }
      if (raw === slot.active) {
        if (slot.pendingAt !== null) {
          slot.pendingAt = null;
          this.revision++;
        }
      } else {
        const delay = raw ? slot.def.onDelay : slot.def.offDelay;
        if (delay === 0) {
          this.setActive(slot, raw, now);
        } else if (slot.pendingAt === null) {
          slot.pendingAt = now + delay;
          this.schedule(slot.pendingAt, { kind: "delay", slot });
          this.revision++;
        }
      }
      this.refresh(slot);
    }
    return this.end();
  }

  /**
   * A command for some alarms; an `ack` without a target acknowledges all of them. Unknown ids, a missing target
   * (for the other commands) or a bad shelve duration are refused with an `AlarmError` before anything changes.
   * Commands that do not apply to an alarm (acknowledging an acknowledged alarm, resetting one that is not latched)
   * leave it as it is and report nothing for it.
   */
  command(
    command: unknown,
    target: AlarmTarget,
    args: { user?: string | null; duration?: unknown; via?: AckVia },
    now: number,
  ): AlarmEvent[] {
    if (typeof command !== "string" || !isCommand(command)) {
      throw new AlarmError("command-invalid", { command: valueText(command) });
    }
    // An HMI's "acknowledge all": an ack that names no alarm is for every alarm of the block.
    const slots = this.resolve(command === "ack" && target === undefined ? "*" : target);
    const until = command === "shelve" ? shelveDeadline(args.duration, now) : null;
    const user = args.user ?? null;
    this.begin(now);
    for (const slot of slots) {
      switch (command) {
        case "ack":
          this.acknowledge(slot, user, args.via ?? "flow", now);
          break;
        case "reset":
          if (slot.latched && !slot.active) {
            slot.latched = false;
            this.recover(slot, now, user);
            this.endOneShot(slot, now);
          }
          break;
        case "shelve":
          slot.shelved = true;
          slot.shelvedUntil = until;
          if (until !== null) this.schedule(until, { kind: "shelve", slot });
          this.emit("shelve", slot, now, { user });
          break;
        case "unshelve":
          if (slot.shelved) this.unshelve(slot, "command", now, user);
          break;
        case "suppress":
        case "out-of-service":
          this.setHidden(slot, command, true, now, user);
          break;
        case "unsuppress":
        case "in-service":
          this.setHidden(slot, command, false, now, user);
          break;
      }
      this.refresh(slot);
    }
    return this.end();
  }

  /** Fires the deadlines due by `now`. */
  advance(now: number): AlarmEvent[] {
    this.begin(now);
    return this.end();
  }

  /** When the engine next needs `advance`, if ever. */
  nextDeadline(): number | undefined {
    for (let next = this.deadlines.peek(); next; next = this.deadlines.peek()) {
      if (this.isCurrent(next.at, next.item)) return next.at;
      this.deadlines.pop();
    }
    return undefined;
  }

  /**
   * Acknowledges one occurrence of one alarm, as a reply to its mail or the link in it asks: only while that occurrence
   * is the alarm's current one and unacknowledged, so that an old mail cannot acknowledge a newer alarm.
   */
  acknowledgeOccurrence(
    alarm: string,
    occurrence: string,
    args: { user: string | null; via: AckVia },
    now: number,
  ): { outcome: OccurrenceAck; events: AlarmEvent[] } {
    const slot = this.byId.get(alarm);
    if (!slot) return { outcome: "unknown-alarm", events: [] };
    this.begin(now);
    let outcome: OccurrenceAck;
    if (slot.occurrence !== occurrence) outcome = "outdated";
    else if (slot.acked) outcome = "already-acked";
    else {
      this.acknowledge(slot, args.user, args.via, now);
      outcome = "acked";
    }
    return { outcome, events: this.end() };
  }

  /** The alarms a target names, as they are now; throws like `command` for unknown ids. */
  select(target: AlarmTarget): AlarmView[] {
    return this.resolve(target).map((slot) => this.view(slot));
  }

  /** The alarms in alarm or awaiting an acknowledgement, most urgent first, then oldest first. */
  activeAlarms(): AlarmView[] {
    return [...this.listed]
      .map((slot) => this.view(slot))
      .sort((a, b) => a.priority - b.priority || (a.triggeredAt ?? 0) - (b.triggeredAt ?? 0));
  }

  summary(): BlockSummary {
    const count = (flag: number) => this.counts.get(flag) ?? 0;
    return {
      alarms: this.slots.length,
      active: count(FLAG_ACTIVE),
      unacked: count(FLAG_UNACKED),
      shelved: count(FLAG_SHELVED),
      suppressed: count(FLAG_SUPPRESSED),
      outOfService: count(FLAG_OUT_OF_SERVICE),
      chattering: count(FLAG_CHATTERING),
      flood: this.flood.active,
    };
  }

  snapshot(): EngineSnapshot {
    const alarms: Record<string, SlotState> = {};
    for (const slot of this.slots) alarms[slot.def.id] = stateOfSlot(slot);
    return { alarms, flood: { ...this.flood, times: [...this.flood.times] } };
  }

  private begin(now: number): void {
    this.out = [];
    for (let next = this.deadlines.peek(); next && next.at <= now; next = this.deadlines.peek()) {
      this.deadlines.pop();
      if (this.isCurrent(next.at, next.item)) this.fire(next.at, next.item);
    }
  }

  private end(): AlarmEvent[] {
    const events = this.out;
    this.out = [];
    return events;
  }

  private fire(at: number, deadline: Deadline): void {
    if (deadline.kind === "flood") {
      this.flood.active = false;
      this.flood.endsAt = null;
      this.emit("flood-end", null, at);
      return;
    }
    const slot = deadline.slot;
    switch (deadline.kind) {
      case "delay":
        slot.pendingAt = null;
        this.revision++;
        // A snapshot from a configuration that has since changed may hold a timer with nothing left to do.
        if (slot.raw !== slot.active) this.setActive(slot, slot.raw, at);
        break;
      case "shelve":
        this.unshelve(slot, "expired", at, null);
        break;
      case "chatter":
        slot.chattering = false;
        slot.chatterEndsAt = null;
        this.emit("chattering-end", slot, at);
        break;
    }
    this.refresh(slot);
  }

  private isCurrent(at: number, deadline: Deadline): boolean {
    switch (deadline.kind) {
      case "delay":
        return deadline.slot.pendingAt === at;
      case "shelve":
        return deadline.slot.shelved && deadline.slot.shelvedUntil === at;
      case "chatter":
        return deadline.slot.chattering && deadline.slot.chatterEndsAt === at;
      case "flood":
        return this.flood.active && this.flood.endsAt === at;
    }
  }

  private schedule(at: number, deadline: Deadline): void {
    this.deadlines.push(at, deadline);
    // Cancelled timers stay in the queue until their time; drop them once they outnumber the live ones.
    if (this.deadlines.size > 4 * this.slots.length + 1024) {
      this.deadlines.compact((when, item) => this.isCurrent(when, item));
    }
  }

  private resolve(target: AlarmTarget): Slot[] {
    if (target === "*") return this.slots;
    const ids = Array.isArray(target) ? target : [target];
    if (ids.length === 0 || ids.some((id) => id === undefined || id === null || id === "")) {
      throw new AlarmError("alarm-missing");
    }
    return ids.map((id) => {
      const slot = typeof id === "string" || typeof id === "number" ? this.byId.get(String(id)) : undefined;
      if (!slot) throw new AlarmError("alarm-unknown", { alarm: valueText(id) });
      return slot;
    });
  }

  /** The condition, after its delays, starts or stops holding. */
  private setActive(slot: Slot, active: boolean, at: number): void {
    slot.active = active;
    this.revision++;
    if (active) {
      // A latched alarm whose condition returns is the same occurrence, still reported.
      slot.latched = false;
      this.announceIfShown(slot, at);
    } else {
      if (slot.announced && slot.def.latch) slot.latched = true;
      else if (slot.announced) this.recover(slot, at, null);
      // A latched alarm has not returned to normal until it is reset: its one-shot shelving lasts until then.
      if (!slot.latched) this.endOneShot(slot, at);
    }
    this.refresh(slot);
  }

  /** A one-shot shelving ends when the alarm returns to normal (OPC UA Part 9, 5.8.17). */
  private endOneShot(slot: Slot, at: number): void {
    if (slot.shelved && slot.shelvedUntil === null) this.unshelve(slot, "one-shot", at, null);
  }

  /** In alarm, shown, and its occurrence not reported yet: a new occurrence, reported now. */
  private isUnreported(slot: Slot): boolean {
    return !slot.announced && (slot.active || slot.latched) && !hidden(slot);
  }

  /** A new occurrence is reported only while the alarm is shown; it is reported when the alarm is shown again. */
  private announceIfShown(slot: Slot, at: number): void {
    if (!this.isUnreported(slot)) return;
    this.startOccurrence(slot, at);
    this.announce(slot, at);
  }

  /** A new occurrence is unacknowledged (ISA-18.2 state B), unless the alarm needs no acknowledgement. */
  private startOccurrence(slot: Slot, at: number): void {
    slot.announced = true;
    slot.triggeredAt = at;
    slot.recoveredAt = null;
    slot.ackBy = null;
    slot.ackVia = null;
    slot.occurrence = nextOccurrence(this.occurrencePrefix, slot, at);
    slot.acked = slot.def.ack === "none";
    slot.ackedAt = slot.acked ? at : null;
  }

  /** The trigger of a started occurrence; chattering is counted first, so that the trigger already says it. */
  private announce(slot: Slot, at: number): void {
    this.countChatter(slot, at);
    this.emit("trigger", slot, at);
    this.countTrigger(at);
  }

  /**
   * Leaving shelved, suppressed or out of service, the alarm is evaluated again from its condition (ISA-18.2 state
   * diagram, transitions out of E, F and G): in alarm with an occurrence nobody saw, it is a new occurrence, which the
   * event that shows it already reports as unacknowledged, before its trigger.
   */
  private show(slot: Slot, event: "unshelve" | "unsuppress" | "in-service", at: number, extra: EventExtra): void {
    const fresh = this.isUnreported(slot);
    if (fresh) this.startOccurrence(slot, at);
    this.emit(event, slot, at, extra);
    if (fresh) this.announce(slot, at);
  }

  /** The end of a reported occurrence: reported even while the alarm is hidden, since its trigger was. */
  private recover(slot: Slot, at: number, user: string | null): void {
    slot.announced = false;
    slot.recoveredAt = at;
    if (slot.def.ack === "auto" && !slot.acked) {
      slot.acked = true;
      slot.ackedAt = at;
    }
    this.emit("recovery", slot, at, user === null ? {} : { user });
  }

  private acknowledge(slot: Slot, user: string | null, via: AckVia, at: number): void {
    if (slot.acked) return;
    slot.acked = true;
    slot.ackedAt = at;
    slot.ackBy = user;
    slot.ackVia = via;
    this.emit("ack", slot, at, { user });
  }

  private unshelve(slot: Slot, cause: AlarmEvent["cause"], at: number, user: string | null): void {
    slot.shelved = false;
    slot.shelvedUntil = null;
    this.show(slot, "unshelve", at, { cause, user });
  }

  private setHidden(
    slot: Slot,
    command: "suppress" | "unsuppress" | "out-of-service" | "in-service",
    hide: boolean,
    at: number,
    user: string | null,
  ): void {
    const field = command === "suppress" || command === "unsuppress" ? "suppressed" : "outOfService";
    if (slot[field] === hide) return;
    slot[field] = hide;
    if (command === "unsuppress" || command === "in-service") this.show(slot, command, at, { user });
    else this.emit(command, slot, at, { user });
  }

  /**
   * Chattering is an alarm that goes into alarm again and again (ISA-18.2 chattering alarm): its triggers are counted,
   * not the crossings of its value, so that neither a shelved alarm nor a latched one, which stay out of or in alarm,
   * can chatter.
   */
  private countChatter(slot: Slot, at: number): void {
    const { chatterCount, chatterWindow } = this.options;
    const times = slot.activations;
    times.push(at);
    if (times.length > chatterCount) times.shift();
    if (times.length < chatterCount || at - times[0] > chatterWindow) return;
    slot.chatterEndsAt = times[0] + chatterWindow;
    this.schedule(slot.chatterEndsAt, { kind: "chatter", slot });
    if (!slot.chattering) {
      slot.chattering = true;
      this.emit("chattering", slot, at);
    }
  }

  private countTrigger(at: number): void {
    const { floodCount, floodWindow } = this.options;
    const times = this.flood.times;
    times.push(at);
    if (times.length > floodCount + 1) times.shift();
    if (times.length <= floodCount || at - times[0] > floodWindow) return;
    this.flood.endsAt = times[0] + floodWindow;
    this.schedule(this.flood.endsAt, { kind: "flood" });
    if (!this.flood.active) {
      this.flood.active = true;
      this.emit("flood", null, at);
    }
  }

  private emit(event: AlarmEventType, slot: Slot | null, at: number, extra: EventExtra = {}): void {
    this.revision++;
    if (slot) this.refresh(slot);
    this.out.push({ event, at, ...(slot ? { alarm: this.view(slot) } : {}), ...extra, flood: this.flood.active });
  }

  /** Keeps the counters and the list of active alarms in step with one alarm's fields. */
  private refresh(slot: Slot): void {
    const inAlarm = slot.active || slot.latched;
    const flags =
      (inAlarm && !hidden(slot) ? FLAG_ACTIVE : 0) |
      (slot.acked ? 0 : FLAG_UNACKED) |
      (slot.shelved ? FLAG_SHELVED : 0) |
      (slot.suppressed ? FLAG_SUPPRESSED : 0) |
      (slot.outOfService ? FLAG_OUT_OF_SERVICE : 0) |
      (slot.chattering ? FLAG_CHATTERING : 0) |
      (inAlarm || !slot.acked ? FLAG_LISTED : 0);
    const changed = flags ^ slot.flags;
    if (changed === 0) return;
    for (const flag of FLAGS) {
      if (changed & flag) this.counts.set(flag, (this.counts.get(flag) ?? 0) + (flags & flag ? 1 : -1));
    }
    if (changed & FLAG_LISTED) {
      if (flags & FLAG_LISTED) this.listed.add(slot);
      else this.listed.delete(slot);
    }
    slot.flags = flags;
  }

  private view(slot: Slot): AlarmView {
    const def = slot.def;
    return {
      id: def.id,
      label: def.label,
      block: this.options.block,
      priority: def.priority,
      state: stateOf(slot),
      value: slot.value,
      setpoint: def.setpoint,
      condition: def.condition,
      triggeredAt: slot.triggeredAt,
      ackedAt: slot.ackedAt,
      recoveredAt: slot.recoveredAt,
      ackBy: slot.ackBy,
      ackVia: slot.ackVia ?? null,
      occurrence: slot.occurrence ?? null,
      topic: def.topic,
      ...(def.condition === "bit" ? { bit: def.bit } : {}),
      ack: def.ack,
      active: slot.active || slot.latched,
      latched: slot.latched,
      shelvedUntil: slot.shelved ? slot.shelvedUntil : null,
      chattering: slot.chattering,
    };
  }
}

/**
 * A slot written out field by field, not spread: V8 then keeps every field inside the object, which is what makes an
 * update as cheap with 10,000 alarms as with 10 (a spread object keeps some of them in a second block of memory).
 */
function makeSlot(def: AlarmDefinition, s: SlotState, prefix: string): Slot {
  return {
    value: s.value,
    raw: s.raw,
    active: s.active,
    pendingAt: s.pendingAt,
    latched: s.latched,
    acked: s.acked,
    announced: s.announced,
    triggeredAt: s.triggeredAt,
    ackedAt: s.ackedAt,
    recoveredAt: s.recoveredAt,
    ackBy: s.ackBy,
    ackVia: s.ackVia ?? null,
    occurrence: s.occurrence ?? (s.triggeredAt === null ? null : occurrenceName(prefix, def.id, s.triggeredAt)),
    shelved: s.shelved,
    shelvedUntil: s.shelvedUntil,
    suppressed: s.suppressed,
    outOfService: s.outOfService,
    activations: [...s.activations],
    chattering: s.chattering,
    chatterEndsAt: s.chatterEndsAt,
    def,
    flags: 0,
  };
}

/** The fields of an alarm that a restart must see: not its definition nor its counters, which come from the config. */
function stateOfSlot(slot: Slot): SlotState {
  return {
    value: slot.value,
    raw: slot.raw,
    active: slot.active,
    pendingAt: slot.pendingAt,
    latched: slot.latched,
    acked: slot.acked,
    announced: slot.announced,
    triggeredAt: slot.triggeredAt,
    ackedAt: slot.ackedAt,
    recoveredAt: slot.recoveredAt,
    ackBy: slot.ackBy,
    ackVia: slot.ackVia,
    occurrence: slot.occurrence,
    shelved: slot.shelved,
    shelvedUntil: slot.shelvedUntil,
    suppressed: slot.suppressed,
    outOfService: slot.outOfService,
    activations: [...slot.activations],
    chattering: slot.chattering,
    chatterEndsAt: slot.chatterEndsAt,
  };
}

function isCommand(name: string): name is Command {
  return (COMMANDS as readonly string[]).includes(name);
}

function hidden(slot: SlotState): boolean {
  return slot.shelved || slot.suppressed || slot.outOfService;
}

function stateOf(slot: SlotState): AlarmState {
  if (slot.outOfService) return "out-of-service";
  if (slot.suppressed) return "suppressed";
  if (slot.shelved) return "shelved";
  if (slot.active || slot.latched) return slot.acked ? "acked" : "unacked";
  return slot.acked ? "normal" : "rtn-unacked";
}

/**
 * A duration shelves until then, at most ten years on; no duration shelves one-shot, until the occurrence ends.
 * Checked before the command changes anything: a time past what a date can hold would fail later, half applied.
 */
function shelveDeadline(duration: unknown, now: number): number | null {
  if (duration === undefined || duration === null || duration === "") return null;
  const ms = readDuration(duration, SHELVE_RANGE);
  if (ms === undefined) {
    throw new AlarmError("duration-invalid", { duration: valueText(duration), range: durationRangeText(SHELVE_RANGE) });
  }
  return now + ms;
}

/**
 * The block node an occurrence is of: the prefix its block gave, before the first "/" (Node-RED's node ids have
 * none, alarm ids may).
 */
export function blockOfOccurrence(occurrence: string): string {
  const slash = occurrence.indexOf("/");
  return slash === -1 ? "" : occurrence.slice(0, slash);
}

function occurrenceName(prefix: string, id: string, at: number): string {
  return `${prefix}${id}/${at.toString(36)}`;
}

/** A name for a new occurrence; a second one in the same millisecond (no ack needed, value bouncing) gets a suffix. */
function nextOccurrence(prefix: string, slot: Slot, at: number): string {
  const name = occurrenceName(prefix, slot.def.id, at);
  const last = slot.occurrence ?? "";
  if (last !== name && !last.startsWith(`${name}.`)) return name;
  const n = last === name ? 1 : Number(last.slice(name.length + 1));
  return `${name}.${n + 1}`;
}
