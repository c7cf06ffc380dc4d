import assert from "node:assert/strict";
import type { EventEmitter } from "node:events";
import { existsSync, readFileSync, writeFileSync, readdirSync, mkdirSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { NodeMessage, NodeStatus } from "node-red";
import { HIGH, HIGH_HIGH } from "../support/alarms";
import { builtNode, helper, until, type FlowNode, type RuntimeSettings } from "../support/flows";
import type { BlockNodeObject } from "../../nodes/red/block/BlockNode";
import { tempDir } from "../support/tempDir";

const blockNode = builtNode("alarm-mail-block");

type Event = NodeMessage & {
  event: string;
  alarm?: Record<string, unknown> & { id: string; state: string };
  flood: boolean;
  user?: string;
};

/** What the block did, as its wired helper and the helper's spies on its methods saw it. */
interface Probe {
  events: Event[];
  warnings: string[];
  errors: string[];
  statuses: NodeStatus[];
}

let dataDir: string;
let probe: Probe;

async function load(alarms: object[], settings: Record<string, unknown> = {}): Promise<void> {
  const runtime: RuntimeSettings = { alarmMail: { dataDir } };
  helper.settings(runtime);
  const flow: FlowNode[] = [
    { id: "tab", type: "tab", label: "block test" },
    { id: "block", z: "tab", type: "alarm-mail-block", block: 1, alarms, wires: [["out"]], ...settings },
    { id: "out", z: "tab", type: "helper" },
  ];
  await helper.load([blockNode], flow);
  watch();
}

function watch(): void {
  probe = { events: [], warnings: [], errors: [], statuses: [] };
  const block = helper.getNode("block") as unknown as EventEmitter;
  const text = (call: { args: unknown[] }) => {
    const first = call.args[0];
    return first instanceof Error ? first.message : String(first);
  };
  block.on("call:warn", (call: { args: unknown[] }) => probe.warnings.push(text(call)));
  block.on("call:error", (call: { args: unknown[] }) => probe.errors.push(text(call)));
  block.on("call:status", (call: { args: [NodeStatus] }) => probe.statuses.push(call.args[0]));
  helper.getNode("out").on("input", (msg) => probe.events.push(msg as Event));
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends a msg into the block and gives its outputs, status and log calls time to land. */
async function send(msg: Record<string, unknown>, settle = 30): Promise<void> {
  helper.getNode("block").receive(msg as NodeMessage);
  await pause(settle);
}

/** What the node logged while it was built, before a probe could watch it: the runtime's log spy has it. */
const logged = (text: string) =>
  helper.log().args.some((args: unknown[]) => String((args[0] as { msg?: unknown }).msg).includes(text));

const seen = () => probe.events.map((e) => (e.alarm ? `${e.event}:${e.alarm.id}` : e.event));
const lastStatus = () => probe.statuses.at(-1);
/** The status changes at most a few times a second, so a test waits for the one it expects. */
const statusShows = (expected: NodeStatus) =>
  until(() => isDeepStrictEqual(lastStatus(), expected), `status ${JSON.stringify(expected)}`);
const statusFill = (fill: NodeStatus["fill"]) => until(() => lastStatus()?.fill === fill, `a ${fill} status`);
const block = () => helper.getNode("block") as unknown as BlockNodeObject;

beforeEach(() => {
  dataDir = tempDir("alarm-mail-blocks-");
});
afterEach(async () => {
  await helper.unload();
});

describe("alarm-mail-block in a Node-RED runtime: states and events", () => {
  it("trigger, acknowledgement by command with the user, recovery; msgs shaped as the contract says", async () => {
    await load([HIGH]);
    await send({ topic: "LT-201", payload: 7.4 });
    assert.deepEqual(seen(), ["trigger:LT-201-H"]);
    const trigger = probe.events[0];
    assert.deepEqual(Object.keys(trigger.alarm ?? {}).slice(0, 12), [
      "id",
      "label",
      "block",
      "priority",
      "state",
      "value",
      "setpoint",
      "condition",
      "triggeredAt",
      "ackedAt",
      "recoveredAt",
      "ackBy",
    ]);
    assert.equal(trigger.alarm?.state, "unacked");
    assert.equal(trigger.alarm?.value, 7.4);
    assert.equal(trigger.alarm?.block, 1);
    assert.match(String(trigger.alarm?.triggeredAt), /^\d{4}-\d\d-\d\dT/);
    assert.equal(trigger.alarm?.ackedAt, null);
    assert.equal(typeof trigger.topic, "string");
    assert.equal(typeof trigger.payload, "string");
    assert.equal(trigger.flood, false);
    await statusShows({ fill: "blue", shape: "dot", text: "alarm-mail-block.status.summary" });

    await send({ command: "ack", alarm: "LT-201-H", user: "jean.dupont" });
    const ack = probe.events[1];
    assert.equal(ack.event, "ack");
    assert.equal(ack.user, "jean.dupont");
    assert.equal(ack.alarm?.ackBy, "jean.dupont");
    assert.equal(ack.alarm?.ackVia, "flow");
    assert.equal(ack.alarm?.state, "acked");
    assert.match(String(trigger.alarm?.occurrence), /^block\/LT-201-H\//, "the occurrence names the block node");
    assert.equal(ack.alarm?.occurrence, trigger.alarm?.occurrence);

    await send({ topic: "LT-201", payload: "5" });
    assert.deepEqual(seen(), ["trigger:LT-201-H", "ack:LT-201-H", "recovery:LT-201-H"]);
    assert.equal(probe.events[2].alarm?.state, "normal");
    await statusFill("green");
    assert.deepEqual(
      (await block().alarmBlock.history()).map((r) => [r.event, r.id, r.user]),
      [
        ["trigger", "LT-201-H", null],
        ["ack", "LT-201-H", "jean.dupont"],
        ["recovery", "LT-201-H", null],
      ],
    );
  });

  it("no re-trigger inside the deadband", async () => {
    await load([HIGH]);
    for (const payload of [7, 5.8, 6.3, 5.6, 6.9, 5.4, 5.9]) await send({ topic: "LT-201", payload }, 5);
    await pause(30);
    assert.deepEqual(seen(), ["trigger:LT-201-H", "recovery:LT-201-H"]);
  });

  it("a manual alarm that recovers unacknowledged waits for its ack in rtn-unacked", async () => {
    await load([HIGH]);
    await send({ topic: "LT-201", payload: 7 });
    await send({ topic: "LT-201", payload: 5 });
    assert.equal(probe.events[1].alarm?.state, "rtn-unacked");
    assert.equal(block().alarmBlock.activeAlarms()[0].state, "rtn-unacked");
    await send({ command: "ack", alarm: "*", user: "paul" });
    assert.equal(probe.events[2].alarm?.state, "normal");
    assert.deepEqual(block().alarmBlock.activeAlarms(), []);
  });

  it("on and off delays run on the runtime's timers", async () => {
    await load([{ ...HIGH, onDelay: 250, offDelay: 250 }]);
    await send({ topic: "LT-201", payload: 7 });
    await pause(100);
    assert.deepEqual(seen(), [], "not before the on delay");
    await pause(400);
    assert.deepEqual(seen(), ["trigger:LT-201-H"]);
    const triggered = Date.parse(String(probe.events[0].alarm?.triggeredAt));
    await send({ topic: "LT-201", payload: 5 });
    await send({ topic: "LT-201", payload: 7 });
    await pause(400);
    assert.deepEqual(seen(), ["trigger:LT-201-H"], "a dip shorter than the off delay is no recovery");
    await send({ topic: "LT-201", payload: 5 });
    await pause(500);
    assert.deepEqual(seen(), ["trigger:LT-201-H", "recovery:LT-201-H"]);
    assert.ok(Date.parse(String(probe.events[1].alarm?.recoveredAt)) - triggered >= 250);
  });

  it("latching: stays in alarm until a reset after the condition cleared", async () => {
    await load([{ ...HIGH, latch: true }]);
    await send({ topic: "LT-201", payload: 7 });
    await send({ command: "reset", alarm: "LT-201-H" });
    assert.equal(probe.warnings.length, 1, "a reset while the condition holds is a warning");
    await send({ topic: "LT-201", payload: 5 });
    assert.deepEqual(seen(), ["trigger:LT-201-H"]);
    assert.equal(block().alarmBlock.activeAlarms()[0].latched, true);
    await send({ command: "reset", alarm: "LT-201-H", user: "jean" });
    assert.deepEqual(seen(), ["trigger:LT-201-H", "recovery:LT-201-H"]);
    assert.equal(probe.events[1].user, "jean");
  });

  it("a timed shelve expires on the runtime's timer and re-announces an alarm still active", async () => {
    await load([HIGH]);
    await send({ command: "shelve", alarm: "LT-201-H", user: "jean", duration: 300 });
    await send({ topic: "LT-201", payload: 7 });
    assert.deepEqual(seen(), ["shelve:LT-201-H"]);
    assert.equal(probe.events[0].alarm?.state, "shelved");
    assert.match(String(probe.events[0].alarm?.shelvedUntil), /^\d{4}-/);
    await pause(500);
    assert.deepEqual(seen(), ["shelve:LT-201-H", "unshelve:LT-201-H", "trigger:LT-201-H"]);
  });

  it("a one-shot shelve, unshelve, suppression and out of service by command", async () => {
    await load([HIGH, HIGH_HIGH]);
    await send({ topic: "LT-201", payload: 9 });
    await send({ command: "shelve", alarm: ["LT-201-H", "LT-201-HH"] });
    await send({ topic: "LT-201", payload: 5 });
    await send({ command: "suppress", alarm: "LT-201-H" });
    await send({ command: "out-of-service", alarm: "LT-201-HH", user: "maintenance" });
    await send({ topic: "LT-201", payload: 9 });
    await send({ command: "in-service", alarm: "*" });
    assert.deepEqual(seen(), [
      "trigger:LT-201-H",
      "trigger:LT-201-HH",
      "shelve:LT-201-H",
      "shelve:LT-201-HH",
      "recovery:LT-201-H",
      "unshelve:LT-201-H",
      "recovery:LT-201-HH",
      "unshelve:LT-201-HH",
      "suppress:LT-201-H",
      "out-of-service:LT-201-HH",
      "in-service:LT-201-HH",
      "trigger:LT-201-HH",
    ]);
  });

  it("an object payload updates several topics; its other keys are ignored without a warning", async () => {
    await load([HIGH, { ...HIGH, id: "PLC-W1.3", topic: "PLC/word1", condition: "bit", bit: 3 }]);
    await send({ payload: { "LT-201": 7, "PLC/word1": 0b1000, "FT-100": 12.5 } });
    assert.deepEqual(seen(), ["trigger:LT-201-H", "trigger:PLC-W1.3"]);
    assert.deepEqual(probe.warnings, []);
  });

  it("a value that is not one is an error (done(err)) and changes no state; an unwatched topic is a status count", async () => {
    await load([HIGH]);
    await send({ topic: "LT-201", payload: 7 });
    for (const payload of [Number.NaN, null, { level: 7 }, "high"]) await send({ topic: "LT-201", payload }, 5);
    await send({ payload: { "LT-201": null } });
    await pause(20);
    assert.equal(probe.errors.length, 5);
    assert.ok(probe.errors.every((w) => w === "@alarm-mail/node-red/alarm-mail-block:errors.value-invalid"));
    assert.equal(lastStatus()?.fill, "red");
    assert.deepEqual(seen(), ["trigger:LT-201-H"]);
    assert.equal(block().alarmBlock.activeAlarms()[0].value, 7);
    assert.deepEqual(probe.warnings, []);

    await send({ topic: "LT-202", payload: 1 });
    await send({ topic: "LT-202", payload: 2 });
    await send({ topic: "LT-203", payload: 2 });
    assert.deepEqual(probe.warnings, []);
    // Statuses are throttled (a few a second): the count shows at the next one.
    await until(() => /alarm-mail-block\.status\.unwatched$/.test(String(lastStatus()?.text)), "the unwatched count");
    assert.equal(lastStatus()?.fill, "blue");
  });

  it("an ack without msg.alarm acknowledges every unacknowledged alarm of the block", async () => {
    await load([HIGH, HIGH_HIGH]);
    await send({ topic: "LT-201", payload: 9 });
    await send({ command: "ack", user: "jean" });
    assert.deepEqual(probe.errors, []);
    assert.deepEqual(seen(), ["trigger:LT-201-H", "trigger:LT-201-HH", "ack:LT-201-H", "ack:LT-201-HH"]);
    assert.ok(
      block()
        .alarmBlock.activeAlarms()
        .every((a) => a.state === "acked" && a.ackBy === "jean"),
    );
  });

  it("acking an unknown alarm is an error through done(err) with a red status, and changes nothing", async () => {
    await load([HIGH]);
    await send({ topic: "LT-201", payload: 7 });
    await send({ command: "ack", alarm: ["LT-201-H", "LT-999"], user: "jean" });
    assert.deepEqual(probe.errors, ["@alarm-mail/node-red/alarm-mail-block:errors.alarm-unknown"]);
    assert.equal(lastStatus()?.fill, "red");
    assert.deepEqual(seen(), ["trigger:LT-201-H"]);
    await send({ command: "mute", alarm: "*" });
    await send({ payload: 7 });
    assert.deepEqual(probe.errors.slice(1), [
      "@alarm-mail/node-red/alarm-mail-block:errors.command-invalid",
      "@alarm-mail/node-red/alarm-mail-block:errors.topic-missing",
    ]);
    await send({ command: "ack", alarm: "LT-201-H" });
    await statusFill("blue");
  });

  it("the status command answers with the input msg, the alarms asked for and the counts", async () => {
    await load([HIGH, HIGH_HIGH]);
    await send({ topic: "LT-201", payload: 7 });
    await send({ command: "status", correlation: "req-1" });
    const reply = probe.events[1] as Event & { alarms: Array<{ id: string }>; summary: Record<string, number> };
    assert.equal(reply.event, "status");
    assert.equal((reply as Record<string, unknown>).correlation, "req-1");
    assert.deepEqual(
      reply.alarms.map((a) => a.id),
      ["LT-201-H"],
    );
    assert.equal(reply.summary.active, 1);
    assert.equal(reply.summary.alarms, 2);
    await send({ command: "status", alarm: "*" });
    assert.equal((probe.events[2] as Event & { alarms: unknown[] }).alarms.length, 2);
  });

  it("floods and chattering turn the status yellow and are events of their own", async () => {
    const alarms = Array.from({ length: 4 }, (_, i) => ({ ...HIGH, id: `A${i}`, topic: `t${i}` }));
    await load(alarms, { floodCount: 2, chatterCount: 2 });
    for (let i = 0; i < 3; i++) await send({ topic: `t${i}`, payload: 7 }, 5);
    await pause(20);
    assert.deepEqual(seen(), ["trigger:A0", "trigger:A1", "trigger:A2", "flood"]);
    await statusShows({ fill: "yellow", shape: "dot", text: "alarm-mail-block.status.flood" });
    await send({ topic: "t3", payload: 7 });
    assert.equal(probe.events.at(-1)?.flood, true);
    await send({ topic: "t3", payload: 5 });
    await send({ topic: "t3", payload: 7 });
    assert.deepEqual(seen().slice(-3), ["recovery:A3", "chattering:A3", "trigger:A3"]);
  });

  it("a plant's worth of blocks starts without an event emitter warning", async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on("warning", onWarning);
    try {
      const runtime: RuntimeSettings = { alarmMail: { dataDir } };
      helper.settings(runtime);
      const flow: FlowNode[] = [{ id: "tab", type: "tab", label: "plant" }];
      for (let i = 0; i < 16; i++) {
        flow.push({ id: `block${i}`, z: "tab", type: "alarm-mail-block", block: i + 1, alarms: [HIGH], wires: [[]] });
      }
      await helper.load([blockNode], flow);
      await pause(50);
      assert.deepEqual(warnings, []);
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("a wrong block setting is an error at deploy, and every msg is refused with it and a red status", async () => {
    await load([HIGH], { floodCount: 0 });
    assert.ok(logged("@alarm-mail/node-red/alarm-mail-block:errors.block-config-invalid"), "the deploy logged it");
    await send({ topic: "LT-201", payload: 7 });
    assert.deepEqual(seen(), []);
    assert.equal(lastStatus()?.fill, "red");
    assert.equal(probe.errors.at(-1), "@alarm-mail/node-red/alarm-mail-block:errors.block-config-invalid");
  });

  it("a second row with the same id is left out with a yellow status; the first runs", async () => {
    await load([HIGH, { ...HIGH, setpoint: 9 }]);
    assert.ok(logged("alarm-mail-block.warn.rows-refused"), "the deploy logged the row left out");
    await send({ topic: "LT-201", payload: 7 });
    assert.deepEqual(seen(), ["trigger:LT-201-H"], "the first row's setpoint, 6");
    await until(() => lastStatus()?.text === "alarm-mail-block.status.refused", "the yellow status");
    assert.equal(lastStatus()?.fill, "yellow");
  });
});

describe("alarm-mail-block in a Node-RED runtime: persistence", () => {
  it("a redeploy keeps an active unacknowledged alarm, and its history", async () => {
    await load([HIGH]);
    await send({ topic: "LT-201", payload: 7 });
    await helper.unload();
    assert.ok(existsSync(join(dataDir, "blocks", "block.json")), "the close wrote the snapshot");
    await load([HIGH]);
    assert.equal(block().alarmBlock.activeAlarms()[0].state, "unacked");
    assert.deepEqual(
      (await block().alarmBlock.history()).map((r) => r.event),
      ["trigger"],
    );
    await send({ topic: "LT-201", payload: 9 });
    assert.deepEqual(seen(), [], "no second trigger for the same occurrence");
    await send({ command: "ack", alarm: "LT-201-H", user: "jean" });
    await send({ topic: "LT-201", payload: 5 });
    assert.deepEqual(seen(), ["ack:LT-201-H", "recovery:LT-201-H"]);
  });

  it("an acknowledgement from a mail is on disk when it is answered, keeps its occurrence across a redeploy, and goes out as an ack event", async () => {
    await load([HIGH]);
    await send({ topic: "LT-201", payload: 7 });
    const occurrence = String(probe.events[0].alarm?.occurrence);
    await helper.unload();
    await load([HIGH]);
    assert.equal(block().alarmBlock.activeAlarms()[0].occurrence, occurrence, "the same occurrence after a redeploy");
    const by = { user: "ana@plant.example", via: "mail" } as const;
    assert.equal(await block().alarmBlock.acknowledgeOccurrence("LT-201-H", `${occurrence}-old`, by), "outdated");
    assert.equal(await block().alarmBlock.acknowledgeOccurrence("LT-201-H", occurrence, by), "acked");
    const file = join(dataDir, "blocks", "block.json");
    const saved = JSON.parse(readFileSync(file, "utf8")) as {
      engine: { alarms: Record<string, { acked: boolean; ackVia: string }> };
    };
    assert.deepEqual([saved.engine.alarms["LT-201-H"].acked, saved.engine.alarms["LT-201-H"].ackVia], [true, "mail"]);
    await until(() => probe.events.length === 1, "the ack event");
    assert.equal(probe.events[0].event, "ack");
    assert.equal(probe.events[0].alarm?.ackBy, "ana@plant.example");
    assert.equal(await block().alarmBlock.acknowledgeOccurrence("LT-201-H", occurrence, by), "already-acked");
    assert.equal(await block().alarmBlock.acknowledgeOccurrence("LT-201-X", occurrence, by), "unknown-alarm");
  });

  it("writes a snapshot within a second of a change, before any stop", async () => {
    await load([HIGH]);
    await send({ topic: "LT-201", payload: 7 });
    const file = join(dataDir, "blocks", "block.json");
    await pause(1300);
    const saved = JSON.parse(readFileSync(file, "utf8")) as { engine: { alarms: Record<string, { acked: boolean }> } };
    assert.equal(saved.engine.alarms["LT-201-H"].acked, false);
  });

  it("a corrupt snapshot is a warning, set aside, and the block starts clean", async () => {
    mkdirSync(join(dataDir, "blocks"), { recursive: true });
    writeFileSync(join(dataDir, "blocks", "block.json"), '{"format":1,"engine":{"alar');
    await load([HIGH]);
    assert.ok(logged("alarm-mail-block.warn.snapshot-unreadable"), "warned about the snapshot");
    await send({ topic: "LT-201", payload: 7 });
    assert.deepEqual(seen(), ["trigger:LT-201-H"]);
    assert.ok(readdirSync(join(dataDir, "blocks")).some((f) => f.startsWith("block.json.corrupt-")));
  });

  it("deleting the node deletes its snapshot", async () => {
    await load([HIGH]);
    await send({ topic: "LT-201", payload: 7 });
    await pause(1300);
    const file = join(dataDir, "blocks", "block.json");
    assert.ok(existsSync(file));
    const withoutBlock: FlowNode[] = [{ id: "tab", type: "tab", label: "block test" }];
    await helper.setFlows(withoutBlock, "full");
    assert.equal(existsSync(file), false);
  });
});

describe("alarm-mail-block in a Node-RED runtime: ISA-18.2 delays, deadband, shelving and chattering", () => {
  it("on-delay: a value that falls inside the deadband before the delay ran out does not trigger", async () => {
    await load([{ ...HIGH, onDelay: 200 }]);
    await send({ topic: "LT-201", payload: 7 });
    await send({ topic: "LT-201", payload: 5.8 });
    await pause(500);
    assert.deepEqual(seen(), [], "5.8 is not above 6");
    await send({ topic: "LT-201", payload: 7 });
    await until(() => seen().length > 0, "the trigger after a whole on-delay above the setpoint");
    assert.deepEqual(seen(), ["trigger:LT-201-H"]);
    assert.equal(probe.events[0].alarm?.value, 7);
  });

  it("leaving shelved, suppressed or out of service, an alarm nobody saw is unacknowledged in every msg", async () => {
    // Three triggers within a minute would chatter: a threshold out of reach keeps this test to its subject.
    await load([HIGH], { chatterCount: 10 });
    for (const [hide, show] of [
      ["shelve", "unshelve"],
      ["suppress", "unsuppress"],
      ["out-of-service", "in-service"],
    ]) {
      await send({ command: hide, alarm: "LT-201-H" });
      await send({ topic: "LT-201", payload: 7 });
      await send({ command: show, alarm: "LT-201-H", user: "jean" });
      const [shown, trigger] = probe.events.slice(-2);
      assert.deepEqual(
        [shown.event, shown.alarm?.state, trigger.event, trigger.alarm?.state],
        [show, "unacked", "trigger", "unacked"],
      );
      await send({ command: "ack", alarm: "LT-201-H" });
      await send({ topic: "LT-201", payload: 5 });
    }
  });

  it("off-delay: back inside the deadband the alarm stays; it recovers a whole off-delay out of it", async () => {
    await load([{ ...HIGH, offDelay: 200 }]);
    await send({ topic: "LT-201", payload: 7 });
    await send({ topic: "LT-201", payload: 5.4 });
    await send({ topic: "LT-201", payload: 5.8 });
    await pause(500);
    assert.deepEqual(seen(), ["trigger:LT-201-H"], "5.8 is inside the deadband: still in alarm");
    await send({ topic: "LT-201", payload: 5.5 });
    await until(() => seen().length > 1, "the recovery");
    assert.deepEqual(seen(), ["trigger:LT-201-H", "recovery:LT-201-H"]);
    assert.equal(probe.events[1].alarm?.value, 5.5);
  });

  it("one-shot shelving of a latched alarm ends at the reset", async () => {
    await load([{ ...HIGH, latch: true }]);
    await send({ topic: "LT-201", payload: 7 });
    await send({ command: "shelve", alarm: "LT-201-H" });
    await send({ topic: "LT-201", payload: 5 });
    assert.deepEqual(seen(), ["trigger:LT-201-H", "shelve:LT-201-H"]);
    await send({ command: "reset", alarm: "LT-201-H", user: "jean" });
    assert.deepEqual(seen().slice(2), ["recovery:LT-201-H", "unshelve:LT-201-H"]);
    assert.equal((probe.events[3] as Event & { cause?: string }).cause, "one-shot");
  });

  it("chattering counts triggers: a shelved or a latched alarm whose value toggles does not chatter", async () => {
    await load([HIGH, { ...HIGH_HIGH, latch: true }], { chatterCount: 2 });
    await send({ command: "shelve", alarm: "LT-201-H", duration: 600_000 });
    for (let i = 0; i < 3; i++) {
      await send({ topic: "LT-201", payload: 9 }, 5);
      await send({ topic: "LT-201", payload: 5 }, 5);
    }
    await pause(30);
    assert.deepEqual(seen(), ["shelve:LT-201-H", "trigger:LT-201-HH"]);
    assert.equal(block().alarmBlock.summary()?.chattering, 0);
    assert.notEqual(lastStatus()?.fill, "yellow");
  });
});
