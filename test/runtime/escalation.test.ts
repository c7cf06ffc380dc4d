import assert from "node:assert/strict";
import type { EventEmitter } from "node:events";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, it } from "node:test";
import type { Node, NodeMessage, NodeStatus } from "node-red";
import type { SmtpSink } from "../../dev/SmtpSink";
import { HIGH } from "../support/alarms";
import { deliver, helper, loadMailFlow, until, type FlowNode } from "../support/flows";
import { Sinks } from "../support/smtp";
import { tempDir } from "../support/tempDir";

/**
 * alarm-mail-escalation in a real Node-RED, between a real block and a real send node whose server is a real SMTP
 * sink on loopback. Delays are in ms; the tests wait for what happens, never assert how long it took. The test
 * helper's runtime does not translate: texts are their catalogue keys here (escalation-restart.test.ts reads the
 * English words in a Node-RED of its own).
 */

const sinks = new Sinks();
const modules = ["alarm-mail-block", "alarm-mail-escalation"];

type Out = NodeMessage & {
  event: string;
  recipients: string;
  escalation: { level: number; attempt: number; recipients: string };
  alarm: { id: string; occurrence: string };
};

interface Run {
  sink: SmtpSink;
  outputs: Out[];
  warnings: string[];
  statuses: NodeStatus[];
  userDir: string;
}

const GROUPS: FlowNode[] = [
  { id: "ops", type: "alarm-mail-recipients", name: "Operators", to: "ops@plant.example" },
  { id: "eng", type: "alarm-mail-recipients", name: "Engineers", to: "eng@plant.example" },
];

/** block → escalation → send (→ ok / failed), and a helper that sees every msg the escalation sends. */
async function load(escalation: Record<string, unknown>): Promise<Run> {
  const sink = await sinks.start();
  const userDir = tempDir("alarm-mail-escalation-");
  await loadMailFlow(sink.port, {
    userDir,
    recipients: null,
    modules,
    extraNodes: [
      ...GROUPS,
      { id: "block", z: "tab", type: "alarm-mail-block", block: 1, alarms: [HIGH], wires: [["escalation"]] },
      {
        id: "escalation",
        z: "tab",
        type: "alarm-mail-escalation",
        tz: "UTC",
        ...escalation,
        wires: [["send", "seen"]],
      },
      { id: "seen", z: "tab", type: "helper" },
    ],
  });
  const run: Run = { sink, outputs: [], warnings: [], statuses: [], userDir };
  helper.getNode("seen").on("input", (msg: NodeMessage) => run.outputs.push(msg as Out));
  const node = helper.getNode("escalation") as unknown as EventEmitter;
  node.on("call:warn", (call: { args: unknown[] }) => run.warnings.push(String(call.args[0])));
  node.on("call:status", (call: { args: [NodeStatus] }) => run.statuses.push(call.args[0]));
  return run;
}

const value = (payload: number) => helper.getNode("block").receive({ topic: "LT-201", payload } as NodeMessage);
const ack = () => helper.getNode("block").receive({ command: "ack", alarm: "LT-201-H", user: "ana" } as NodeMessage);
const brief = (msgs: Out[]) =>
  msgs.map((m) => `${m.event}:${m.escalation.level}.${m.escalation.attempt}:${m.recipients}`);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The mails that reached the sink, as "to: subject", in the order they arrived. */
async function mails(sink: SmtpSink): Promise<string[]> {
  return Promise.all(sink.received.map(async (mail) => `${mail.to.join(",")}: ${(await mail.parse()).subject ?? ""}`));
}

afterEach(async () => {
  await helper.unload();
  await sinks.closeAll();
});

describe("alarm-mail-escalation in a running flow", () => {
  it("reminds at the repeat interval, escalates at after, stops on ack and tells every group told", async () => {
    const run = await load({
      levels: [
        { recipients: "ops", after: 0, repeat: 400 },
        { recipients: "Engineers", after: 1000, repeat: 0 },
      ],
    });
    value(9);
    await until(() => run.outputs.length >= 4, "trigger, two reminders and the escalation");
    assert.deepEqual(brief(run.outputs), [
      "trigger:1.1:ops",
      "reminder:1.2:ops",
      "reminder:1.3:ops",
      "escalation:2.1:Engineers",
    ]);
    assert.equal(run.outputs[1].topic, "alarm-mail-escalation.subject.reminder");
    assert.equal(run.outputs[3].topic, "alarm-mail-escalation.subject.escalation");
    const occurrence = run.outputs[0].alarm.occurrence;
    assert.ok(
      run.outputs.every((m) => m.alarm.occurrence === occurrence),
      "one occurrence throughout",
    );
    await until(
      () => run.statuses.some((s) => s.text === "alarm-mail-escalation.status.unacked"),
      "the status with nothing more to wait for",
    );
    ack();
    await until(() => run.outputs.length >= 6, "the ack to both groups");
    assert.deepEqual(brief(run.outputs.slice(4)), ["ack:2.1:ops", "ack:2.1:Engineers"]);
    await run.sink.waitFor(6);
    const received = await mails(run.sink);
    assert.equal(received.filter((m) => m.startsWith("ops@")).length, 4, received.join("\n"));
    assert.equal(received.filter((m) => m.startsWith("eng@")).length, 2, received.join("\n"));
    // Nothing after the ack: the level-1 rhythm (every 400 ms) would have sent more by now.
    await pause(1000);
    assert.equal(run.outputs.length, 6);
    value(5);
    await until(() => run.outputs.length >= 8, "the recovery to both groups");
    assert.deepEqual(brief(run.outputs.slice(6)), ["recovery:2.1:ops", "recovery:2.1:Engineers"]);
    await until(() => run.statuses.at(-1)?.text === "alarm-mail-escalation.status.idle", "the idle status");
  });

  it("stopOn recovery: reminders go on after the ack and end with the recovery", async () => {
    const run = await load({ stopOn: "recovery", levels: [{ recipients: "ops", after: 0, repeat: 300 }] });
    value(9);
    await until(() => run.outputs.length >= 1, "the trigger");
    ack();
    await until(() => run.outputs.some((m) => m.event === "ack"), "the ack");
    await until(() => run.outputs.some((m) => m.event === "reminder"), "a reminder after the ack");
    value(5);
    await until(() => run.outputs.some((m) => m.event === "recovery"), "the recovery");
    const count = run.outputs.length;
    await pause(900);
    assert.equal(run.outputs.length, count, "no reminder after the recovery");
  });

  it("a roster level tells whoever is on duty; an empty roster says so", async () => {
    // "elsewhere" is on duty for the whole day after tomorrow (UTC) only: never during this test.
    const isoToday = ((new Date().getUTCDay() + 6) % 7) + 1;
    const dayAfterTomorrow = ((isoToday + 1) % 7) + 1;
    const run = await load({
      rosters: {
        always: [{ recipients: "eng", days: [1, 2, 3, 4, 5, 6, 7], from: "00:00", to: "00:00" }],
        elsewhere: [{ recipients: "ops", days: [dayAfterTomorrow], from: "00:00", to: "00:00" }],
      },
      levels: [
        { recipients: "roster:always", after: 0, repeat: 0 },
        { recipients: "roster:elsewhere", after: 200, repeat: 0 },
      ],
    });
    value(9);
    await until(() => run.outputs.length >= 1, "the trigger");
    assert.deepEqual(brief(run.outputs.slice(0, 1)), ["trigger:1.1:eng"]);
    await until(() => run.warnings.length >= 1, "the warning of an empty roster");
    assert.equal(run.warnings[0], "alarm-mail-escalation.warn.unstaffed");
    assert.equal(run.outputs.length, 1, "nobody else was told");
  });

  it("holds a less urgent alarm during quiet hours and mails it when they end", async () => {
    // Quiet hours are wall-clock minutes: this minute, to the next. Late in a minute, start with the next one.
    if (new Date().getUTCSeconds() > 50) await pause((61 - new Date().getUTCSeconds()) * 1000);
    const minute = (offset: number) => {
      const d = new Date(Date.now() + offset * 60_000);
      return `${String(d.getUTCHours()).padStart(2, "0")}:${String(d.getUTCMinutes()).padStart(2, "0")}`;
    };
    const run = await load({
      quiet: { from: minute(0), to: minute(1), priority: 1 },
      levels: [{ recipients: "ops", after: 0, repeat: 0 }],
    });
    value(9);
    await until(() => run.statuses.some((s) => s.text === "alarm-mail-escalation.status.held"), "the held status");
    assert.deepEqual(run.outputs, []);
    await until(() => run.outputs.length >= 1, "the release at the end of the quiet hours", 75_000);
    assert.deepEqual(brief(run.outputs), ["trigger:1.1:ops"]);
    await run.sink.waitFor(1);
  });

  it("says at start which group no recipients node answers to", async () => {
    await load({
      rosters: { night: [{ recipients: "Night shift", days: [1], from: "22:00", to: "06:00" }] },
      levels: [
        { recipients: "Operators", after: 0, repeat: 0 },
        { recipients: "roster:night", after: 1000, repeat: 0 },
      ],
    });
    const warned = () =>
      helper
        .log()
        .args.filter((args: unknown[]) => (args[0] as { type?: unknown }).type === "alarm-mail-escalation")
        .map((args: unknown[]) => String((args[0] as { msg?: unknown }).msg));
    await until(() => warned().length > 0, "the warning");
    assert.deepEqual(warned(), ["alarm-mail-escalation.warn.group-unknown"]);
  });

  it("a msg without an occurrence is refused with a clear error", async () => {
    await load({ levels: [{ recipients: "ops", after: 0, repeat: 0 }] });
    const node = helper.getNode("escalation") as Node & EventEmitter;
    const errors: string[] = [];
    node.on("call:error", (call: { args: unknown[] }) => errors.push(String(call.args[0])));
    node.receive({ event: "trigger", payload: 1 } as NodeMessage);
    await until(() => errors.length > 0, "the error");
    assert.match(errors[0], /alarm-mail-escalation:errors\.occurrence-missing$/);
  });

  it("deleting the node deletes its state file", async () => {
    const run = await load({ levels: [{ recipients: "ops", after: 0, repeat: 60_000 }] });
    value(9);
    const file = join(run.userDir, "alarm-mail", "escalation", "escalation.json");
    await until(() => existsSync(file), "the state file");
    const withoutEscalation: FlowNode[] = [{ id: "tab", type: "tab", label: "alarm mail test" }];
    await helper.setFlows(withoutEscalation, "full");
    assert.equal(existsSync(file), false);
  });
});

describe("alarm-mail-send with msg.recipients", () => {
  async function loadSend() {
    const sink = await sinks.start();
    await loadMailFlow(sink.port, { extraNodes: GROUPS });
    return sink;
  }

  it("mails the group named by id or by name instead of its own", async () => {
    const sink = await loadSend();
    const byId = await deliver({ topic: "by id", payload: "x", recipients: "eng" } as NodeMessage);
    assert.equal(byId.output, 1);
    const byName = await deliver({ topic: "by name", payload: "x", recipients: "Operators" } as NodeMessage);
    assert.equal(byName.output, 1);
    const own = await deliver({ topic: "own", payload: "x" } as NodeMessage);
    assert.equal(own.output, 1);
    await sink.waitFor(3);
    assert.deepEqual(await mails(sink), [
      "eng@plant.example: by id",
      "ops@plant.example: by name",
      "operator@plant.example: own",
    ]);
  });

  it("a name that matches no group is an error, and nothing is mailed", async () => {
    const sink = await loadSend();
    const outcome = await deliver({ topic: "lost", payload: "x", recipients: "Night shift" } as NodeMessage);
    assert.equal(outcome.output, 2);
    assert.match(outcome.error ?? "", /alarm-mail-server:errors\.recipients-unknown$/);
    assert.equal(outcome.msg.error?.code, "recipients-unknown");
    assert.equal(sink.received.length, 0);
  });
});
