import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { HIGH } from "../support/alarms";
import { NodeRedProcess, recorded, recorder } from "../support/NodeRedProcess";
import { Sinks } from "../support/smtp";
import { until } from "../support/until";

interface Line {
  event: string;
  level: number;
  attempt: number;
  recipients: string;
  subject: string;
}

const sinks = new Sinks();
after(() => sinks.closeAll());

/**
 * inject → block → escalation → (a JSON line per msg in a file, and a send node to a real SMTP sink): observed from
 * outside the runtime, so that it can be stopped or killed and started again in between.
 */
function flow(eventsFile: string, smtpPort: number): object[] {
  return [
    { id: "tab", type: "tab", label: "escalation restart" },
    {
      id: "server",
      type: "alarm-mail-server",
      host: "127.0.0.1",
      port: smtpPort,
      security: "none",
      auth: "none",
      from: "gw@plant.example",
    },
    { id: "ops", type: "alarm-mail-recipients", name: "Operators", to: "ops@plant.example" },
    { id: "eng", type: "alarm-mail-recipients", name: "Engineers", to: "eng@plant.example" },
    {
      id: "high",
      z: "tab",
      type: "inject",
      props: [
        { p: "topic", v: "LT-201", vt: "str" },
        { p: "payload", v: "9", vt: "num" },
      ],
      repeat: "",
      once: false,
      wires: [["block"]],
    },
    { id: "block", z: "tab", type: "alarm-mail-block", block: 1, alarms: [HIGH], version: 1, wires: [["escalation"]] },
    {
      id: "escalation",
      z: "tab",
      type: "alarm-mail-escalation",
      tz: "UTC",
      levels: [
        { recipients: "ops", after: 0, repeat: 1000 },
        { recipients: "Engineers", after: 4000, repeat: 0 },
      ],
      wires: [["events-json", "send"]],
    },
    { id: "send", z: "tab", type: "alarm-mail-send", server: "server", wires: [[], []] },
    ...recorder(
      "events",
      "tab",
      eventsFile,
      "{ event: msg.event, level: msg.escalation.level,\n" +
        "  attempt: msg.escalation.attempt, recipients: msg.recipients, subject: msg.topic }",
    ),
  ];
}

const lines = (file: string) => recorded<Line>(file);
const brief = (line: Line) => `${line.event}:${line.level}.${line.attempt}:${line.recipients}`;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("alarm-mail-escalation across a restart of Node-RED", () => {
  for (const stop of ["kill -9", "a stop"] as const) {
    it(`a deadline that passed during ${stop} fires once after the start, as the level reached`, async () => {
      const sink = await sinks.start();
      let red = await NodeRedProcess.start();
      try {
        const events = join(red.userDir, "events.jsonl");
        const state = join(red.userDir, "alarm-mail", "escalation", "escalation.json");
        await red.deploy(flow(events, sink.port));
        await red.inject("high");
        // On disk before the msg is done: what a kill -9 right after the trigger must not lose.
        await until(
          () => existsSync(state) && readFileSync(state, "utf8").includes('"told":["ops"]'),
          "the trigger in the state file",
          10_000,
          () => red.output,
        );
        const downAt = Date.now();
        let before: Line[] = [];
        red = await red.restart(stop === "kill -9" ? "kill" : "stop", async () => {
          before = lines(events);
          assert.equal(brief(before[0]), "trigger:1.1:ops");
          assert.ok(before.every((line) => line.event !== "escalation"));
          // Down past the level-2 deadline (4 s after the trigger) and several level-1 reminders (every 1 s).
          await pause(Math.max(0, downAt + 5000 - Date.now()));
        });
        await until(
          () => lines(events).length > before.length,
          "the deadline after the start",
          15_000,
          () => red.output,
        );
        // Nothing else follows: level 2 has no reminder, and level 1's missed reminders are not made up.
        await pause(2500);
        const afterStart = lines(events).slice(before.length);
        assert.deepEqual(afterStart.map(brief), ["escalation:2.1:Engineers"]);
        assert.equal(afterStart[0].subject, "Escalated to level 2: [P2] Basin 2 bacteria level high: ALARM");
        await until(
          () => sink.received.some((mail) => mail.to.includes("eng@plant.example")),
          "the escalation mail to the engineers",
          15_000,
          () => red.output,
        );
        assert.equal(sink.received.filter((mail) => mail.to.includes("eng@plant.example")).length, 1);
        assert.doesNotMatch(red.output, /\[(error|warn)\] \[alarm-mail-escalation/);
      } finally {
        await red.kill();
      }
    });
  }
});
