import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseEscalationConfig, EscalationError } from "../../nodes/lib/escalation/EscalationConfig";
import {
  EscalationEngine,
  type EscalationEvent,
  type EscalationInput,
  type EscalationOutput,
} from "../../nodes/lib/escalation/EscalationEngine";
import { decodeEscalationSnapshot, encodeEscalationSnapshot } from "../../nodes/lib/escalation/EscalationSnapshot";
import { ZonedClock } from "../../nodes/lib/escalation/ZonedClock";

const MIN = 60_000;
/** Thursday 15 January 2026, 08:00 UTC (09:00 in Paris). */
const T0 = Date.UTC(2026, 0, 15, 8, 0, 0);

function engine(raw: Record<string, unknown>) {
  return new EscalationEngine(parseEscalationConfig({ tz: "UTC", ...raw }));
}

const trigger = (key: string, priority = 2, data: unknown = { topic: key }): EscalationInput => ({
  key,
  event: "trigger",
  priority,
  over: false,
  data,
});
const ack = (key: string, over = false): EscalationInput => ({ key, event: "ack", priority: 2, over });
const recovery = (key: string, over = false): EscalationInput => ({ key, event: "recovery", priority: 2, over });

const brief = (out: EscalationOutput | EscalationEvent[]) =>
  (Array.isArray(out) ? out : out.events).map((e) => `${e.event}:${e.level}.${e.attempt}:${e.recipients}`);

const TWO_LEVELS = {
  levels: [
    { recipients: "operators", after: 0, repeat: 5 * MIN },
    { recipients: "engineer", after: 15 * MIN, repeat: 10 * MIN },
  ],
};

describe("EscalationEngine: levels and reminders", () => {
  it("tells level 1 at the trigger, reminds at its repeat, escalates at the next level's after", () => {
    const e = engine(TWO_LEVELS);
    assert.deepEqual(brief(e.receive(trigger("a"), T0)), ["trigger:1.1:operators"]);
    assert.equal(e.nextDeadline(), T0 + 5 * MIN);
    assert.deepEqual(brief(e.advance(T0 + 5 * MIN - 1)), []);
    assert.deepEqual(brief(e.advance(T0 + 5 * MIN)), ["reminder:1.2:operators"]);
    assert.deepEqual(brief(e.advance(T0 + 10 * MIN)), ["reminder:1.3:operators"]);
    // At 15 min the reminder and the escalation coincide: the escalation wins, once.
    assert.deepEqual(brief(e.advance(T0 + 15 * MIN)), ["escalation:2.1:engineer"]);
    assert.deepEqual(brief(e.advance(T0 + 25 * MIN)), ["reminder:2.2:engineer"]);
    const data = e.advance(T0 + 35 * MIN).events[0].data;
    assert.deepEqual(data, { topic: "a" }, "a reminder carries the trigger's data");
  });

  it("a first level with a delay tells nobody until then, and calls its first mail a trigger", () => {
    const e = engine({ levels: [{ recipients: "operators", after: 2 * MIN, repeat: 0 }] });
    assert.deepEqual(brief(e.receive(trigger("a"), T0)), []);
    assert.deepEqual(brief(e.advance(T0 + 2 * MIN)), ["trigger:1.1:operators"]);
    assert.equal(e.nextDeadline(), undefined, "no repeat, no next level: nothing more");
  });

  it("an ack stops reminders and escalation, and goes to every group told", () => {
    const e = engine(TWO_LEVELS);
    e.receive(trigger("a"), T0);
    e.advance(T0 + 15 * MIN);
    assert.deepEqual(brief(e.receive(ack("a"), T0 + 16 * MIN)), ["ack:2.1:operators", "ack:2.1:engineer"]);
    assert.equal(e.nextDeadline(), undefined);
    assert.deepEqual(brief(e.receive(recovery("a", true), T0 + 17 * MIN)), [
      "recovery:2.1:operators",
      "recovery:2.1:engineer",
    ]);
    assert.equal(e.summary().open, 0, "over: forgotten");
  });

  it("stopOn recovery: an ack does not stop the reminders, the recovery does", () => {
    const e = engine({ ...TWO_LEVELS, stopOn: "recovery" });
    e.receive(trigger("a"), T0);
    assert.deepEqual(brief(e.receive(ack("a"), T0 + MIN)), ["ack:1.1:operators"]);
    assert.deepEqual(brief(e.advance(T0 + 5 * MIN)), ["reminder:1.2:operators"]);
    assert.deepEqual(brief(e.receive(recovery("a"), T0 + 6 * MIN)), ["recovery:1.2:operators"]);
    assert.equal(e.nextDeadline(), undefined);
  });

  it("stopOn both: either one stops them", () => {
    for (const stop of [ack, recovery]) {
      const e = engine({ ...TWO_LEVELS, stopOn: "both" });
      e.receive(trigger("a"), T0);
      e.receive(stop("a"), T0 + MIN);
      assert.equal(e.nextDeadline(), undefined);
    }
  });

  it("a recovery with stopOn ack does not stop an unacknowledged occurrence", () => {
    const e = engine(TWO_LEVELS);
    e.receive(trigger("a"), T0);
    assert.deepEqual(brief(e.receive(recovery("a"), T0 + MIN)), ["recovery:1.1:operators"]);
    assert.deepEqual(brief(e.advance(T0 + 5 * MIN)), ["reminder:1.2:operators"]);
  });

  it("the same trigger twice changes nothing; an ack of an unknown occurrence says nothing", () => {
    const e = engine(TWO_LEVELS);
    e.receive(trigger("a"), T0);
    assert.deepEqual(brief(e.receive(trigger("a"), T0 + 1)), []);
    assert.deepEqual(brief(e.receive(ack("zz"), T0 + 2)), []);
  });

  it("a deadline long passed fires once, at the level reached by now, and keeps the level's rhythm", () => {
    const e = engine(TWO_LEVELS);
    e.receive(trigger("a"), T0);
    // Node-RED was down from 1 min to 62 min: 2 reminders and an escalation and 4 reminders were missed.
    assert.deepEqual(brief(e.advance(T0 + 62 * MIN)), ["escalation:2.1:engineer"]);
    assert.equal(e.nextDeadline(), T0 + 65 * MIN);
  });

  it("counts what is open, unacknowledged and held", () => {
    const e = engine(TWO_LEVELS);
    e.receive(trigger("a"), T0);
    e.receive(trigger("b"), T0 + 1);
    e.receive(ack("a"), T0 + 2);
    assert.deepEqual(e.summary(), { open: 2, unacked: 1, held: 0, next: T0 + 1 + 5 * MIN });
  });
});

describe("EscalationEngine: rosters", () => {
  const rosters = {
    oncall: [
      { recipients: "day-shift", days: [1, 2, 3, 4, 5], from: "06:00", to: "22:00" },
      { recipients: "night-shift", days: [1, 2, 3, 4, 5, 6, 7], from: "22:00", to: "06:00" },
      { recipients: "weekend", days: [6, 7], from: "06:00", to: "22:00" },
    ],
  };
  const onDuty = (tz: string, at: number) => {
    const e = new EscalationEngine(
      parseEscalationConfig({ tz, rosters, levels: [{ recipients: "roster:oncall", after: 0, repeat: 0 }] }),
    );
    return e.receive(trigger("a"), at).events.map((event) => event.recipients);
  };

  it("finds who is on duty by weekday and time, boundaries included at the start and excluded at the end", () => {
    // Friday 16 January 2026 in UTC.
    assert.deepEqual(onDuty("UTC", Date.UTC(2026, 0, 16, 5, 59)), ["night-shift"]);
    assert.deepEqual(onDuty("UTC", Date.UTC(2026, 0, 16, 6, 0)), ["day-shift"]);
    assert.deepEqual(onDuty("UTC", Date.UTC(2026, 0, 16, 21, 59)), ["day-shift"]);
    assert.deepEqual(onDuty("UTC", Date.UTC(2026, 0, 16, 22, 0)), ["night-shift"]);
    // Saturday morning: Friday's night shift until 06:00, then the weekend.
    assert.deepEqual(onDuty("UTC", Date.UTC(2026, 0, 17, 5, 0)), ["night-shift"]);
    assert.deepEqual(onDuty("UTC", Date.UTC(2026, 0, 17, 6, 0)), ["weekend"]);
  });

  it("reads the shifts on the wall clock of its time zone", () => {
    // 05:30 UTC is 06:30 in Paris in winter: the day shift there, the night shift in UTC.
    assert.deepEqual(onDuty("Europe/Paris", Date.UTC(2026, 0, 16, 5, 30)), ["day-shift"]);
    assert.deepEqual(onDuty("UTC", Date.UTC(2026, 0, 16, 5, 30)), ["night-shift"]);
  });

  it("a 22:00-06:00 shift on the night the clocks go forward is one shift of 7 hours", () => {
    // Paris, Saturday 28 to Sunday 29 March 2026: 02:00 becomes 03:00 (UTC+1 to UTC+2).
    const shift = { oncall: [{ recipients: "night", days: [6], from: "22:00", to: "06:00" }] };
    const who = (at: number) =>
      new EscalationEngine(
        parseEscalationConfig({
          tz: "Europe/Paris",
          rosters: shift,
          levels: [{ recipients: "roster:oncall", after: 0, repeat: 0 }],
        }),
      )
        .receive(trigger("a"), at)
        .events.map((event) => event.recipients);
    assert.deepEqual(who(Date.UTC(2026, 2, 28, 20, 59)), [], "21:59 local: not yet");
    assert.deepEqual(who(Date.UTC(2026, 2, 28, 21, 0)), ["night"], "22:00 local");
    assert.deepEqual(who(Date.UTC(2026, 2, 29, 0, 59)), ["night"], "01:59 local, just before the jump");
    assert.deepEqual(who(Date.UTC(2026, 2, 29, 1, 0)), ["night"], "03:00 local, just after it");
    assert.deepEqual(who(Date.UTC(2026, 2, 29, 3, 59)), ["night"], "05:59 local");
    assert.deepEqual(who(Date.UTC(2026, 2, 29, 4, 0)), [], "06:00 local: the shift is over, 7 hours long");
  });

  it("and on the night they go back, the hour lived twice is in the shift both times", () => {
    const at = (utcHour: number, minute = 0) => Date.UTC(2026, 9, 25, utcHour, minute);
    const clock = new ZonedClock("Europe/Paris");
    // 00:30 and 01:30 UTC are both 02:30 in Paris on Sunday 25 October 2026.
    assert.equal(clock.hhmm(at(0, 30)), "02:30");
    assert.equal(clock.hhmm(at(1, 30)), "02:30");
    const e = () =>
      new EscalationEngine(
        parseEscalationConfig({
          tz: "Europe/Paris",
          rosters: { oncall: [{ recipients: "night", days: [6], from: "22:00", to: "06:00" }] },
          levels: [{ recipients: "roster:oncall", after: 0, repeat: 0 }],
        }),
      );
    assert.equal(e().receive(trigger("a"), at(0, 30)).events.length, 1);
    assert.equal(e().receive(trigger("a"), at(1, 30)).events.length, 1);
    assert.equal(e().receive(trigger("a"), at(4, 59)).events.length, 1, "05:59 local");
    assert.equal(e().receive(trigger("a"), at(5, 0)).events.length, 0, "06:00 local: 9 hours after 22:00");
  });

  it("a roster with nobody on duty is reported, not silently skipped", () => {
    const e = new EscalationEngine(
      parseEscalationConfig({
        tz: "UTC",
        rosters: { oncall: [{ recipients: "x", days: [1], from: "08:00", to: "09:00" }] },
        levels: [{ recipients: "roster:oncall", after: 0, repeat: 0 }],
      }),
    );
    const out = e.receive(trigger("a"), T0);
    assert.deepEqual(out.events, []);
    assert.deepEqual(out.unstaffed, [{ key: "a", at: T0, level: 1, roster: "oncall" }]);
  });
});

describe("EscalationEngine: quiet hours", () => {
  const quiet = {
    ...TWO_LEVELS,
    quiet: { from: "22:00", to: "06:00", priority: 2 },
  };
  const night = Date.UTC(2026, 0, 15, 23, 0);
  const morning = Date.UTC(2026, 0, 16, 6, 0);

  it("holds a less urgent alarm and mails it when the quiet hours end, if still unacknowledged", () => {
    const e = engine(quiet);
    assert.deepEqual(brief(e.receive(trigger("low", 3), night)), []);
    assert.equal(e.summary().held, 1);
    assert.equal(e.nextDeadline(), morning);
    // The hours passed while it was held: it goes at 06:00 as the level reached then, once.
    assert.deepEqual(brief(e.advance(morning)), ["escalation:2.1:engineer"]);
    assert.equal(e.summary().held, 0);
  });

  it("lets an urgent alarm through at night", () => {
    const e = engine(quiet);
    assert.deepEqual(brief(e.receive(trigger("urgent", 2), night)), ["trigger:1.1:operators"]);
  });

  it("forgets a held alarm acknowledged before morning, and tells nobody of the ack", () => {
    const e = engine(quiet);
    e.receive(trigger("low", 3), night);
    assert.deepEqual(brief(e.receive(ack("low"), night + MIN)), []);
    assert.equal(e.summary().held, 0);
    assert.deepEqual(brief(e.advance(morning)), []);
  });

  it("ends on the wall clock across a change of time", () => {
    const clock = new ZonedClock("Europe/Paris");
    // 23:00 local on Saturday 28 March 2026; 06:00 local on Sunday is 04:00 UTC.
    assert.equal(clock.nextWallMinute(Date.UTC(2026, 2, 28, 22, 0), 360), Date.UTC(2026, 2, 29, 4, 0));
    // 23:00 local on Saturday 24 October 2026; 06:00 local on Sunday is 05:00 UTC.
    assert.equal(clock.nextWallMinute(Date.UTC(2026, 9, 24, 21, 0), 360), Date.UTC(2026, 9, 25, 5, 0));
  });
});

describe("EscalationEngine: snapshot", () => {
  it("a restored engine carries on where the saved one stopped", () => {
    const config = parseEscalationConfig({ tz: "UTC", ...TWO_LEVELS });
    const first = new EscalationEngine(config);
    first.receive(trigger("a"), T0);
    first.receive(trigger("b"), T0 + MIN);
    first.receive(ack("b"), T0 + 2 * MIN);
    const text = encodeEscalationSnapshot(first.snapshot(), T0 + 2 * MIN);
    const second = new EscalationEngine(config, decodeEscalationSnapshot(text));
    assert.deepEqual(second.summary(), first.summary());
    assert.deepEqual(brief(second.advance(T0 + 5 * MIN)), ["reminder:1.2:operators"]);
    assert.deepEqual(brief(second.receive(recovery("b", true), T0 + 6 * MIN)), ["recovery:1.1:operators"]);
  });

  it("refuses a damaged file with the reason", () => {
    assert.throws(() => decodeEscalationSnapshot("{"), /not JSON/);
    assert.throws(() => decodeEscalationSnapshot('{"format":9,"occurrences":[]}'), /unknown format 9/);
    assert.throws(() => decodeEscalationSnapshot('{"format":1,"occurrences":[{"key":1}]}'), /bad occurrence 0/);
  });
});

describe("parseEscalationConfig", () => {
  const refused = (raw: Record<string, unknown>, code: string) =>
    assert.throws(
      () => parseEscalationConfig(raw),
      (err: unknown) => err instanceof EscalationError && err.code === code,
    );

  it("refuses what it cannot follow, naming the field", () => {
    refused({ levels: [] }, "levels-missing");
    refused({ levels: [{ recipients: "", after: 0 }] }, "level-invalid");
    refused({ levels: [{ recipients: "a", after: -1 }] }, "level-invalid");
    refused({ levels: [{ recipients: "a", after: 0, repeat: "x" }] }, "level-invalid");
    refused(
      {
        levels: [
          { recipients: "a", after: 5 },
          { recipients: "b", after: 5 },
        ],
      },
      "levels-order",
    );
    refused({ levels: [{ recipients: "roster:none", after: 0 }] }, "roster-unknown");
    refused(
      { levels: [{ recipients: "a" }], rosters: { r: [{ recipients: "a", days: [8], from: "1:00", to: "2:00" }] } },
      "roster-invalid",
    );
    refused(
      { levels: [{ recipients: "a" }], rosters: { r: [{ recipients: "a", days: [1], from: "25:00", to: "2:00" }] } },
      "roster-invalid",
    );
    refused({ levels: [{ recipients: "a" }], quiet: { from: "22:00", to: "6" } }, "quiet-invalid");
    refused({ levels: [{ recipients: "a" }], tz: "Mars/Olympus" }, "tz-invalid");
    refused({ levels: [{ recipients: "a" }], stopOn: "never" }, "stop-invalid");
  });

  it("takes numbers as texts, as the editor saves them, and blank quiet hours as none", () => {
    const config = parseEscalationConfig({
      levels: [{ recipients: "a", after: "0", repeat: "60000" }],
      quiet: { from: "", to: "", priority: "2" },
    });
    assert.deepEqual(config.levels, [{ recipients: "a", after: 0, repeat: 60000 }]);
    assert.equal(config.quiet, undefined);
    assert.equal(config.stopOn, "ack");
  });
});
