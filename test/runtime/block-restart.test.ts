import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { HIGH, HIGH_HIGH } from "../support/alarms";
import { NodeRedProcess, recorded, recorder } from "../support/NodeRedProcess";

interface Line {
  event: string;
  id: string | null;
  state: string | null;
  user: string | null;
  cause: string | null;
  subject: string;
  text: string;
  alarms?: string[];
}

type Prop = { p: string; v: string; vt: string };
const inject = (id: string, props: Prop[]) => ({
  id,
  z: "tab",
  type: "inject",
  props,
  repeat: "",
  once: false,
  wires: [["block"]],
});
const level = (id: string, value: number) =>
  inject(id, [
    { p: "topic", v: "LT-201", vt: "str" },
    { p: "payload", v: String(value), vt: "num" },
  ]);
const command = (id: string, name: string, alarm: string, extra: Prop[] = []) =>
  inject(id, [{ p: "command", v: name, vt: "str" }, { p: "alarm", v: alarm, vt: "str" }, ...extra]);

/**
 * A block whose every output is written as a JSON line to a file, and inject nodes to feed it: what an operator's
 * flow does, observed from outside the runtime so that the runtime can be killed and started again in between.
 */
function flow(eventsFile: string): object[] {
  return [
    { id: "tab", type: "tab", label: "restart" },
    {
      id: "block",
      z: "tab",
      type: "alarm-mail-block",
      block: 1,
      alarms: [HIGH, HIGH_HIGH],
      version: 1,
      wires: [["events-json"]],
    },
    level("level-9", 9),
    level("level-5", 5),
    command("ack", "ack", "*", [{ p: "user", v: "jean.dupont", vt: "str" }]),
    command("shelve-hh", "shelve", "LT-201-HH", [{ p: "duration", v: "2500", vt: "num" }]),
    command("status", "status", "*"),
    ...recorder(
      "events",
      "tab",
      eventsFile,
      [
        "{",
        "  event: msg.event, id: msg.alarm ? msg.alarm.id : null, state: msg.alarm ? msg.alarm.state : null,",
        "  user: msg.user || null, cause: msg.cause || null, subject: msg.topic, text: msg.payload,",
        "  alarms: msg.alarms ? msg.alarms.map(function (a) { return a.id + '=' + a.state; }) : undefined",
        "}",
      ].join("\n"),
    ),
  ];
}

const lines = (file: string) => recorded<Line>(file);

async function waitForLines(file: string, count: number, red: NodeRedProcess, timeoutMs = 10_000): Promise<Line[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = lines(file);
    if (seen.length >= count) return seen;
    if (Date.now() > deadline) {
      throw new Error(`expected ${count} events, saw ${JSON.stringify(seen, null, 1)}\n${red.output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const brief = (line: Line) => [line.event, line.id, line.state].filter(Boolean).join(":");

describe("alarm-mail-block across a restart of Node-RED", () => {
  for (const stop of ["kill -9 after the save window", "a stop right after the trigger"] as const) {
    it(`an active unacknowledged alarm is still so after ${stop}, and recovers and acks as before`, async () => {
      let red = await NodeRedProcess.start();
      try {
        const events = join(red.userDir, "events.jsonl");
        await red.deploy(flow(events));
        await red.inject("level-9");
        assert.deepEqual((await waitForLines(events, 2, red)).map(brief), [
          "trigger:LT-201-H:unacked",
          "trigger:LT-201-HH:unacked",
        ]);
        const [first] = lines(events);
        assert.equal(first.subject, "[P2] Basin 2 bacteria level high: ALARM");
        assert.match(
          first.text,
          /^Basin 2 bacteria level high \(LT-201-H\) went into alarm at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d: value 9, alarm above 6\. Priority 2, block 1\.$/,
        );
        await red.inject("shelve-hh");
        await waitForLines(events, 3, red);

        const kill = stop === "kill -9 after the save window";
        if (kill) await new Promise((resolve) => setTimeout(resolve, 1500));
        red = await red.restart(kill ? "kill" : "stop");

        // The shelving ran out while Node-RED was down or starting: it ends on its own, once.
        const afterStart = await waitForLines(events, 4, red);
        assert.deepEqual(brief(afterStart[3]), "unshelve:LT-201-HH:unacked");
        assert.equal(afterStart[3].cause, "expired");

        await red.inject("status");
        const status = (await waitForLines(events, 5, red))[4];
        assert.equal(status.event, "status");
        assert.deepEqual(status.alarms, ["LT-201-H=unacked", "LT-201-HH=unacked"]);

        // The level fell while nobody watched; the next value reports it.
        await red.inject("level-5");
        assert.deepEqual((await waitForLines(events, 7, red)).slice(5).map(brief), [
          "recovery:LT-201-H:rtn-unacked",
          "recovery:LT-201-HH:rtn-unacked",
        ]);
        await red.inject("ack");
        const acks = (await waitForLines(events, 9, red)).slice(7);
        assert.deepEqual(acks.map(brief), ["ack:LT-201-H:normal", "ack:LT-201-HH:normal"]);
        assert.ok(acks.every((line) => line.user === "jean.dupont"));
        assert.equal(lines(events).length, 9, "nothing else happened");
        assert.doesNotMatch(red.output, /\[(error|warn)\] \[alarm-mail-block/);
      } finally {
        await red.kill();
      }
    });
  }
});
