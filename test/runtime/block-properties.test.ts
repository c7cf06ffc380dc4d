import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { AlarmEngine, type AlarmEvent, type SlotState } from "../../nodes/lib/alarm/AlarmEngine";
import { AlarmError } from "../../nodes/lib/alarm/AlarmError";
import {
  ACK_MODES,
  CONDITIONS,
  DEFAULT_OPTIONS,
  type AlarmDefinition,
  type BlockOptions,
} from "../../nodes/lib/alarm/BlockConfig";

const TOPICS = ["LT-201", "word"];
const T0 = Date.UTC(2026, 0, 15);

const definition = (id: string) =>
  fc.record({
    id: fc.constant(id),
    label: fc.constant(id),
    topic: fc.constantFrom(...TOPICS),
    condition: fc.constantFrom(...CONDITIONS),
    setpoint: fc.integer({ min: 0, max: 8 }),
    deadband: fc.constantFrom(0, 0.5, 2),
    onDelay: fc.constantFrom(0, 0, 1000, 5000),
    offDelay: fc.constantFrom(0, 0, 1000, 5000),
    priority: fc.constantFrom(1 as const, 2 as const, 3 as const, 4 as const),
    ack: fc.constantFrom(...ACK_MODES),
    bit: fc.integer({ min: 0, max: 3 }),
    latch: fc.boolean(),
  }) satisfies fc.Arbitrary<AlarmDefinition>;

const IDS = ["A", "B", "C", "D"];
const target = fc.oneof(fc.constantFrom(...IDS, "*"), fc.subarray(IDS, { minLength: 1 }));

type Step =
  | { kind: "value"; topic: string; value: unknown; dt: number }
  | { kind: "table"; values: Record<string, unknown>; dt: number }
  | { kind: "command"; command: string; target: unknown; duration?: number; dt: number }
  | { kind: "wait"; dt: number }
  | { kind: "restart"; dt: number };

const dt = fc.constantFrom(0, 1, 300, 999, 1000, 2500, 5000, 20_000, 61_000);
const value = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: -1, max: 10 }) },
  { weight: 2, arbitrary: fc.double({ min: -1, max: 10, noNaN: true }) },
  { weight: 2, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constantFrom("7", " 3 ", "x", null, Number.NaN, { v: 1 }) },
);
const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({ kind: fc.constant("value" as const), topic: fc.constantFrom(...TOPICS), value, dt }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("table" as const),
      values: fc.record({ "LT-201": value, word: value, other: value }, { requiredKeys: [] }),
      dt,
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("command" as const),
      command: fc.constantFrom(
        "ack",
        "shelve",
        "unshelve",
        "reset",
        "suppress",
        "unsuppress",
        "out-of-service",
        "in-service",
      ),
      target,
      duration: fc.option(fc.constantFrom(1000, 30_000), { nil: undefined }),
      dt,
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("wait" as const), dt }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("restart" as const), dt }) },
);

const scenario = fc.record({
  definitions: fc.tuple(...IDS.map(definition)),
  options: fc.record({
    floodCount: fc.integer({ min: 1, max: 4 }),
    floodWindow: fc.constantFrom(10_000, 600_000),
    chatterCount: fc.integer({ min: 2, max: 3 }),
    chatterWindow: fc.constantFrom(5_000, 60_000),
  }),
  steps: fc.array(step, { maxLength: 80 }),
});

/** Runs the steps, restarting from a JSON snapshot where a step says so, and returns every event in order. */
function run(
  definitions: AlarmDefinition[],
  options: BlockOptions,
  steps: Step[],
): { events: AlarmEvent[]; engine: AlarmEngine } {
  let engine = new AlarmEngine(definitions, options);
  let now = T0;
  const events: AlarmEvent[] = [];
  const tolerate = (action: () => AlarmEvent[]) => {
    try {
      events.push(...action());
    } catch (err) {
      if (!(err instanceof AlarmError)) throw err;
    }
  };
  for (const s of steps) {
    now += s.dt;
    switch (s.kind) {
      case "value":
        tolerate(() => engine.update(s.topic, s.value, now));
        break;
      case "table":
        for (const [topic, v] of Object.entries(s.values)) tolerate(() => engine.update(topic, v, now));
        break;
      case "command":
        tolerate(() => engine.command(s.command, s.target, { user: "op", duration: s.duration }, now));
        break;
      case "wait":
        events.push(...engine.advance(now));
        break;
      case "restart":
        engine = new AlarmEngine(definitions, options, JSON.parse(JSON.stringify(engine.snapshot())));
        break;
    }
  }
  return { events, engine };
}

/** The event order that ISA-18.2 allows, per alarm and for the block; returns what is wrong, or nothing. */
function impossibleOrder(events: AlarmEvent[]): string | undefined {
  const open = new Map<string, boolean>();
  const ackDue = new Map<string, boolean>();
  const chattering = new Map<string, boolean>();
  const shelved = new Map<string, boolean>();
  let flood = false;
  let last = -Infinity;
  for (const [i, e] of events.entries()) {
    const where = `event ${i} (${e.event}${e.alarm ? ` ${e.alarm.id}` : ""})`;
    if (e.at < last) return `${where} goes back in time`;
    last = e.at;
    if (e.event === "flood" || e.event === "flood-end") {
      if (flood === (e.event === "flood")) return `${where}: flood events do not alternate`;
      flood = e.event === "flood";
      continue;
    }
    const id = e.alarm?.id;
    if (id === undefined) return `${where} has no alarm`;
    switch (e.event) {
      case "trigger":
        if (open.get(id)) return `${where}: two triggers without a recovery between them`;
        open.set(id, true);
        ackDue.set(id, e.alarm?.ack !== "none");
        if (["shelved", "suppressed", "out-of-service"].includes(e.alarm?.state ?? "")) return `${where}: hidden`;
        break;
      case "recovery":
        if (!open.get(id)) return `${where}: a recovery without a trigger`;
        open.set(id, false);
        if (e.alarm?.ack === "auto") ackDue.set(id, false);
        break;
      case "ack":
        if (!ackDue.get(id)) return `${where}: an ack with nothing to acknowledge`;
        ackDue.set(id, false);
        break;
      case "chattering":
      case "chattering-end":
        if ((chattering.get(id) ?? false) === (e.event === "chattering")) return `${where}: does not alternate`;
        chattering.set(id, e.event === "chattering");
        break;
      case "unshelve":
        if (!shelved.get(id)) return `${where}: unshelved while not shelved`;
        shelved.set(id, false);
        break;
      case "shelve":
        shelved.set(id, true);
        break;
    }
  }
  return undefined;
}

describe("AlarmEngine, on random value and command sequences", () => {
  it("never produces an impossible event order, across restarts", () => {
    fc.assert(
      fc.property(scenario, ({ definitions, options, steps }) => {
        const { events } = run(definitions, { block: 1, ...DEFAULT_OPTIONS, ...options }, steps);
        const wrong = impossibleOrder(events);
        assert.equal(wrong, undefined, wrong);
      }),
      { numRuns: 1500 },
    );
  });

  it("keeps its counters and its list of active alarms equal to a full recount", () => {
    fc.assert(
      fc.property(scenario, ({ definitions, options, steps }) => {
        const { engine } = run(definitions, { block: 1, ...DEFAULT_OPTIONS, ...options }, steps);
        const states = Object.entries(engine.snapshot().alarms);
        const count = (test: (s: SlotState) => boolean) => states.filter(([, s]) => test(s)).length;
        const hidden = (s: SlotState) => s.shelved || s.suppressed || s.outOfService;
        const { flood, ...counters } = engine.summary();
        assert.deepEqual(counters, {
          alarms: definitions.length,
          active: count((s) => (s.active || s.latched) && !hidden(s)),
          unacked: count((s) => !s.acked),
          shelved: count((s) => s.shelved),
          suppressed: count((s) => s.suppressed),
          outOfService: count((s) => s.outOfService),
          chattering: count((s) => s.chattering),
        });
        assert.equal(flood, engine.snapshot().flood.active);
        const listed = states.filter(([, s]) => s.active || s.latched || !s.acked).map(([id]) => id);
        assert.deepEqual(
          engine
            .activeAlarms()
            .map((a) => a.id)
            .sort(),
          listed.sort(),
        );
      }),
      { numRuns: 500 },
    );
  });

  it("a snapshot taken at any point restores the same alarms and the same next deadline", () => {
    fc.assert(
      fc.property(scenario, ({ definitions, options, steps }) => {
        const blockOptions = { block: 1, ...DEFAULT_OPTIONS, ...options };
        const { engine } = run(definitions, blockOptions, steps);
        const restored = new AlarmEngine(definitions, blockOptions, JSON.parse(JSON.stringify(engine.snapshot())));
        assert.deepEqual(restored.select("*"), engine.select("*"));
        assert.deepEqual(restored.summary(), engine.summary());
        assert.equal(restored.nextDeadline(), engine.nextDeadline());
      }),
      { numRuns: 300 },
    );
  });
});
