import { DeadlineQueue } from "../alarm/DeadlineQueue";
import { ROSTER_PREFIX, type EscalationConfig, type Level, type StopOn } from "./EscalationConfig";
import { inClockWindow, ZonedClock } from "./ZonedClock";

/** What the block said about one occurrence of an alarm. */
export interface EscalationInput {
  /** The occurrence (`msg.alarm.occurrence`): one alarm from its trigger until it is over. */
  key: string;
  event: "trigger" | "ack" | "recovery";
  /** 1 is the most urgent. */
  priority: number;
  /** The occurrence is over with this event (back to normal and acknowledged): nothing more will be said of it. */
  over: boolean;
  /** For a trigger: what reminders and escalations repeat later (the trigger msg, as JSON-able data). */
  data?: unknown;
}

export type EscalationEventType = "trigger" | "reminder" | "escalation" | "ack" | "recovery";

/** One msg to send: an event for one recipient group. */
export interface EscalationEvent {
  key: string;
  event: EscalationEventType;
  at: number;
  /** 1-based level whose group this is (for ack and recovery: the highest level reached). */
  level: number;
  /** How many times this level has been told, this one included. */
  attempt: number;
  /** The id or name of a recipient group. */
  recipients: string;
  /** The trigger's data, for the events that a deadline raised (reminder, escalation, a delayed trigger). */
  data?: unknown;
}

/** A level names a roster that has nobody on duty right now: the adapter says so rather than stay silent. */
export interface UnstaffedLevel {
  key: string;
  at: number;
  level: number;
  roster: string;
}

export interface EscalationOutput {
  events: EscalationEvent[];
  unstaffed: UnstaffedLevel[];
}

export interface EscalationSummary {
  /** Occurrences not over yet. */
  open: number;
  unacked: number;
  /** Waiting for the end of the quiet hours. */
  held: number;
  /** The next deadline (epoch ms), if any. */
  next?: number;
}

/** One occurrence as a snapshot keeps it. */
export interface OccurrenceState {
  key: string;
  triggeredAt: number;
  priority: number;
  data?: unknown;
  acked: boolean;
  recovered: boolean;
  /** 0-based index of the highest level told; -1 before the first. */
  level: number;
  attempt: number;
  /** Every group told about this occurrence, in the order they were first told: ack and recovery go to each. */
  told: string[];
  /** When it is next looked at: a level's time, a reminder, or the end of the quiet hours. */
  due?: number;
  /** The time from which this level's reminders are counted, so that they keep their rhythm. */
  base?: number;
  held: boolean;
}

export interface EscalationSnapshot {
  occurrences: OccurrenceState[];
}

interface Occurrence extends OccurrenceState {
  /** Which queue entry is current: a rescheduled occurrence leaves its old entry behind, recognised by this. */
  token: number;
}

/**
 * Reminders and escalation for alarm occurrences, with no Node-RED and no clock of its own: every call takes `now`,
 * and `advance(now)` raises what fell due, in time order. A deadline that passed long ago (Node-RED was down) raises
 * one notification: the level reached by `now`, not one per missed reminder. Each call costs O(log n) in the open
 * occurrences, so a storm of events costs the same per event with 10 or 10,000 open.
 */
export class EscalationEngine {
  /** Grows with every change of state: the adapter saves when it moved. */
  revision = 0;
  private readonly occurrences = new Map<string, Occurrence>();
  private readonly queue = new DeadlineQueue<{ key: string; token: number }>();
  private readonly clock: ZonedClock;
  private nextToken = 1;
  private unacked = 0;
  private held = 0;
  /** Occurrences changed (or gone) since the last `takeChanged`: what a state file must write again. */
  private readonly changed = new Set<string>();

  constructor(
    private readonly config: EscalationConfig,
    restored?: EscalationSnapshot,
  ) {
    this.clock = new ZonedClock(config.tz);
    for (const state of restored?.occurrences ?? []) {
      // A level taken out of the table since the save counts as the last one left.
      const level = Math.min(state.level, config.levels.length - 1);
      const occurrence: Occurrence = { ...state, level, told: [...state.told], token: 0 };
      this.occurrences.set(state.key, occurrence);
      this.changed.add(state.key);
      if (!state.acked) this.unacked++;
      if (state.held) this.held++;
      if (state.due !== undefined) this.schedule(occurrence, state.due);
    }
  }

  get stopOn(): StopOn {
    return this.config.stopOn;
  }

  /** Raises what fell due, then takes the block's event. */
  receive(input: EscalationInput, now: number): EscalationOutput {
    const out = this.advance(now);
    const found = this.occurrences.get(input.key);
    if (input.event === "trigger") {
      // The same trigger again (a replay after a restart of the block) changes nothing.
      if (found) return out;
      const occurrence: Occurrence = {
        key: input.key,
        triggeredAt: now,
        priority: input.priority,
        data: input.data,
        acked: false,
        recovered: false,
        level: -1,
        attempt: 0,
        told: [],
        held: false,
        token: 0,
      };
      this.occurrences.set(input.key, occurrence);
      this.unacked++;
      this.touch(occurrence);
      const first = now + this.config.levels[0].after;
      if (first <= now) this.act(occurrence, first, now, out);
      else this.schedule(occurrence, first);
      return out;
    }
    if (!found) return out;
    const wasAcked = found.acked;
    const wasRecovered = found.recovered;
    if (input.event === "ack") found.acked = true;
    else found.recovered = true;
    if (found.acked && !wasAcked) this.unacked--;
    const news = input.event === "ack" ? !wasAcked : !wasRecovered;
    if (news) {
      for (const recipients of found.told) {
        out.events.push({
          key: found.key,
          event: input.event,
          at: now,
          level: found.level + 1,
          attempt: found.attempt,
          recipients,
        });
      }
    }
    this.touch(found);
    if (this.stopped(found)) this.cancel(found);
    if (input.over) this.forget(found);
    return out;
  }

  /** Raises every deadline at or before `now`, in time order. */
  advance(now: number): EscalationOutput {
    const out: EscalationOutput = { events: [], unstaffed: [] };
    for (;;) {
      const first = this.queue.peek();
      if (!first || first.at > now) break;
      // Deadlines at the same instant go in the order of their triggers, whatever order the heap (rebuilt from a
      // snapshot after a restart) keeps them in.
      const due: Occurrence[] = [];
      while (this.queue.peek()?.at === first.at) {
        const { item } = this.queue.pop() as { item: { key: string; token: number } };
        const occurrence = this.occurrences.get(item.key);
        if (occurrence && occurrence.token === item.token) due.push(occurrence);
      }
      due.sort((x, y) => x.triggeredAt - y.triggeredAt || (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
      for (const occurrence of due) {
        occurrence.due = undefined;
        this.act(occurrence, first.at, now, out);
      }
    }
    return out;
  }

  /** When `advance` next has something to do. */
  nextDeadline(): number | undefined {
    for (;;) {
      const top = this.queue.peek();
      if (!top) return undefined;
      const occurrence = this.occurrences.get(top.item.key);
      if (occurrence && occurrence.token === top.item.token) return top.at;
      this.queue.pop();
    }
  }

  summary(): EscalationSummary {
    const next = this.nextDeadline();
    return {
      open: this.occurrences.size,
      unacked: this.unacked,
      held: this.held,
      ...(next === undefined ? {} : { next }),
    };
  }

  /** The occurrence as it stands, for a test or a status command. */
  occurrence(key: string): OccurrenceState | undefined {
    const found = this.occurrences.get(key);
    return found && stateOf(found);
  }

  snapshot(): EscalationSnapshot {
    return { occurrences: [...this.occurrences.values()].map(stateOf) };
  }

  /** The occurrences changed or forgotten since the last call, once each: a state file rewrites only those. */
  takeChanged(): string[] {
    const keys = [...this.changed];
    this.changed.clear();
    return keys;
  }

  /** The clock the engine reads rosters and quiet hours with: a status shows the next deadline on it. */
  wallClock(): ZonedClock {
    return this.clock;
  }

  /**
   * An occurrence's deadline came: tell the level reached by `now` (or remind the one told), unless the quiet
   * hours hold it; then set its next deadline.
   */
  private act(occurrence: Occurrence, at: number, now: number, out: EscalationOutput): void {
    this.touch(occurrence);
    if (this.stopped(occurrence)) return;
    const quiet = this.config.quiet;
    if (quiet && occurrence.priority > quiet.priority) {
      const { minute } = this.clock.wallTime(now);
      if (inClockWindow(minute, quiet.from, quiet.to)) {
        if (!occurrence.held) this.held++;
        occurrence.held = true;
        this.schedule(occurrence, this.clock.nextWallMinute(now, quiet.to));
        return;
      }
    }
    if (occurrence.held) this.held--;
    occurrence.held = false;
    const levels = this.config.levels;
    const target = reachedLevel(levels, now - occurrence.triggeredAt);
    if (target < 0) {
      this.schedule(occurrence, occurrence.triggeredAt + levels[0].after);
      return;
    }
    let event: EscalationEventType;
    if (target > occurrence.level) {
      event = target === 0 ? "trigger" : "escalation";
      occurrence.level = target;
      occurrence.attempt = 1;
      occurrence.base = Math.max(at, occurrence.triggeredAt + levels[target].after);
    } else {
      event = "reminder";
      occurrence.attempt++;
      occurrence.base = at;
    }
    this.notify(occurrence, event, now, out);
    this.scheduleNext(occurrence, now);
  }

  private notify(occurrence: Occurrence, event: EscalationEventType, now: number, out: EscalationOutput): void {
    const level = this.config.levels[occurrence.level];
    const groups = this.groupsOf(level, now);
    if (groups.length === 0) {
      out.unstaffed.push({
        key: occurrence.key,
        at: now,
        level: occurrence.level + 1,
        roster: level.recipients.slice(ROSTER_PREFIX.length),
      });
      return;
    }
    for (const recipients of groups) {
      if (!occurrence.told.includes(recipients)) occurrence.told.push(recipients);
      out.events.push({
        key: occurrence.key,
        event,
        at: now,
        level: occurrence.level + 1,
        attempt: occurrence.attempt,
        recipients,
        data: occurrence.data,
      });
    }
  }

  /** The next reminder of this level, or the next level's time if that comes first (or at the same time). */
  private scheduleNext(occurrence: Occurrence, now: number): void {
    const levels = this.config.levels;
    const level = levels[occurrence.level];
    const nextLevel = levels[occurrence.level + 1];
    const escalateAt = nextLevel ? occurrence.triggeredAt + nextLevel.after : Infinity;
    let remindAt = Infinity;
    if (level.repeat > 0 && occurrence.base !== undefined) {
      // Reminders keep the rhythm of the level; those that fell while Node-RED was down are one, now.
      const steps = Math.floor((now - occurrence.base) / level.repeat) + 1;
      remindAt = occurrence.base + Math.max(steps, 1) * level.repeat;
    }
    const due = Math.min(escalateAt, remindAt);
    if (Number.isFinite(due)) this.schedule(occurrence, due);
  }

  private groupsOf(level: Level, now: number): string[] {
    if (!level.recipients.startsWith(ROSTER_PREFIX)) return [level.recipients];
    const shifts = this.config.rosters.get(level.recipients.slice(ROSTER_PREFIX.length)) ?? [];
    const { day, minute } = this.clock.wallTime(now);
    const yesterday = day === 1 ? 7 : day - 1;
    const onDuty: string[] = [];
    for (const shift of shifts) {
      const overnight = shift.to <= shift.from;
      // A shift that runs past midnight belongs to the day it starts on: Sunday 22:00-06:00 ends on Monday.
      const today =
        shift.days.includes(day) && (overnight ? minute >= shift.from : inClockWindow(minute, shift.from, shift.to));
      const fromYesterday = overnight && shift.days.includes(yesterday) && minute < shift.to;
      if ((today || fromYesterday) && !onDuty.includes(shift.recipients)) onDuty.push(shift.recipients);
    }
    return onDuty;
  }

  private stopped(occurrence: OccurrenceState): boolean {
    switch (this.config.stopOn) {
      case "ack":
        return occurrence.acked;
      case "recovery":
        return occurrence.recovered;
      case "both":
        return occurrence.acked || occurrence.recovered;
    }
  }

  private touch(occurrence: Occurrence): void {
    this.revision++;
    this.changed.add(occurrence.key);
  }

  private schedule(occurrence: Occurrence, at: number): void {
    occurrence.token = this.nextToken++;
    occurrence.due = at;
    this.queue.push(at, { key: occurrence.key, token: occurrence.token });
    // Entries left behind by rescheduling are dropped once they outnumber the live ones.
    if (this.queue.size > 2 * this.occurrences.size + 64) {
      this.queue.compact((_at, item) => this.occurrences.get(item.key)?.token === item.token);
    }
  }

  private cancel(occurrence: Occurrence): void {
    occurrence.token = this.nextToken++;
    occurrence.due = undefined;
    if (occurrence.held) this.held--;
    occurrence.held = false;
  }

  private forget(occurrence: Occurrence): void {
    this.cancel(occurrence);
    if (!occurrence.acked) this.unacked--;
    this.occurrences.delete(occurrence.key);
  }
}

/** The last level whose `after` has passed `elapsed` ms after the trigger; -1 before the first. */
function reachedLevel(levels: Level[], elapsed: number): number {
  let reached = -1;
  for (let i = 0; i < levels.length && levels[i].after <= elapsed; i++) reached = i;
  return reached;
}

function stateOf(o: Occurrence): OccurrenceState {
  return {
    key: o.key,
    triggeredAt: o.triggeredAt,
    priority: o.priority,
    ...(o.data === undefined ? {} : { data: o.data }),
    acked: o.acked,
    recovered: o.recovered,
    level: o.level,
    attempt: o.attempt,
    told: [...o.told],
    ...(o.due === undefined ? {} : { due: o.due }),
    ...(o.base === undefined ? {} : { base: o.base }),
    held: o.held,
  };
}
