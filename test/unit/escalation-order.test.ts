import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { parseEscalationConfig, type EscalationConfig } from "../../nodes/lib/escalation/EscalationConfig";
import {
  EscalationEngine,
  type EscalationEvent,
  type EscalationInput,
} from "../../nodes/lib/escalation/EscalationEngine";
import {
  decodeEscalationSnapshot,
  encodeEscalationSnapshot,
  SnapshotEncoder,
} from "../../nodes/lib/escalation/EscalationSnapshot";

/**
 * The order of the engine's events over random runs: random level tables, rosters, quiet hours and stopOn, random
 * triggers, acks, recoveries, ticks and restarts of a few occurrences. What must always hold is checked on every
 * run, and a run with restarts (through the JSON of the state file) must say exactly what the same run says without.
 */

const RUNS = Number(process.env.ESCALATION_PROPERTY_RUNS ?? 2_000);
const MIN = 60_000;
/** Monday 12 January 2026, 00:00 UTC. */
const T0 = Date.UTC(2026, 0, 12, 0, 0);
const KEYS = ["a", "b", "c"] as const;

type Step =
  | { kind: "trigger"; gap: number; key: string; priority: number }
  | { kind: "ack" | "recovery"; gap: number; key: string; over: boolean }
  | { kind: "tick"; gap: number }
  | { kind: "restart"; gap: number };

interface Scenario {
  raw: Record<string, unknown>;
  steps: Step[];
}

const clock = (minute: number) =>
  `${String(Math.floor(minute / 60)).padStart(2, "0")}:${String(minute % 60).padStart(2, "0")}`;

const scenario: fc.Arbitrary<Scenario> = fc
  .record({
    afters: fc.uniqueArray(fc.integer({ min: 0, max: 120 }), { minLength: 1, maxLength: 3 }),
    repeats: fc.array(fc.constantFrom(0, 3, 7, 30), { minLength: 3, maxLength: 3 }),
    roster: fc.boolean(),
    quiet: fc.option(
      fc.record({
        from: fc.integer({ min: 0, max: 1439 }),
        to: fc.integer({ min: 0, max: 1439 }),
        priority: fc.integer({ min: 1, max: 3 }),
      }),
      { nil: undefined },
    ),
    stopOn: fc.constantFrom("ack", "recovery", "both"),
    steps: fc.array(
      fc.oneof(
        fc.record({
          kind: fc.constant("trigger" as const),
          gap: fc.integer({ min: 0, max: 90 }),
          key: fc.constantFrom(...KEYS),
          priority: fc.integer({ min: 1, max: 4 }),
        }),
        fc.record({
          kind: fc.constantFrom("ack" as const, "recovery" as const),
          gap: fc.integer({ min: 0, max: 90 }),
          key: fc.constantFrom(...KEYS),
          over: fc.boolean(),
        }),
        fc.record({ kind: fc.constant("tick" as const), gap: fc.integer({ min: 0, max: 600 }) }),
        fc.record({ kind: fc.constant("restart" as const), gap: fc.integer({ min: 0, max: 600 }) }),
      ),
      { minLength: 1, maxLength: 30 },
    ),
  })
  .map(({ afters, repeats, roster, quiet, stopOn, steps }) => {
    const sorted = [...afters].sort((x, y) => x - y);
    const levels = sorted.map((after, i) => ({
      recipients: i === 1 && roster ? "roster:oncall" : `group-${i + 1}`,
      after: after * MIN,
      repeat: repeats[i] * MIN,
    }));
    const rosters = {
      oncall: [
        { recipients: "day", days: [1, 2, 3, 4, 5], from: "06:00", to: "18:00" },
        { recipients: "night", days: [1, 2, 3, 4, 5, 6, 7], from: "17:00", to: "07:00" },
      ],
    };
    return {
      raw: {
        tz: "Europe/Paris",
        levels,
        rosters,
        stopOn,
        ...(quiet ? { quiet: { from: clock(quiet.from), to: clock(quiet.to), priority: quiet.priority } } : {}),
      },
      steps,
    };
  });

/** A state file's occurrences by key: their order in the file means nothing to the engine that reads it. */
function byKey(text: string): Map<string, unknown> {
  const { occurrences } = JSON.parse(text) as { occurrences: Array<{ key: string }> };
  return new Map(occurrences.map((o) => [o.key, o]));
}

/** Runs the steps; `restarts` says whether a restart step really restarts through the state file. */
function run(config: EscalationConfig, steps: Step[], restarts: boolean): EscalationEvent[][] {
  let engine = new EscalationEngine(config);
  let encoder = new SnapshotEncoder();
  let now = T0;
  const outputs: EscalationEvent[][] = [];
  for (const step of steps) {
    now += step.gap * MIN + 1;
    if (step.kind === "restart") {
      if (restarts) {
        // The node's incremental encoder, kept across the run as the node keeps it, must write the whole state.
        const text = encoder.encode(engine, now);
        assert.deepEqual(byKey(text), byKey(encodeEscalationSnapshot(engine.snapshot(), now)));
        engine = new EscalationEngine(config, decodeEscalationSnapshot(text));
        encoder = new SnapshotEncoder();
      }
      outputs.push(engine.advance(now).events);
    } else if (step.kind === "tick") {
      outputs.push(engine.advance(now).events);
    } else {
      const input: EscalationInput =
        step.kind === "trigger"
          ? { key: step.key, event: "trigger", priority: step.priority, over: false, data: step.key }
          : { key: step.key, event: step.kind, priority: 1, over: step.over };
      outputs.push(engine.receive(input, now).events);
    }
  }
  return outputs;
}

describe("EscalationEngine event order (property-based)", () => {
  it("time order, levels that only rise, attempts that count, ack and recovery only to groups told", () => {
    fc.assert(
      fc.property(scenario, ({ raw, steps }) => {
        const config = parseEscalationConfig(raw);
        const outputs = run(config, steps, true);
        const told = new Map<string, string[]>();
        const last = new Map<string, { level: number; attempt: number; at: number }>();
        let previousAt = -Infinity;
        steps.forEach((step, i) => {
          for (const event of outputs[i]) {
            assert.ok(event.at >= previousAt, "events come in time order");
            previousAt = event.at;
            const groups = told.get(event.key) ?? [];
            if (event.event === "ack" || event.event === "recovery") {
              assert.ok(groups.includes(event.recipients), "ack and recovery go only to a group told");
              continue;
            }
            if (!groups.includes(event.recipients)) groups.push(event.recipients);
            told.set(event.key, groups);
            const before = last.get(event.key);
            // The groups of a roster on duty together share one notification.
            if (before && before.at === event.at && before.level === event.level && before.attempt === event.attempt) {
              continue;
            }
            if (event.event === "trigger") {
              assert.equal(before, undefined, "a trigger is the first notification");
              assert.deepEqual([event.level, event.attempt], [1, 1]);
            } else if (event.event === "escalation") {
              assert.ok(before === undefined || event.level > before.level, "an escalation rises");
              assert.ok(event.level > 1);
              assert.equal(event.attempt, 1);
            } else {
              assert.ok(before !== undefined && event.level === before.level, "a reminder stays on its level");
              assert.equal(event.attempt, before.attempt + 1, "reminders count");
            }
            last.set(event.key, { level: event.level, attempt: event.attempt, at: event.at });
          }
          // An occurrence that is over is forgotten: the same key may start a new one.
          if ((step.kind === "ack" || step.kind === "recovery") && step.over) {
            told.delete(step.key);
            last.delete(step.key);
          }
        });
      }),
      { numRuns: RUNS },
    );
  });

  it("an ack or recovery reaches each group told exactly once, and a stop silences the occurrence", () => {
    fc.assert(
      fc.property(scenario, ({ raw, steps }) => {
        const config = parseEscalationConfig(raw);
        const outputs = run(config, steps, false);
        const told = new Map<string, string[]>();
        const stopped = new Set<string>();
        const state = new Map<string, { acked: boolean; recovered: boolean }>();
        steps.forEach((step, i) => {
          const out = outputs[i];
          // Deadlines raised before the step's own input come first.
          const own = step.kind === "ack" || step.kind === "recovery" ? out.filter((e) => e.event === step.kind) : [];
          // A trigger of a key whose occurrence is over starts a new occurrence.
          if (step.kind === "trigger" && !state.has(step.key)) {
            state.set(step.key, { acked: false, recovered: false });
            stopped.delete(step.key);
          }
          for (const event of out.filter((e) => !own.includes(e))) {
            assert.ok(!stopped.has(event.key), `${event.event} after the stop of ${event.key}`);
            const groups = told.get(event.key) ?? [];
            if (!groups.includes(event.recipients)) groups.push(event.recipients);
            told.set(event.key, groups);
          }
          if (step.kind === "ack" || step.kind === "recovery") {
            const known = state.get(step.key);
            const first = known !== undefined && !(step.kind === "ack" ? known.acked : known.recovered);
            const expected = first ? (told.get(step.key) ?? []) : [];
            assert.deepEqual(
              own.map((e) => e.recipients),
              expected,
              `${step.kind} of ${step.key} to ${expected.join(",")}`,
            );
            if (known) {
              if (step.kind === "ack") known.acked = true;
              else known.recovered = true;
              const stop =
                config.stopOn === "ack"
                  ? known.acked
                  : config.stopOn === "recovery"
                    ? known.recovered
                    : known.acked || known.recovered;
              if (stop) stopped.add(step.key);
              if (step.over) {
                state.delete(step.key);
                told.delete(step.key);
              }
            }
          }
        });
      }),
      { numRuns: RUNS },
    );
  });

  it("a restart through the state file changes nothing that is said, nor when", () => {
    fc.assert(
      fc.property(scenario, ({ raw, steps }) => {
        const config = parseEscalationConfig(raw);
        assert.deepEqual(run(config, steps, true), run(config, steps, false));
      }),
      { numRuns: RUNS },
    );
  });

  it("however long the gap, one advance tells each occurrence at most once", () => {
    fc.assert(
      fc.property(scenario, ({ raw, steps }) => {
        const config = parseEscalationConfig(raw);
        const outputs = run(config, steps, false);
        for (const out of outputs) {
          const notifications = out.filter((e) => e.event !== "ack" && e.event !== "recovery");
          const perKey = new Map<string, Set<string>>();
          for (const e of notifications) {
            const kinds = perKey.get(e.key) ?? new Set<string>();
            kinds.add(`${e.event}:${e.level}.${e.attempt}`);
            perKey.set(e.key, kinds);
          }
          // Several groups of one roster may share a notification; never two notifications of one occurrence.
          for (const kinds of perKey.values()) assert.ok(kinds.size <= 1, [...kinds].join(" "));
        }
      }),
      { numRuns: RUNS },
    );
  });
});
