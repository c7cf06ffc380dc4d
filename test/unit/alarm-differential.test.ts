import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { AlarmEngine, type AlarmEvent, type AlarmView } from "../../nodes/lib/alarm/AlarmEngine";
import {
  ACK_MODES,
  DEFAULT_OPTIONS,
  type AlarmDefinition,
  type BlockOptions,
  type Condition,
} from "../../nodes/lib/alarm/BlockConfig";
import { IsaReference, type ReferenceCommand, type ReferenceEvent, type ReferenceView } from "../support/IsaReference";

/**
 * The engine against a reference model of ISA-18.2 written from the standard's definitions (test/support/IsaReference):
 * random values, times and commands, for every condition, latching, acknowledgement mode, delay and deadband; the first
 * divergence fails the test, shrunk by fast-check to the shortest sequence that shows it.
 *
 * Times are chosen so that no two timers ever fall due at the same instant, since the standard does not say which
 * comes first: inputs come on whole seconds, and every duration has its own remainder in ms (on-delays end on ...001,
 * off-delays on ...002, timed shelving on ...004, chattering windows on ...008 plus the trigger's, flood windows on
 * ...032 plus the trigger's).
 */

const RUNS = Number(process.env.ALARM_DIFFERENTIAL_RUNS ?? 10_000);
const T0 = Date.UTC(2026, 0, 15, 8, 0, 0);
const COMMANDS: ReferenceCommand[] = [
  "ack",
  "shelve",
  "unshelve",
  "reset",
  "suppress",
  "unsuppress",
  "out-of-service",
  "in-service",
];

/** The values worth trying for each condition: around the setpoint 100 and its deadbands, or the bits of a word. */
const VALUES: Record<Condition, Array<number | boolean>> = {
  high: [90, 94, 95, 96, 98, 99, 100, 101, 102, 104, 105, 106, 110],
  low: [90, 94, 95, 96, 98, 99, 100, 101, 102, 104, 105, 106, 110],
  equal: [99, 100, 101],
  "not-equal": [99, 100, 101],
  true: [0, 1, 2, true, false],
  false: [0, 1, 2, true, false],
  bit: [0, 1, 2, 3, 4, 6, 7],
};

type Step =
  | { kind: "value"; gap: number; value: number | boolean }
  | { kind: "command"; gap: number; command: ReferenceCommand; user: string | null; duration: number | undefined }
  | { kind: "tick"; gap: number }
  | { kind: "restart"; gap: number };

interface Scenario {
  def: AlarmDefinition;
  options: BlockOptions;
  steps: Step[];
}

function scenario(condition: Condition): fc.Arbitrary<Scenario> {
  const def = fc.record({
    id: fc.constant("A"),
    label: fc.constant("Basin 2 level"),
    topic: fc.constant("pv"),
    condition: fc.constant(condition),
    setpoint: fc.constant(100),
    deadband: fc.constantFrom(0, 2, 5),
    onDelay: fc.constantFrom(0, 1001, 3001, 10_001),
    offDelay: fc.constantFrom(0, 1002, 3002, 10_002),
    priority: fc.constant(2 as const),
    ack: fc.constantFrom(...ACK_MODES),
    bit: fc.constant(1),
    latch: fc.boolean(),
  }) satisfies fc.Arbitrary<AlarmDefinition>;
  const options = fc.record({
    block: fc.constant(1),
    floodCount: fc.integer({ min: 1, max: 4 }),
    floodWindow: fc.constantFrom(20_032, 120_032),
    chatterCount: fc.integer({ min: 2, max: 4 }),
    chatterWindow: fc.constantFrom(5008, 20_008, 60_008),
    historySize: fc.constant(DEFAULT_OPTIONS.historySize),
    historyDays: fc.constant(DEFAULT_OPTIONS.historyDays),
  }) satisfies fc.Arbitrary<BlockOptions>;
  const gap = fc.integer({ min: 0, max: 12 });
  const step: fc.Arbitrary<Step> = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({ kind: fc.constant("value" as const), gap, value: fc.constantFrom(...VALUES[condition]) }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant("command" as const),
        gap,
        command: fc.constantFrom(...COMMANDS),
        user: fc.constantFrom(null, "jean"),
        duration: fc.constantFrom(undefined, 2004, 7004, 30_004),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("tick" as const), gap }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("restart" as const), gap }) },
  );
  return fc.record({ def, options, steps: fc.array(step, { minLength: 1, maxLength: 40, size: "max" }) });
}

function fromEngine(e: AlarmEvent): ReferenceEvent {
  const a = e.alarm;
  return {
    event: e.event,
    at: e.at,
    state: a?.state ?? null,
    active: a?.active ?? null,
    latched: a?.latched ?? null,
    chattering: a?.chattering ?? null,
    triggeredAt: a?.triggeredAt ?? null,
    ackedAt: a?.ackedAt ?? null,
    recoveredAt: a?.recoveredAt ?? null,
    ackBy: a?.ackBy ?? null,
    shelvedUntil: a?.shelvedUntil ?? null,
    value: a?.value ?? null,
    user: e.user ?? null,
    cause: e.cause ?? null,
    flood: e.flood,
  };
}

function viewOf(a: AlarmView): ReferenceView {
  return {
    state: a.state,
    value: a.value,
    active: a.active,
    latched: a.latched,
    triggeredAt: a.triggeredAt,
    ackedAt: a.ackedAt,
    recoveredAt: a.recoveredAt,
    ackBy: a.ackBy,
    shelvedUntil: a.shelvedUntil,
    chattering: a.chattering,
  };
}

/**
 * Runs both; throws at the first step where the events, the alarm, the flood or the next timer differ. `seen` collects
 * the kinds of event that happened, to show that the sequences reach every part of the state machine.
 */
function agree({ def, options, steps }: Scenario, seen: Set<string>): void {
  let engine = new AlarmEngine([def], options);
  const model = new IsaReference(def, options);
  let now = T0;
  for (const [index, step] of steps.entries()) {
    now += step.gap * 1000;
    let got: AlarmEvent[];
    let want: ReferenceEvent[];
    switch (step.kind) {
      case "value":
        got = engine.update("pv", step.value, now);
        want = model.update(step.value, now);
        break;
      case "command":
        got = engine.command(step.command, "A", { user: step.user, duration: step.duration }, now);
        want = model.command(step.command, step.user, step.duration, now);
        break;
      case "tick":
        got = engine.advance(now);
        want = model.tick(now);
        break;
      case "restart":
        engine = new AlarmEngine([def], options, JSON.parse(JSON.stringify(engine.snapshot())));
        got = engine.advance(now);
        want = model.tick(now);
        break;
    }
    for (const e of want) seen.add(e.cause === null ? e.event : `${e.event}-${e.cause}`);
    const compared: Array<[string, unknown, unknown]> = [
      ["events", got.map(fromEngine), want],
      ["alarm", viewOf(engine.select("A")[0]), model.view()],
      ["flood", engine.summary().flood, model.flood],
      ["next timer", engine.nextDeadline(), model.nextTimer()],
    ];
    for (const [what, actual, expected] of compared) {
      if (!isDeepStrictEqual(actual, expected)) {
        throw new Error(
          `step ${index} (${JSON.stringify(step)}, t=+${now - T0} ms): ${what} differ\n` +
            `engine:    ${JSON.stringify(actual)}\nreference: ${JSON.stringify(expected)}`,
        );
      }
    }
  }
}

/** Every kind of event, each cause of unshelving apart: the sequences must reach them all. */
const EVERY_EVENT = [
  "trigger",
  "ack",
  "recovery",
  "shelve",
  "unshelve-command",
  "unshelve-expired",
  "unshelve-one-shot",
  "suppress",
  "unsuppress",
  "out-of-service",
  "in-service",
  "chattering",
  "chattering-end",
  "flood",
  "flood-end",
];

describe("AlarmEngine against the ISA-18.2 reference model", () => {
  for (const condition of ["high", "low", "equal", "not-equal", "true", "false", "bit"] as const) {
    it(`${condition}: ${RUNS} random sequences, no divergence`, () => {
      const seen = new Set<string>();
      fc.assert(
        fc.property(scenario(condition), (s) => agree(s, seen)),
        { numRuns: RUNS },
      );
      assert.deepEqual(
        EVERY_EVENT.filter((event) => !seen.has(event)),
        [],
        "events the sequences never reached",
      );
    });
  }
});
