import assert from "node:assert/strict";
import type { EventEmitter } from "node:events";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, afterEach, describe, it } from "node:test";
import type { NodeMessage, NodeStatus } from "node-red";
import type { BlockNodeObject } from "../../nodes/red/block/BlockNode";
import { HIGH } from "../support/alarms";
import { SmtpSink } from "../../dev/SmtpSink";
import { DiskFault } from "../support/DiskFault";
import {
  builtNode,
  deliver,
  helper,
  loadMailFlow,
  until,
  watchStatuses,
  type FlowNode,
  type RuntimeSettings,
} from "../support/flows";
import { tempDir } from "../support/tempDir";

/**
 * Fault injection on the outbox: a full disk (ENOSPC from a wrapped write), a read-only data folder at start. Mails
 * accepted before the fault are delivered after it; mails during it are refused on output 2 with a clear error and
 * never reported queued; the send node's status is red; once the fault is gone, mails go again.
 */

const SERVER_ERRORS = "@alarm-mail/node-red/alarm-mail-server:errors.";
let fault: DiskFault | undefined;
const sinks: SmtpSink[] = [];

afterEach(async () => {
  fault?.uninstall();
  fault = undefined;
  await helper.unload();
  await Promise.all(sinks.splice(0).map((s) => s.close()));
});
after(() => helper.stopServer?.());

/** A server that answers "try later" while `down` is true, as one that is restarting does. */
async function flakySink(): Promise<{ smtp: SmtpSink; up: () => void }> {
  let down = true;
  const smtp = new SmtpSink({
    starttls: false,
    onRecipient: () => (down ? { code: 451, message: "4.3.0 Try again later" } : undefined),
  });
  sinks.push(smtp);
  await smtp.listen();
  return { smtp, up: () => (down = false) };
}

const FAST_RETRY = { retryDelay: 100, retryMaxDelay: 300 };

describe("a full disk (ENOSPC)", () => {
  it("keeps the mails accepted before, refuses those during it on output 2, and recovers after", async () => {
    const userDir = tempDir("alarm-mail-enospc-");
    fault = await new DiskFault(userDir).install().installHandles();
    const { smtp, up } = await flakySink();
    await loadMailFlow(smtp.port, { userDir, server: FAST_RETRY });
    const statuses = watchStatuses("send");

    // Before: accepted, on disk, waiting for the server. Its outcome is watched on the outputs, not with deliver(),
    // which takes the first answer of either output and would take the refusal of the next msg for it.
    const outcomes: Array<{ output: 1 | 2; topic: unknown; error?: string }> = [];
    helper.getNode("ok").on("input", (msg: NodeMessage) => outcomes.push({ output: 1, topic: msg.topic }));
    helper
      .getNode("failed")
      .on("input", (msg: NodeMessage & { error?: { message: string } }) =>
        outcomes.push({ output: 2, topic: msg.topic, error: msg.error?.message }),
      );
    helper.getNode("send").receive({ topic: "before the fault", payload: "1" } as NodeMessage);
    // On disk in the outbox: what "queued" means. The send node's status is throttled and may skip that word when a
    // retry follows at once.
    const server = helper.getNode("server") as unknown as { mailServer: { queued: number } };
    await until(() => server.mailServer.queued === 1, "the first mail queued");

    fault.mode = "full";
    const during = await deliver({ topic: "during the fault", payload: "2" } as NodeMessage);
    assert.equal(during.output, 2, "refused, not queued");
    assert.equal(during.msg.error?.code, "outbox-unavailable");
    assert.equal(during.error, `${SERVER_ERRORS}outbox-unavailable`);
    assert.equal(statuses.at(-1)?.fill, "red");
    assert.ok(!during.statuses.some((s) => /queued/.test(String(s.text))), "never reported queued");

    fault.mode = "ok";
    up();
    await until(() => outcomes.some((o) => o.topic === "before the fault"), "the first mail's outcome", 30_000);
    assert.deepEqual(
      outcomes.filter((o) => o.topic === "before the fault"),
      [{ output: 1, topic: "before the fault" }],
      "the mail accepted before the fault is delivered after it",
    );
    const after = await deliver({ topic: "after the fault", payload: "3" } as NodeMessage, 30_000);
    assert.equal(after.output, 1, after.msg.error?.message);
    const subjects = await Promise.all(smtp.received.map(async (m) => (await m.parse()).subject));
    assert.deepEqual(subjects.sort(), ["after the fault", "before the fault"]);
  });

  it("reports a mail sent when the disk fills between the server's answer and its sent record", async () => {
    const userDir = tempDir("alarm-mail-enospc-");
    const disk = await new DiskFault(userDir).install().installHandles();
    fault = disk;
    // The disk fills while the server takes the mail: the "sent" record that follows its answer cannot be written.
    let first = true;
    const smtp = new SmtpSink({
      starttls: false,
      onMessage: () => {
        if (first) disk.mode = "full";
        first = false;
        return undefined;
      },
    });
    sinks.push(smtp);
    await smtp.listen();
    await loadMailFlow(smtp.port, { userDir });
    const outcome = deliver({ topic: "sent as the disk filled", payload: "1" } as NodeMessage, 10_000);
    await until(() => smtp.received.length === 1, "the server took the mail");
    const { output } = await outcome;
    assert.equal(output, 1, "the mail went out: its msg is reported sent, not left waiting for ever");
  });

  it("reports a mail failed when the disk fills as the server refuses it for good", async () => {
    const userDir = tempDir("alarm-mail-enospc-");
    const disk = await new DiskFault(userDir).install().installHandles();
    fault = disk;
    // The disk fills as the server refuses the recipient: the "failed" record that follows cannot be written.
    const smtp = new SmtpSink({
      starttls: false,
      onRecipient: () => {
        disk.mode = "full";
        return { code: 550, message: "5.1.1 No such user" };
      },
    });
    sinks.push(smtp);
    await smtp.listen();
    await loadMailFlow(smtp.port, { userDir });
    const { output } = await deliver({ topic: "refused as the disk filled", payload: "1" } as NodeMessage, 10_000);
    assert.equal(output, 2, "its msg is reported failed, not left waiting for ever");
  });
});

describe("a full disk at start (ENOSPC), with the outbox's preallocated segments", () => {
  it("refuses mails on output 2 while no segment can be made, and takes them once there is room", async () => {
    const userDir = tempDir("alarm-mail-enospc-start-");
    fault = await new DiskFault(userDir).install().installHandles();
    fault.mode = "full";
    const { smtp, up } = await flakySink();
    up();
    await loadMailFlow(smtp.port, { userDir, server: FAST_RETRY });
    const during = await deliver({ topic: "during the fault", payload: "1" } as NodeMessage);
    assert.equal(during.output, 2, "refused, not queued");
    assert.equal(during.msg.error?.code, "outbox-unavailable");
    fault.mode = "ok";
    const after = await deliver({ topic: "after the fault", payload: "2" } as NodeMessage, 30_000);
    assert.equal(after.output, 1, after.msg.error?.message);
    const subjects = await Promise.all(smtp.received.map(async (m) => (await m.parse()).subject));
    assert.deepEqual(subjects, ["after the fault"]);
  });
});

describe("a read-only data folder at start", () => {
  it("refuses mails on output 2 with a clear error and a red status, and takes them once it is writable", async () => {
    const userDir = tempDir("alarm-mail-erofs-");
    fault = await new DiskFault(userDir).install().installHandles();
    fault.mode = "read-only";
    const { smtp, up } = await flakySink();
    up();
    await loadMailFlow(smtp.port, { userDir, server: FAST_RETRY });
    const during = await deliver({ topic: "while read-only", payload: "1" } as NodeMessage);
    assert.equal(during.output, 2);
    assert.equal(during.msg.error?.code, "outbox-unavailable");
    assert.equal(during.error, `${SERVER_ERRORS}outbox-unavailable`);
    assert.equal(during.statuses.at(-1)?.fill, "red");

    fault.mode = "ok";
    const after = await deliver({ topic: "writable again", payload: "2" } as NodeMessage, 30_000);
    assert.equal(after.output, 1, after.msg.error?.message);
    assert.deepEqual(await Promise.all(smtp.received.map(async (m) => (await m.parse()).subject)), ["writable again"]);
  });
});

describe("the block's snapshot", () => {
  async function loadBlock(dataDir: string): Promise<{ errors: string[]; statuses: NodeStatus[]; events: string[] }> {
    const runtime: RuntimeSettings = { alarmMail: { dataDir } };
    helper.settings(runtime);
    const flow: FlowNode[] = [
      { id: "tab", type: "tab", label: "snapshot faults" },
      { id: "block", z: "tab", type: "alarm-mail-block", block: 1, alarms: [HIGH], wires: [["out"]] },
      { id: "out", z: "tab", type: "helper" },
    ];
    await helper.load([builtNode("alarm-mail-block")], flow);
    const seen = { errors: [] as string[], statuses: [] as NodeStatus[], events: [] as string[] };
    const block = helper.getNode("block") as unknown as EventEmitter;
    block.on("call:error", (call: { args: unknown[] }) => seen.errors.push(String(call.args[0])));
    block.on("call:status", (call: { args: [NodeStatus] }) => seen.statuses.push(call.args[0]));
    helper.getNode("out").on("input", (msg: NodeMessage & { event?: string }) => seen.events.push(String(msg.event)));
    return seen;
  }
  const logged = (text: string) =>
    helper.log().args.some((args: unknown[]) => String((args[0] as { msg?: unknown }).msg).includes(text));
  const active = () => (helper.getNode("block") as unknown as BlockNodeObject).alarmBlock.activeAlarms().length;

  it("a full disk: the alarm still goes, a red status and an error say the state is not saved, until it is", async () => {
    const dataDir = tempDir("alarm-mail-block-enospc-");
    fault = await new DiskFault(dataDir).install().installHandles();
    const seen = await loadBlock(dataDir);
    fault.mode = "full";
    helper.getNode("block").receive({ topic: "LT-201", payload: 7 } as NodeMessage);
    await until(() => seen.errors.length > 0, "the save to fail", 5000);
    assert.deepEqual(seen.events, ["trigger"], "the alarm is not held back");
    assert.match(seen.errors[0], /alarm-mail-block\.warn\.snapshot-unwritable/);
    assert.deepEqual(seen.statuses.at(-1), { fill: "red", shape: "ring", text: "alarm-mail-block.status.unsaved" });

    fault.mode = "ok";
    helper.getNode("block").receive({ command: "ack", alarm: "LT-201-H" } as NodeMessage);
    await until(() => seen.statuses.at(-1)?.fill === "blue", "the status back once saved", 5000);
    await helper.unload();
    await loadBlock(dataDir);
    assert.equal(active(), 1, "the state was saved once the disk had room");
  });

  it("a read-only data folder at start: red and an error at the first change; saved once writable", async () => {
    const dataDir = tempDir("alarm-mail-block-erofs-");
    fault = await new DiskFault(dataDir).install().installHandles();
    fault.mode = "read-only";
    const seen = await loadBlock(dataDir);
    helper.getNode("block").receive({ topic: "LT-201", payload: 7 } as NodeMessage);
    await until(() => seen.errors.length > 0, "the save to fail", 5000);
    assert.match(seen.errors[0], /alarm-mail-block\.warn\.snapshot-unwritable/);
    assert.equal(seen.statuses.at(-1)?.fill, "red");
    fault.mode = "ok";
    helper.getNode("block").receive({ topic: "LT-201", payload: 7.5 } as NodeMessage);
    await until(() => seen.statuses.at(-1)?.fill === "blue", "saved", 5000);
  });

  it("a torn snapshot at start: an error and a red status say the state was lost; the block works and saves again", async () => {
    const dataDir = tempDir("alarm-mail-block-torn-");
    mkdirSync(join(dataDir, "blocks"), { recursive: true });
    writeFileSync(
      join(dataDir, "blocks", "block.json"),
      '{"format":1,"savedAt":17,"engine":{"alarms":{"LT-201-H":{"va',
    );
    const seen = await loadBlock(dataDir);
    assert.ok(logged("alarm-mail-block.warn.snapshot-unreadable"), "an error in the log");
    helper.getNode("block").receive({ topic: "LT-201", payload: 7 } as NodeMessage);
    await until(() => seen.statuses.at(-1)?.fill === "blue", "saved again", 5000);
    assert.deepEqual(seen.events, ["trigger"]);
    assert.ok(
      readdirSync(join(dataDir, "blocks")).some((name) => name.includes("corrupt")),
      "set aside",
    );
  });
});
