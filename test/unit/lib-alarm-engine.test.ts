import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AlarmEngine, type AlarmEvent } from "../../nodes/lib/alarm/AlarmEngine";
import { AlarmError } from "../../nodes/lib/alarm/AlarmError";
import { DEFAULT_OPTIONS, type AlarmDefinition, type BlockOptions } from "../../nodes/lib/alarm/BlockConfig";
import { DeadlineQueue } from "../../nodes/lib/alarm/DeadlineQueue";

const OPTIONS: BlockOptions = { block: 1, ...DEFAULT_OPTIONS };
const T0 = Date.UTC(2026, 0, 15, 8, 0, 0);

function alarm(fields: Partial<AlarmDefinition> = {}): AlarmDefinition {
  return {
    id: "LT-201-H",
    label: "Basin 2 bacteria level high",
    topic: "LT-201",
    condition: "high",
    setpoint: 6,
    deadband: 0,
    onDelay: 0,
    offDelay: 0,
    priority: 2,
    ack: "manual",
    bit: 0,
    latch: false,
    ...fields,
  };
}

/** "trigger:LT-201-H" for each event, in order. */
const names = (events: AlarmEvent[]) => events.map((e) => (e.alarm ? `${e.event}:${e.alarm.id}` : e.event));

function engineWith(defs: AlarmDefinition[], options: Partial<BlockOptions> = {}) {
  return new AlarmEngine(defs, { ...OPTIONS, ...options });
}

const state = (engine: AlarmEngine, id = "LT-201-H") => engine.select(id)[0].state;

describe("AlarmEngine: conditions", () => {
  it("high triggers above the setpoint and recovers at or below it", () => {
    const e = engineWith([alarm()]);
    assert.deepEqual(names(e.update("LT-201", 6, T0)), [], "at the setpoint is not above it");
    const [trigger] = e.update("LT-201", 6.1, T0 + 1);
    assert.equal(trigger.event, "trigger");
    assert.equal(trigger.at, T0 + 1);
    assert.equal(trigger.alarm?.state, "unacked");
    assert.equal(trigger.alarm?.value, 6.1);
    assert.equal(trigger.alarm?.triggeredAt, T0 + 1);
    assert.deepEqual(names(e.update("LT-201", 6, T0 + 2)), ["recovery:LT-201-H"]);
    assert.equal(state(e), "rtn-unacked");
  });

  it("a deadband keeps a high alarm in alarm inside it and never re-triggers there", () => {
    const e = engineWith([alarm({ deadband: 0.5 })]);
    assert.deepEqual(names(e.update("LT-201", 7, T0)), ["trigger:LT-201-H"]);
    for (const [i, v] of [5.8, 6.2, 5.6, 6.4, 5.51].entries()) {
      assert.deepEqual(e.update("LT-201", v, T0 + i + 1), [], `${v} is inside the deadband`);
    }
    assert.deepEqual(names(e.update("LT-201", 5.5, T0 + 10)), ["recovery:LT-201-H"]);
    assert.deepEqual(e.update("LT-201", 5.9, T0 + 11), [], "back under the setpoint: no trigger");
    assert.deepEqual(names(e.update("LT-201", 6.01, T0 + 12)), ["trigger:LT-201-H"]);
  });

  it("low mirrors high, with its deadband above the setpoint", () => {
    const e = engineWith([alarm({ id: "L", condition: "low", setpoint: 2, deadband: 0.3 })]);
    assert.deepEqual(names(e.update("LT-201", 1.9, T0)), ["trigger:L"]);
    assert.deepEqual(e.update("LT-201", 2.2, T0 + 1), []);
    assert.deepEqual(names(e.update("LT-201", 2.3, T0 + 2)), ["recovery:L"]);
  });

  it("equal, not-equal, true and false", () => {
    const e = engineWith([
      alarm({ id: "EQ", topic: "mode", condition: "equal", setpoint: 3 }),
      alarm({ id: "NE", topic: "mode", condition: "not-equal", setpoint: 1 }),
      alarm({ id: "T", topic: "pump", condition: "true" }),
      alarm({ id: "F", topic: "pump", condition: "false" }),
    ]);
    assert.deepEqual(names(e.update("mode", 1, T0)), []);
    assert.deepEqual(names(e.update("mode", "3", T0 + 1)), ["trigger:EQ", "trigger:NE"]);
    assert.deepEqual(names(e.update("mode", 1, T0 + 2)), ["recovery:EQ", "recovery:NE"]);
    assert.deepEqual(names(e.update("pump", true, T0 + 3)), ["trigger:T"]);
    assert.deepEqual(names(e.update("pump", 0, T0 + 4)), ["recovery:T", "trigger:F"]);
    assert.deepEqual(names(e.update("pump", 2, T0 + 5)), ["trigger:T", "recovery:F"]);
  });

  it("bit alarms read one bit of an integer word, negative 16-bit words included", () => {
    const e = engineWith([
      alarm({ id: "B0", topic: "word", condition: "bit", bit: 0 }),
      alarm({ id: "B15", topic: "word", condition: "bit", bit: 15 }),
      alarm({ id: "B31", topic: "word", condition: "bit", bit: 31 }),
    ]);
    assert.deepEqual(names(e.update("word", 0b1, T0)), ["trigger:B0"]);
    assert.deepEqual(names(e.update("word", -32768, T0 + 1)), ["recovery:B0", "trigger:B15", "trigger:B31"]);
    assert.deepEqual(names(e.update("word", 0x80000000, T0 + 2)), ["recovery:B15"]);
    assert.equal(e.select("B31")[0].bit, 31);
    assert.throws(
      () => e.update("word", 1.5, T0 + 3),
      (err: unknown) => err instanceof AlarmError && err.code === "value-invalid",
    );
  });

  it("refuses values that are not numbers, booleans or numeric strings, and changes nothing", () => {
    const e = engineWith([alarm()]);
    e.update("LT-201", 7, T0);
    const before = JSON.stringify(e.snapshot());
    for (const bad of [Number.NaN, Infinity, null, undefined, { v: 1 }, [7], "high", "", "  "]) {
      assert.throws(
        () => e.update("LT-201", bad, T0 + 1),
        (err: unknown) => err instanceof AlarmError && err.code === "value-invalid" && err.params.topic === "LT-201",
        String(bad),
      );
    }
    assert.equal(JSON.stringify(e.snapshot()), before);
    assert.deepEqual(names(e.update("LT-201", " 5 ", T0 + 2)), ["recovery:LT-201-H"], "a numeric string is a value");
  });

  it("a value for a topic no alarm watches changes nothing", () => {
    const e = engineWith([alarm()]);
    assert.equal(e.watches("FT-100"), false);
    assert.deepEqual(e.update("FT-100", 99, T0), []);
    assert.deepEqual(e.update("FT-100", "not a number", T0), []);
  });
});

describe("AlarmEngine: delays", () => {
  it("the on delay triggers only when the condition held for all of it, at its end", () => {
    const e = engineWith([alarm({ onDelay: 5000 })]);
    assert.deepEqual(e.update("LT-201", 7, T0), []);
    assert.equal(e.nextDeadline(), T0 + 5000);
    assert.deepEqual(e.advance(T0 + 4999), []);
    const [trigger] = e.advance(T0 + 6000);
    assert.equal(trigger.event, "trigger");
    assert.equal(trigger.at, T0 + 5000, "the event is dated when the delay ran out, not when it was noticed");
    assert.equal(e.nextDeadline(), undefined);
  });

  it("a condition that clears during the on delay never triggers", () => {
    const e = engineWith([alarm({ onDelay: 5000 })]);
    e.update("LT-201", 7, T0);
    assert.deepEqual(e.update("LT-201", 5, T0 + 3000), []);
    assert.equal(e.nextDeadline(), undefined);
    assert.deepEqual(e.advance(T0 + 10_000), []);
    e.update("LT-201", 7, T0 + 11_000);
    assert.equal(e.nextDeadline(), T0 + 16_000, "the delay starts again from the new rise");
  });

  it("the off delay recovers only when the condition stayed away for all of it", () => {
    const e = engineWith([alarm({ offDelay: 2000 })]);
    e.update("LT-201", 7, T0);
    assert.deepEqual(e.update("LT-201", 5, T0 + 100), []);
    assert.deepEqual(e.update("LT-201", 7, T0 + 1000), [], "back before the off delay ran out: same occurrence");
    e.update("LT-201", 5, T0 + 1100);
    assert.deepEqual(names(e.advance(T0 + 3100)), ["recovery:LT-201-H"]);
  });

  it("a value that comes after a deadline passed is evaluated after that deadline", () => {
    const e = engineWith([alarm({ onDelay: 1000 })]);
    e.update("LT-201", 7, T0);
    assert.deepEqual(names(e.update("LT-201", 5, T0 + 5000)), ["trigger:LT-201-H", "recovery:LT-201-H"]);
  });
});

describe("AlarmEngine: acknowledgement", () => {
  it("manual: stays unacknowledged until an ack, which records the user, also after recovery", () => {
    const e = engineWith([alarm()]);
    e.update("LT-201", 7, T0);
    const [ack] = e.command("ack", "LT-201-H", { user: "jean" }, T0 + 10);
    assert.equal(ack.event, "ack");
    assert.equal(ack.user, "jean");
    assert.equal(ack.alarm?.state, "acked");
    assert.equal(ack.alarm?.ackBy, "jean");
    assert.equal(ack.alarm?.ackedAt, T0 + 10);
    assert.deepEqual(e.command("ack", "LT-201-H", { user: "paul" }, T0 + 11), [], "acked already: nothing");
    e.update("LT-201", 5, T0 + 20);
    assert.equal(state(e), "normal");

    e.update("LT-201", 7, T0 + 30);
    e.update("LT-201", 5, T0 + 40);
    assert.equal(state(e), "rtn-unacked");
    assert.deepEqual(names(e.command("ack", "*", {}, T0 + 50)), ["ack:LT-201-H"]);
    assert.equal(state(e), "normal");
  });

  it("auto: acknowledged when it returns to normal", () => {
    const e = engineWith([alarm({ ack: "auto" })]);
    e.update("LT-201", 7, T0);
    assert.equal(state(e), "unacked");
    const [recovery] = e.update("LT-201", 5, T0 + 5);
    assert.equal(recovery.alarm?.state, "normal");
    assert.equal(recovery.alarm?.ackedAt, T0 + 5);
  });

  it("none: in alarm and acknowledged from the start; an ack does nothing", () => {
    const e = engineWith([alarm({ ack: "none" })]);
    const [trigger] = e.update("LT-201", 7, T0);
    assert.equal(trigger.alarm?.state, "acked");
    assert.deepEqual(e.command("ack", "LT-201-H", {}, T0 + 1), []);
  });

  it("acking an unknown alarm, or no alarm, is an error that changes nothing", () => {
    const e = engineWith([alarm(), alarm({ id: "LT-201-HH", setpoint: 8 })]);
    e.update("LT-201", 9, T0);
    assert.throws(
      () => e.command("ack", ["LT-201-HH", "LT-999"], { user: "jean" }, T0 + 1),
      (err: unknown) => err instanceof AlarmError && err.code === "alarm-unknown" && err.params.alarm === '"LT-999"',
    );
    assert.equal(state(e, "LT-201-HH"), "unacked", "the known alarm of the list was not acked either");
    for (const target of ["", []]) {
      assert.throws(
        () => e.command("ack", target, {}, T0),
        (err: unknown) => err instanceof AlarmError && err.code === "alarm-missing",
      );
    }
    assert.throws(
      () => e.command("shelve", undefined, {}, T0),
      (err: unknown) => err instanceof AlarmError && err.code === "alarm-missing",
    );
    assert.throws(
      () => e.command("silence", "*", {}, T0),
      (err: unknown) => err instanceof AlarmError && err.code === "command-invalid",
    );
  });
});

describe("AlarmEngine: latching", () => {
  it("stays in alarm after the condition cleared, until a reset, which reports the recovery", () => {
    const e = engineWith([alarm({ latch: true })]);
    e.update("LT-201", 7, T0);
    assert.deepEqual(e.update("LT-201", 5, T0 + 1), []);
    const [view] = e.select("LT-201-H");
    assert.equal(view.state, "unacked");
    assert.equal(view.latched, true);
    assert.deepEqual(names(e.command("ack", "LT-201-H", {}, T0 + 2)), ["ack:LT-201-H"]);
    assert.equal(state(e), "acked");
    const [recovery] = e.command("reset", "LT-201-H", { user: "jean" }, T0 + 3);
    assert.equal(recovery.event, "recovery");
    assert.equal(recovery.user, "jean");
    assert.equal(recovery.alarm?.state, "normal");
  });

  it("cannot be reset while its condition holds; a condition that returns continues the occurrence", () => {
    const e = engineWith([alarm({ latch: true })]);
    e.update("LT-201", 7, T0);
    assert.deepEqual(e.command("reset", "LT-201-H", {}, T0 + 1), []);
    e.update("LT-201", 5, T0 + 2);
    assert.deepEqual(e.update("LT-201", 7, T0 + 3), [], "no second trigger");
    assert.equal(e.select("LT-201-H")[0].latched, false);
    e.update("LT-201", 5, T0 + 4);
    assert.deepEqual(names(e.command("reset", "*", {}, T0 + 5)), ["recovery:LT-201-H"]);
    assert.equal(state(e), "rtn-unacked", "a reset ends the occurrence, it does not acknowledge it");
  });
});

describe("AlarmEngine: shelving, suppression, out of service", () => {
  it("a timed shelve hides new occurrences and expires on its own, re-announcing an alarm still active", () => {
    const e = engineWith([alarm()]);
    const [shelve] = e.command("shelve", "LT-201-H", { user: "jean", duration: 60_000 }, T0);
    assert.equal(shelve.alarm?.state, "shelved");
    assert.equal(shelve.alarm?.shelvedUntil, T0 + 60_000);
    assert.deepEqual(e.update("LT-201", 7, T0 + 1000), [], "shelved: no trigger");
    assert.equal(e.summary().active, 0);
    assert.equal(e.nextDeadline(), T0 + 60_000);
    const events = e.advance(T0 + 61_000);
    assert.deepEqual(names(events), ["unshelve:LT-201-H", "trigger:LT-201-H"]);
    assert.equal(events[0].cause, "expired");
    assert.equal(events[1].at, T0 + 60_000);
  });

  it("an occurrence reported before shelving still reports its recovery", () => {
    const e = engineWith([alarm()]);
    e.update("LT-201", 7, T0);
    e.command("shelve", "LT-201-H", { duration: "60000" }, T0 + 1);
    const [recovery] = e.update("LT-201", 5, T0 + 2);
    assert.equal(recovery.event, "recovery");
    assert.equal(recovery.alarm?.state, "shelved");
    e.update("LT-201", 7, T0 + 3);
    assert.deepEqual(names(e.command("unshelve", "LT-201-H", { user: "jean" }, T0 + 4)), [
      "unshelve:LT-201-H",
      "trigger:LT-201-H",
    ]);
  });

  it("a one-shot shelve (no duration) ends when the alarm returns to normal", () => {
    const e = engineWith([alarm()]);
    e.update("LT-201", 7, T0);
    e.command("ack", "LT-201-H", {}, T0 + 1);
    const [shelve] = e.command("shelve", "LT-201-H", {}, T0 + 2);
    assert.equal(shelve.alarm?.shelvedUntil, null);
    assert.equal(e.nextDeadline(), undefined, "no timer for a one-shot shelve");
    const events = e.update("LT-201", 5, T0 + 3);
    assert.deepEqual(names(events), ["recovery:LT-201-H", "unshelve:LT-201-H"]);
    assert.equal(events[1].cause, "one-shot");
    assert.equal(state(e), "normal");
  });

  it("refuses a shelve duration that is not a positive number of ms", () => {
    const e = engineWith([alarm()]);
    for (const duration of [0, -5, "soon", Number.NaN, {}]) {
      assert.throws(
        () => e.command("shelve", "*", { duration }, T0),
        (err: unknown) => err instanceof AlarmError && err.code === "duration-invalid",
      );
    }
    assert.equal(state(e), "normal");
  });

  it("suppressed and out-of-service alarms are hidden the same way, and trigger when shown again", () => {
    const e = engineWith([alarm(), alarm({ id: "LT-201-HH", setpoint: 8 })]);
    assert.deepEqual(names(e.command("suppress", "LT-201-H", {}, T0)), ["suppress:LT-201-H"]);
    assert.deepEqual(names(e.command("out-of-service", "LT-201-HH", {}, T0)), ["out-of-service:LT-201-HH"]);
    assert.deepEqual(e.update("LT-201", 9, T0 + 1), []);
    assert.equal(state(e), "suppressed");
    assert.equal(state(e, "LT-201-HH"), "out-of-service");
    assert.deepEqual(e.summary(), {
      alarms: 2,
      active: 0,
      unacked: 0,
      shelved: 0,
      suppressed: 1,
      outOfService: 1,
      chattering: 0,
      flood: false,
    });
    assert.deepEqual(names(e.command("unsuppress", "*", {}, T0 + 2)), ["unsuppress:LT-201-H", "trigger:LT-201-H"]);
    assert.deepEqual(names(e.command("in-service", "LT-201-HH", {}, T0 + 3)), [
      "in-service:LT-201-HH",
      "trigger:LT-201-HH",
    ]);
    assert.deepEqual(e.command("in-service", "LT-201-HH", {}, T0 + 4), [], "in service already");
  });
});

describe("AlarmEngine: chattering and floods", () => {
  it("3 triggers within a minute is chattering, which ends when they leave the window", () => {
    const e = engineWith([alarm()]);
    const toggle = (at: number) => [...e.update("LT-201", 7, at), ...e.update("LT-201", 5, at + 1000)];
    assert.deepEqual(names([...toggle(T0), ...toggle(T0 + 20_000)]), [
      "trigger:LT-201-H",
      "recovery:LT-201-H",
      "trigger:LT-201-H",
      "recovery:LT-201-H",
    ]);
    const third = toggle(T0 + 40_000);
    assert.deepEqual(names(third), ["chattering:LT-201-H", "trigger:LT-201-H", "recovery:LT-201-H"]);
    assert.equal(third[1].alarm?.chattering, true, "the trigger that makes it chatter says so, for consolidation");
    assert.equal(e.summary().chattering, 1);
    assert.equal(e.nextDeadline(), T0 + 60_000);
    assert.deepEqual(names(e.advance(T0 + 60_000)), ["chattering-end:LT-201-H"]);
    assert.equal(e.summary().chattering, 0);
  });

  it("more than 10 triggers within 10 minutes is a flood, flagged on events until it ends", () => {
    const defs = Array.from({ length: 12 }, (_, i) => alarm({ id: `A${i}`, topic: `t${i}` }));
    const e = engineWith(defs);
    for (let i = 0; i < 10; i++) assert.equal(e.update(`t${i}`, 7, T0 + i * 1000)[0].flood, false);
    const eleventh = e.update("t10", 7, T0 + 10_000);
    assert.deepEqual(names(eleventh), ["trigger:A10", "flood"]);
    assert.equal(e.summary().flood, true);
    assert.equal(e.update("t11", 7, T0 + 11_000)[0].flood, true);
    assert.equal(e.nextDeadline(), T0 + 1000 + 600_000, "ends when the 11 latest triggers no longer fit the window");
    const [end] = e.advance(T0 + 601_000);
    assert.equal(end.event, "flood-end");
    assert.equal(end.alarm, undefined);
    assert.equal(e.summary().flood, false);
  });
});

describe("AlarmEngine: snapshot and restore", () => {
  it("a restored engine has the same states, counters and deadlines", () => {
    const defs = [
      alarm(),
      alarm({ id: "LT-201-HH", setpoint: 8, onDelay: 30_000 }),
      alarm({ id: "P", topic: "pump", condition: "true" }),
    ];
    const e = engineWith(defs);
    e.update("LT-201", 9, T0);
    e.command("shelve", "P", { duration: 120_000 }, T0 + 1);
    const restored = new AlarmEngine(defs, OPTIONS, JSON.parse(JSON.stringify(e.snapshot())));
    assert.deepEqual(restored.select("*"), e.select("*"));
    assert.deepEqual(restored.summary(), e.summary());
    assert.deepEqual(restored.activeAlarms(), e.activeAlarms());
    assert.equal(restored.nextDeadline(), T0 + 30_000);
    assert.deepEqual(names(restored.advance(T0 + 200_000)), ["trigger:LT-201-HH", "unshelve:P"]);
  });

  it("states of alarms no longer in the table are dropped; new alarms start normal", () => {
    const e = engineWith([alarm()]);
    e.update("LT-201", 7, T0);
    const restored = new AlarmEngine([alarm({ id: "NEW" })], OPTIONS, e.snapshot());
    assert.equal(restored.select("NEW")[0].state, "normal");
    assert.equal(restored.summary().unacked, 0);
  });

  it("the revision moves with state changes and not with values that change nothing", () => {
    const e = engineWith([alarm()]);
    e.update("LT-201", 5, T0);
    const quiet = e.revision;
    e.update("LT-201", 4, T0 + 1);
    assert.equal(e.revision, quiet);
    e.update("LT-201", 7, T0 + 2);
    assert.ok(e.revision > quiet);
  });
});

describe("AlarmEngine: the list of active alarms", () => {
  it("lists alarms in alarm or awaiting an ack, most urgent first, and nothing else", () => {
    const e = engineWith([
      alarm({ id: "LOW", priority: 4, topic: "a" }),
      alarm({ id: "URGENT", priority: 1, topic: "b" }),
      alarm({ id: "QUIET", priority: 1, topic: "c" }),
    ]);
    e.update("a", 7, T0);
    e.update("b", 7, T0 + 1);
    e.update("b", 5, T0 + 2);
    assert.deepEqual(
      e.activeAlarms().map((a) => [a.id, a.state]),
      [
        ["URGENT", "rtn-unacked"],
        ["LOW", "unacked"],
      ],
    );
    e.command("ack", "URGENT", {}, T0 + 3);
    assert.deepEqual(
      e.activeAlarms().map((a) => a.id),
      ["LOW"],
    );
  });
});

describe("DeadlineQueue", () => {
  it("pops in time order and compacts away what its owner no longer wants", () => {
    const queue = new DeadlineQueue<string>();
    for (const at of [50, 10, 40, 30, 20, 60, 5]) queue.push(at, `t${at}`);
    queue.compact((at) => at !== 40);
    const order: number[] = [];
    for (let next = queue.pop(); next; next = queue.pop()) order.push(next.at);
    assert.deepEqual(order, [5, 10, 20, 30, 50, 60]);
  });
});

describe("AlarmEngine: ISA-18.2 fidelity", () => {
  const process = (fields: Partial<AlarmDefinition>) => alarm({ id: "A", topic: "pv", setpoint: 100, ...fields });
  const states = (events: AlarmEvent[]) => events.map((e) => `${e.event}:${e.alarm?.state ?? ""}`);

  it("on-delay: the condition must hold for all of the delay; inside the deadband it does not (high and low)", () => {
    const high = engineWith([process({ deadband: 5, onDelay: 1000 })]);
    high.update("pv", 101, T0);
    assert.deepEqual(high.update("pv", 96, T0 + 500), [], "96 is not above 100");
    assert.deepEqual(high.advance(T0 + 5000), [], "the condition did not hold for the second: no trigger");
    assert.equal(state(high, "A"), "normal");

    const low = engineWith([process({ condition: "low", deadband: 5, onDelay: 1000 })]);
    low.update("pv", 99, T0);
    low.update("pv", 104, T0 + 500);
    assert.deepEqual(low.advance(T0 + 5000), []);
    assert.equal(state(low, "A"), "normal");
  });

  it("leaving shelved, suppressed or out of service: active and never acknowledged is unacknowledged", () => {
    for (const [hide, show, duration] of [
      ["shelve", "unshelve", undefined],
      ["shelve", "expiry", 60_000],
      ["suppress", "unsuppress", undefined],
      ["out-of-service", "in-service", undefined],
    ] as const) {
      const e = engineWith([process({})]);
      e.command(hide, "A", { duration }, T0);
      e.update("pv", 101, T0 + 1000);
      const events = show === "expiry" ? e.advance(T0 + 60_000) : e.command(show, "A", {}, T0 + 2000);
      const shown = show === "expiry" ? "unshelve" : show;
      assert.deepEqual(states(events), [`${shown}:unacked`, "trigger:unacked"], `${hide} then ${show}`);
    }
  });

  it("off-delay: back inside the deadband during the delay, the alarm stays and the delay starts again", () => {
    const e = engineWith([process({ deadband: 5, offDelay: 1000 })]);
    assert.deepEqual(names(e.update("pv", 101, T0)), ["trigger:A"]);
    e.update("pv", 94, T0 + 100);
    assert.deepEqual(e.update("pv", 96, T0 + 500), [], "96 is inside the deadband: still in alarm");
    assert.deepEqual(e.advance(T0 + 5000), [], "no recovery while the value stays inside the deadband");
    assert.equal(state(e, "A"), "unacked");
    e.update("pv", 95, T0 + 6000);
    assert.deepEqual(names(e.advance(T0 + 7000)), ["recovery:A"], "a whole off-delay out of the deadband");
  });

  it("one-shot shelving of a latched alarm ends at the reset, not when the value drops", () => {
    const e = engineWith([process({ latch: true })]);
    e.update("pv", 101, T0);
    e.command("shelve", "A", {}, T0 + 1);
    assert.deepEqual(e.update("pv", 90, T0 + 2), [], "latched: it has not returned to normal");
    assert.equal(state(e, "A"), "shelved");
    const reset = e.command("reset", "A", { user: "jean" }, T0 + 3);
    assert.deepEqual(names(reset), ["recovery:A", "unshelve:A"]);
    assert.equal(reset[1].cause, "one-shot");
  });

  it("chattering counts transitions into alarm, not value toggles: none while shelved or latched", () => {
    const toggle = (e: AlarmEngine, from: number) => {
      const events: AlarmEvent[] = [];
      for (let i = 0; i < 3; i++) {
        events.push(...e.update("pv", 101, from + i * 1000), ...e.update("pv", 90, from + i * 1000 + 500));
      }
      return events;
    };
    const shelved = engineWith([process({})]);
    shelved.command("shelve", "A", { duration: 600_000 }, T0);
    assert.deepEqual(names(toggle(shelved, T0 + 1)), [], "shelved: no trigger, no chattering");
    assert.equal(shelved.summary().chattering, 0);

    const latched = engineWith([process({ latch: true })]);
    assert.deepEqual(names(toggle(latched, T0)), ["trigger:A"], "latched: one trigger, no chattering");
    assert.equal(latched.summary().chattering, 0);
  });
});

describe("AlarmEngine: acknowledge all", () => {
  it("an ack without msg.alarm acknowledges every unacknowledged alarm of the block, as an HMI's button does", () => {
    const e = engineWith([alarm(), alarm({ id: "LT-201-HH", setpoint: 8 })]);
    e.update("LT-201", 9, T0);
    const events = e.command("ack", undefined, { user: "jean" }, T0 + 1);
    assert.deepEqual(
      events.map((event) => [event.event, event.alarm?.id, event.user]),
      [
        ["ack", "LT-201-H", "jean"],
        ["ack", "LT-201-HH", "jean"],
      ],
    );
    assert.equal(state(e, "LT-201-H"), "acked");
    assert.equal(state(e, "LT-201-HH"), "acked");
    assert.deepEqual(e.command("ack", undefined, {}, T0 + 2), [], "nothing left to acknowledge");
  });
});

describe("AlarmEngine: occurrences and acknowledgement from a mail", () => {
  const prefixed = (restored?: ConstructorParameters<typeof AlarmEngine>[2]) =>
    new AlarmEngine([alarm()], OPTIONS, restored, "block-a/");

  it("names each occurrence once, keeps the name through ack and recovery, and takes a new one at the next trigger", () => {
    const e = prefixed();
    assert.equal(e.select("LT-201-H")[0].occurrence, null, "no occurrence before the first trigger");
    const [trigger] = e.update("LT-201", 7, T0);
    const first = trigger.alarm?.occurrence;
    assert.equal(first, `block-a/LT-201-H/${T0.toString(36)}`);
    const [recovery] = e.update("LT-201", 5, T0 + 1);
    assert.equal(recovery.alarm?.occurrence, first);
    const [ack] = e.command("ack", "LT-201-H", { user: "ana" }, T0 + 2);
    assert.equal(ack.alarm?.occurrence, first);
    assert.equal(ack.alarm?.ackVia, "flow", "an ack from the flow says so");
    const [second] = e.update("LT-201", 7, T0 + 3);
    assert.notEqual(second.alarm?.occurrence, first);
    assert.equal(second.alarm?.ackVia, null, "a new occurrence is not acknowledged by anyone");
  });

  it("gives two occurrences in one millisecond different names", () => {
    const e = new AlarmEngine([alarm({ ack: "none" })], OPTIONS, undefined, "b/");
    const seen = new Set<string | null | undefined>();
    for (const v of [7, 5, 7, 5, 7]) {
      for (const event of e.update("LT-201", v, T0)) if (event.event === "trigger") seen.add(event.alarm?.occurrence);
    }
    assert.equal(seen.size, 3);
  });

  it("keeps the name across a restart, and names an occurrence saved by an older version from its trigger time", () => {
    const e = prefixed();
    const name = e.update("LT-201", 7, T0)[0].alarm?.occurrence;
    const snapshot = JSON.parse(JSON.stringify(e.snapshot())) as ReturnType<AlarmEngine["snapshot"]>;
    assert.equal(prefixed(snapshot).select("LT-201-H")[0].occurrence, name);
    delete snapshot.alarms["LT-201-H"].occurrence;
    delete snapshot.alarms["LT-201-H"].ackVia;
    const old = prefixed(snapshot).select("LT-201-H")[0];
    assert.equal(old.occurrence, name);
    assert.equal(old.ackVia, null);
  });

  it("acknowledges only the current unacknowledged occurrence, and says why not otherwise", () => {
    const e = prefixed();
    const name = e.update("LT-201", 7, T0)[0].alarm?.occurrence ?? "";
    const by = { user: "ana@plant.example", via: "link" } as const;
    assert.deepEqual(e.acknowledgeOccurrence("NOPE", name, by, T0 + 1), { outcome: "unknown-alarm", events: [] });
    assert.equal(e.acknowledgeOccurrence("LT-201-H", `${name}x`, by, T0 + 1).outcome, "outdated");
    assert.equal(state(e), "unacked", "a refused ack changes nothing");
    const taken = e.acknowledgeOccurrence("LT-201-H", name, by, T0 + 2);
    assert.equal(taken.outcome, "acked");
    assert.deepEqual(names(taken.events), ["ack:LT-201-H"]);
    assert.equal(taken.events[0].alarm?.ackBy, "ana@plant.example");
    assert.equal(taken.events[0].alarm?.ackVia, "link");
    assert.deepEqual(e.acknowledgeOccurrence("LT-201-H", name, by, T0 + 3), { outcome: "already-acked", events: [] });
    e.update("LT-201", 5, T0 + 4);
    e.update("LT-201", 7, T0 + 5);
    assert.equal(e.acknowledgeOccurrence("LT-201-H", name, by, T0 + 6).outcome, "outdated", "a newer occurrence");
  });
});
