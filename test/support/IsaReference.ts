import type { AlarmDefinition, BlockOptions } from "../../nodes/lib/alarm/BlockConfig";

/**
 * A reference model of one alarm of a block, written from the definitions of ISA-18.2 / IEC 62682 and OPC UA Part 9,
 * not from `AlarmEngine`: the differential test drives both with the same values, commands and times and fails on
 * the first place they disagree. It is written for clarity, not speed: the ISA-18.2 state letters, every timer worked
 * out again from the facts it depends on, no queue.
 *
 * - The alarm's condition holds on the value, with the deadband only while the alarm is active: the deadband holds
 *   the return to normal, never the coming into alarm (ISA-18.2 deadband; OPC UA Part 9 B.1.5).
 * - The alarm becomes active once its condition held for the whole on-delay, and inactive once the condition was gone
 *   for the whole off-delay (ISA-18.2 on-delay, off-delay).
 * - The annunciated state is one of the letters of the ISA-18.2 state diagram: A normal, B unacknowledged alarm,
 *   C acknowledged alarm, D returned to normal unacknowledged; E shelved, F suppressed by design and G out of service
 *   are held beside it, and so is the latch, which keeps B or C after the condition cleared, until a reset.
 * - An occurrence that begins while the alarm is in E, F or G is not annunciated; leaving them, the alarm is evaluated
 *   again from its condition: active and not annunciated is a new occurrence, B (C for an alarm that needs no
 *   acknowledgement). An occurrence annunciated before still reports its return to normal.
 * - One-shot shelving ends when the alarm returns to normal: when its condition clears, or for a latched alarm at the
 *   reset (OPC UA Part 9 5.8.17). Timed shelving ends at its time.
 * - Chattering: the alarm went into alarm (B or C, from A or D) chatterCount times within chatterWindow; it ends
 *   when the last such run leaves the window. Flood: more than floodCount alarms within floodWindow.
 *
 * Where two timers fall due at the same instant the standard says nothing, and the differential test generates times
 * that never tie; a timer due at the instant of an input fires before the input, as a clock that ticks on.
 */

/** ISA-18.2 alarm state letters of the shown alarm. */
type Letter = "A" | "B" | "C" | "D";

export type ReferenceCommand =
  "ack" | "shelve" | "unshelve" | "reset" | "suppress" | "unsuppress" | "out-of-service" | "in-service";

/** What the model reports of an event: the fields a user sees in `msg`. */
export interface ReferenceEvent {
  event: string;
  at: number;
  state: string | null;
  active: boolean | null;
  latched: boolean | null;
  chattering: boolean | null;
  triggeredAt: number | null;
  ackedAt: number | null;
  recoveredAt: number | null;
  ackBy: string | null;
  shelvedUntil: number | null;
  value: number | boolean | null;
  user: string | null;
  cause: string | null;
  flood: boolean;
}

export interface ReferenceView {
  state: string;
  value: number | boolean | null;
  active: boolean;
  latched: boolean;
  triggeredAt: number | null;
  ackedAt: number | null;
  recoveredAt: number | null;
  ackBy: string | null;
  shelvedUntil: number | null;
  chattering: boolean;
}

export class IsaReference {
  private letter: Letter = "A";
  private latched = false;
  /** The alarm's condition after its delays: OPC UA's ActiveState. */
  private active = false;
  /** The condition on the last value, before the delays, and since when it has been so. */
  private condition = false;
  private conditionSince = 0;
  private value: number | boolean | null = null;
  /** null: not shelved; "one-shot"; or the time a timed shelving ends. */
  private shelf: null | "one-shot" | number = null;
  private suppressed = false;
  private outOfService = false;
  private triggeredAt: number | null = null;
  private ackedAt: number | null = null;
  private recoveredAt: number | null = null;
  private ackBy: string | null = null;
  private triggers: number[] = [];
  private chatterUntil: number | null = null;
  private floodTriggers: number[] = [];
  private floodUntil: number | null = null;
  private events: ReferenceEvent[] = [];

  constructor(
    private readonly def: AlarmDefinition,
    private readonly options: BlockOptions,
  ) {}

  update(input: number | boolean, now: number): ReferenceEvent[] {
    this.runClock(now);
    this.value = input;
    this.evaluate(now);
    return this.take();
  }

  command(command: ReferenceCommand, user: string | null, duration: number | undefined, now: number): ReferenceEvent[] {
    this.runClock(now);
    switch (command) {
      case "ack":
        if (this.letter === "B" || this.letter === "D") {
          this.letter = this.letter === "B" ? "C" : "A";
          this.ackedAt = now;
          this.ackBy = user;
          this.report("ack", now, { user });
        }
        break;
      case "reset":
        if (this.latched && !this.active) {
          this.latched = false;
          this.returnToNormal(now, user);
          this.endOneShot(now);
        }
        break;
      case "shelve":
        this.shelf = duration === undefined ? "one-shot" : now + duration;
        this.report("shelve", now, { user });
        break;
      case "unshelve":
        if (this.shelf !== null) this.leaveShelf("command", user, now);
        break;
      case "suppress":
        if (!this.suppressed) {
          this.suppressed = true;
          this.report("suppress", now, { user });
        }
        break;
      case "out-of-service":
        if (!this.outOfService) {
          this.outOfService = true;
          this.report("out-of-service", now, { user });
        }
        break;
      case "unsuppress":
        if (this.suppressed) {
          this.suppressed = false;
          this.reveal("unsuppress", now, { user });
        }
        break;
      case "in-service":
        if (this.outOfService) {
          this.outOfService = false;
          this.reveal("in-service", now, { user });
        }
        break;
    }
    return this.take();
  }

  tick(now: number): ReferenceEvent[] {
    this.runClock(now);
    return this.take();
  }

  /** When the model next has something to do on its own. */
  nextTimer(): number | undefined {
    const times = [this.delayEnds(), this.shelfEnds(), this.chatterUntil, this.floodUntil].filter(
      (at): at is number => at !== null,
    );
    return times.length === 0 ? undefined : Math.min(...times);
  }

  view(): ReferenceView {
    return {
      state: this.stateName(),
      value: this.value,
      active: this.active || this.latched,
      latched: this.latched,
      triggeredAt: this.triggeredAt,
      ackedAt: this.ackedAt,
      recoveredAt: this.recoveredAt,
      ackBy: this.ackBy,
      shelvedUntil: typeof this.shelf === "number" ? this.shelf : null,
      chattering: this.chatterUntil !== null,
    };
  }

  get flood(): boolean {
    return this.floodUntil !== null;
  }

  private take(): ReferenceEvent[] {
    const events = this.events;
    this.events = [];
    return events;
  }

  /** Fires, in time order, everything due by `now`; a timer can set the next one, hence the loop. */
  private runClock(now: number): void {
    for (let at = this.nextTimer(); at !== undefined && at <= now; at = this.nextTimer()) {
      if (at === this.delayEnds()) this.becomeActive(this.condition, at);
      else if (at === this.shelfEnds()) this.leaveShelf("expired", null, at);
      else if (at === this.chatterUntil) {
        this.chatterUntil = null;
        this.report("chattering-end", at);
      } else {
        this.floodUntil = null;
        this.report("flood-end", at, {}, false);
      }
    }
  }

  private delayEnds(): number | null {
    if (this.condition === this.active) return null;
    return this.conditionSince + (this.condition ? this.def.onDelay : this.def.offDelay);
  }

  private shelfEnds(): number | null {
    return typeof this.shelf === "number" ? this.shelf : null;
  }

  private holds(): boolean {
    if (this.value === null) return false;
    const v = Number(this.value);
    const { setpoint, deadband } = this.def;
    switch (this.def.condition) {
      case "high":
        return this.active ? v > setpoint - deadband : v > setpoint;
      case "low":
        return this.active ? v < setpoint + deadband : v < setpoint;
      case "equal":
        return v === setpoint;
      case "not-equal":
        return v !== setpoint;
      case "true":
        return v !== 0;
      case "false":
        return v === 0;
      case "bit":
        return Math.floor(v / 2 ** this.def.bit) % 2 !== 0;
    }
  }

  /** The condition on the current value; a change starts its delay, and a delay of 0 is no delay. */
  private evaluate(now: number): void {
    const holds = this.holds();
    if (holds !== this.condition) {
      this.condition = holds;
      this.conditionSince = now;
    }
    if (this.delayEnds() === now) this.becomeActive(holds, now);
  }

  private becomeActive(active: boolean, at: number): void {
    this.active = active;
    if (active) {
      // The condition came back before a reset: the latched occurrence goes on, nothing new to annunciate.
      this.latched = false;
      if (this.shown() && (this.letter === "A" || this.letter === "D")) this.annunciate(at);
    } else {
      if (this.letter === "B" || this.letter === "C") {
        if (this.def.latch) this.latched = true;
        else this.returnToNormal(at, null);
      }
      if (!this.latched) this.endOneShot(at);
    }
    // The deadband depends on whether the alarm is active: the condition on the same value may read otherwise now.
    const holds = this.holds();
    if (holds !== this.condition) {
      this.condition = holds;
      this.conditionSince = at;
    }
  }

  private shown(): boolean {
    return this.shelf === null && !this.suppressed && !this.outOfService;
  }

  /** A new occurrence: B, or C when the alarm needs no acknowledgement. */
  private begin(at: number): void {
    this.letter = this.def.ack === "none" ? "C" : "B";
    this.triggeredAt = at;
    this.ackedAt = this.def.ack === "none" ? at : null;
    this.recoveredAt = null;
    this.ackBy = null;
  }

  private annunciate(at: number): void {
    this.begin(at);
    this.trigger(at);
  }

  private trigger(at: number): void {
    this.triggers.push(at);
    const n = this.options.chatterCount;
    if (this.triggers.length >= n) {
      const first = this.triggers[this.triggers.length - n];
      if (at - first <= this.options.chatterWindow) {
        const wasChattering = this.chatterUntil !== null;
        this.chatterUntil = first + this.options.chatterWindow;
        if (!wasChattering) this.report("chattering", at);
      }
    }
    this.report("trigger", at);
    this.floodTriggers.push(at);
    const m = this.options.floodCount + 1;
    if (this.floodTriggers.length >= m) {
      const first = this.floodTriggers[this.floodTriggers.length - m];
      if (at - first <= this.options.floodWindow) {
        const wasFlood = this.floodUntil !== null;
        this.floodUntil = first + this.options.floodWindow;
        if (!wasFlood) this.report("flood", at, {}, false);
      }
    }
  }

  /** B or C back to normal: D while an acknowledgement is owed, A otherwise; auto acknowledges here. */
  private returnToNormal(at: number, user: string | null): void {
    if (this.letter === "B" && this.def.ack === "auto") {
      this.letter = "C";
      this.ackedAt = at;
    }
    this.letter = this.letter === "B" ? "D" : "A";
    this.recoveredAt = at;
    this.report("recovery", at, user === null ? {} : { user });
  }

  private endOneShot(at: number): void {
    if (this.shelf === "one-shot") this.leaveShelf("one-shot", null, at);
  }

  private leaveShelf(cause: string, user: string | null, at: number): void {
    this.shelf = null;
    this.reveal("unshelve", at, { cause, user });
  }

  /** Out of E, F or G: an active alarm whose occurrence nobody saw is a new one, already so in the event that shows it. */
  private reveal(event: string, at: number, extra: { user?: string | null; cause?: string }): void {
    const fresh = this.shown() && (this.active || this.latched) && (this.letter === "A" || this.letter === "D");
    if (fresh) this.begin(at);
    this.report(event, at, extra);
    if (fresh) this.trigger(at);
  }

  private stateName(): string {
    if (this.outOfService) return "out-of-service";
    if (this.suppressed) return "suppressed";
    if (this.shelf !== null) return "shelved";
    return { A: "normal", B: "unacked", C: "acked", D: "rtn-unacked" }[this.letter];
  }

  private report(event: string, at: number, extra: { user?: string | null; cause?: string } = {}, alarm = true): void {
    const view = alarm ? this.view() : null;
    this.events.push({
      event,
      at,
      state: view?.state ?? null,
      active: view?.active ?? null,
      latched: view?.latched ?? null,
      chattering: view?.chattering ?? null,
      triggeredAt: view?.triggeredAt ?? null,
      ackedAt: view?.ackedAt ?? null,
      recoveredAt: view?.recoveredAt ?? null,
      ackBy: view?.ackBy ?? null,
      shelvedUntil: view?.shelvedUntil ?? null,
      value: view?.value ?? null,
      user: extra.user ?? null,
      cause: extra.cause ?? null,
      flood: this.flood,
    });
  }
}
