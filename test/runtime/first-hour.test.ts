import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, it } from "node:test";
import type { NodeStatus } from "node-red";
import { demoFlow } from "../../dev/demoFlow";
import { HIGH } from "../support/alarms";
import { helper, loadMailFlow, until, watchStatuses, type FlowNode } from "../support/flows";
import { EditorStatuses } from "../support/comms";
import { NodeRedProcess } from "../support/NodeRedProcess";
import { downPort, Sinks } from "../support/smtp";

/**
 * The mistakes a new user makes in the first hour (issue 21), each as the steps that person takes in a real Node-RED
 * runtime, and what the runtime must then say or do.
 */

const sinks = new Sinks();

let red: NodeRedProcess | undefined;
let statuses: EditorStatuses | undefined;

afterEach(async () => {
  await helper.unload();
  await sinks.closeAll();
  statuses?.close();
  await red?.stop();
  red = undefined;
  statuses = undefined;
});

/** A text of a node's catalogue in `lang`, filled as Node-RED fills it. */
function catalogueText(lang: string, type: string, key: string, params: Record<string, string | number> = {}): string {
  const catalogue = JSON.parse(readFileSync(join(__dirname, "..", "..", "locales", lang, `${type}.json`), "utf8"));
  const text = key.split(".").reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], catalogue);
  return Object.entries(params).reduce((t, [name, value]) => t.split(`__${name}__`).join(String(value)), String(text));
}

const english = (type: string, key: string, params: Record<string, string | number> = {}) =>
  catalogueText("en-US", type, key, params);

/**
 * Waits until node `id` has logged an error ending with `words`: the log comes through the runtime's stdout, which
 * may arrive after the status that the comms carried.
 */
async function logged(id: string, words: string): Promise<void> {
  await until(
    () => errorsOf(id).some((line) => line.endsWith(words)),
    `the error of ${id}: ${words}`,
    10_000,
    () => red?.output ?? "",
  );
}

/** The lines of the runtime's log that say an error of node `id`. */
function errorsOf(id: string): string[] {
  return (red?.output ?? "").split("\n").filter((line) => line.includes("[error]") && line.includes(`:${id}]`));
}

const CONFIG_STATUS = {
  fill: "red",
  shape: "ring",
  text: "@alarm-mail/node-red/alarm-mail-server:alarm-mail-server.status.config",
};

describe("first hour: a node that cannot work says so at deploy", () => {
  /** Deploys `nodes` on a tab of a real Node-RED and waits until each of `ids` shows a status. */
  async function deploy(nodes: FlowNode[], ids: string[]): Promise<EditorStatuses> {
    red = await NodeRedProcess.start();
    const editor = (statuses = await EditorStatuses.open(red.url));
    await red.deploy([{ id: "tab", type: "tab", label: "first hour" }, ...nodes]);
    await until(
      () => ids.every((id) => editor.of(id) !== undefined),
      `a status under ${ids.join(", ")}`,
      10_000,
      () => red?.output ?? "",
    );
    return editor;
  }

  it("a send node dropped on the canvas with no server: red at once, one error", async () => {
    const editor = await deploy(
      [{ id: "send", z: "tab", type: "alarm-mail-send", server: "", wires: [[], []] }],
      ["send"],
    );
    assert.deepEqual(editor.of("send"), CONFIG_STATUS);
    const words = english("alarm-mail-server", "errors.config-missing", { field: "server" });
    await logged("send", words);
    assert.equal(errorsOf("send").length, 1, "one error");
  });

  it("a recipient group with two mistyped addresses: its send node is red at once, and both are named", async () => {
    const editor = await deploy(
      [
        { id: "server", type: "alarm-mail-server", host: "127.0.0.1", port: 2525, security: "none", auth: "none" },
        {
          id: "group",
          type: "alarm-mail-recipients",
          to: "operator@plant.example, shift lead at plant\nops.plant.example",
        },
        { id: "group-cc", type: "alarm-mail-recipients", to: "a@plant.example", cc: "boss at plant.example" },
        { id: "send", z: "tab", type: "alarm-mail-send", server: "server", recipients: "group", wires: [[], []] },
      ].map((node) => ({ from: "gateway@plant.example", ...node })),
      ["send"],
    );
    assert.deepEqual(editor.of("send"), CONFIG_STATUS);
    const both = english("alarm-mail-server", "errors.addresses-invalid", {
      field: "to",
      addresses: '"shift lead at plant", "ops.plant.example"',
    });
    await logged("group", both);
    await logged("send", both);
    const cc = english("alarm-mail-server", "errors.address-invalid", {
      field: "cc",
      address: "boss at plant.example",
    });
    await logged("group-cc", cc);
  });

  it("a report node naming a block that is not deployed: red at once, one error naming it", async () => {
    const editor = await deploy(
      [{ id: "report", z: "tab", type: "alarm-mail-report", period: "day", blocks: ["gone"], wires: [[]] }],
      ["report"],
    );
    assert.deepEqual(editor.of("report"), CONFIG_STATUS);
    await logged("report", english("alarm-mail-report", "errors.report-block-missing", { id: "gone" }));
    assert.equal(errorsOf("report").length, 1, "one error");
  });

  it("a server with port 70000: its send node is red at once, in the words of the dialog's port rule", async () => {
    const editor = await deploy(
      [
        { id: "server", type: "alarm-mail-server", host: "127.0.0.1", port: 70000, from: "gateway@plant.example" },
        { id: "send", z: "tab", type: "alarm-mail-send", server: "server", wires: [[], []] },
      ],
      ["send"],
    );
    assert.deepEqual(editor.of("send"), CONFIG_STATUS);
    const rule = english("alarm-mail-server", "alarm-mail-server.validation.port");
    const words = english("alarm-mail-server", "errors.config-rule", { field: "port", validation: rule });
    await logged("server", words);
    await logged("send", words);
  });

  it("a CSV node whose block was never deployed: red at once, one error naming it", async () => {
    const editor = await deploy(
      [{ id: "csv", z: "tab", type: "alarm-mail-csv", source: "history", block: "gone", wires: [[]] }],
      ["csv"],
    );
    assert.deepEqual(editor.of("csv"), CONFIG_STATUS);
    const words = english("alarm-mail-csv", "errors.csv-block-missing", { id: "gone" });
    await logged("csv", words);
    assert.equal(errorsOf("csv").length, 1, "one error");
  });
});

describe("first hour: a block with a half-filled alarm row", () => {
  it("runs its valid rows and says which row is wrong and why, once, at deploy", async () => {
    red = await NodeRedProcess.start();
    const editor = (statuses = await EditorStatuses.open(red.url));
    const broken = { ...HIGH, id: "TT-1-L", label: "Frost", topic: "TT-1", condition: "low", setpoint: "" };
    await red.deploy([
      { id: "tab", type: "tab", label: "first hour" },
      { id: "level", z: "tab", type: "inject", topic: "LT-201", payload: "7", payloadType: "num", wires: [["block"]] },
      { id: "block", z: "tab", type: "alarm-mail-block", block: 1, alarms: [HIGH, broken], wires: [["keep-event"]] },
      {
        id: "keep-event",
        z: "tab",
        type: "function",
        func: "flow.set('events', (flow.get('events') || []).concat(msg.event + ':' + msg.alarm.id));\nreturn null;",
        wires: [],
      },
    ]);
    const rowText = english("alarm-mail-block", "alarm-mail-block.validation.row", {
      row: 2,
      id: "TT-1-L",
      message: english("alarm-mail-block", "alarm-mail-block.validation.setpoint"),
    });
    await until(
      () => errorsOf("block").length > 0,
      "the error at deploy",
      10_000,
      () => red?.output ?? "",
    );
    assert.equal(errorsOf("block").length, 1, "one error");
    assert.ok(errorsOf("block")[0].includes(rowText), errorsOf("block")[0]);

    const refused = (await (await red.request("GET", "/alarm-mail-block/block/refused")).json()) as unknown;
    assert.deepEqual(refused, {
      ok: true,
      refused: [
        {
          row: 2,
          id: "TT-1-L",
          field: "setpoint",
          rule: "setpoint",
          reason: "alarm-mail-block.validation.setpoint",
          message: rowText,
        },
      ],
    });

    await until(() => editor.of("block")?.fill === "yellow", "a yellow status on the block");
    assert.equal(editor.of("block")?.text, "alarm-mail-block.status.refused", "a key the editor translates");

    await red.inject("level");
    const events = async () => {
      const res = await red?.request("GET", "/context/flow/tab/events");
      const body = (await res?.json()) as { msg?: string } | undefined;
      return body?.msg ?? "";
    };
    await until(async () => (await events()).includes("trigger:LT-201-H"), "the valid alarm's trigger");
    assert.equal(errorsOf("block").length, 1, "the valid row's value is no error");
  });
});

const alarm = { topic: "Basin 2: level high", payload: "7.4", alarm: { priority: 1 } };

/** A server, a recipient group and a send node, as a person wires them in the editor. */
function mailFlow(port: number, server: Record<string, unknown> = {}): FlowNode[] {
  return [
    { id: "tab", type: "tab", label: "first hour" },
    { id: "server", type: "alarm-mail-server", host: "127.0.0.1", port, security: "none", auth: "none", ...server },
    { id: "recipients", type: "alarm-mail-recipients", to: "operator@plant.example" },
    {
      id: "send",
      z: "tab",
      type: "alarm-mail-send",
      server: "server",
      recipients: "recipients",
      wires: [["ok"], ["failed"]],
    },
    { id: "ok", z: "tab", type: "helper" },
    { id: "failed", z: "tab", type: "helper" },
  ];
}

describe("first hour: a corrected server setting ends the wait of the queued mails", () => {
  // A long retry delay: a mail that kept its scheduled retry would not arrive within the test's wait.
  const slow = { retryDelay: 60_000, retryMaxDelay: 600_000, connectionTimeout: 500, socketTimeout: 500 };

  for (const mistake of ["a port where nothing listens", "the implicit TLS port of a plain server"] as const) {
    it(`${mistake}, corrected and deployed: the queued mail goes at once`, async () => {
      const smtp = await sinks.start();
      const wrongPort =
        mistake === "a port where nothing listens" ? await downPort() : (await sinks.start({ secure: true })).port;
      await loadMailFlow(wrongPort, { server: slow });
      // loadMailFlow deploys the same three nodes; the second deploy changes the port alone.
      const statuses = watchStatuses("send");
      helper.getNode("send").receive({ ...alarm });
      await until(() => statuses.some((s: NodeStatus) => s.fill === "yellow"), "the send node saying it will retry");
      // A few words that fit under the node, with no code: the fault and the next try are in the outbox.
      assert.equal(statuses.find((s: NodeStatus) => s.fill === "yellow")?.text, "alarm-mail-send.status.retrying");

      await helper.setFlows(mailFlow(smtp.port, { ...slow, from: "gateway@plant.example" }), "nodes");
      await until(() => smtp.received.length === 1, "the queued mail at the corrected port", 10_000);
    });
  }
});

describe("first hour: the demo of npm start", () => {
  it("mails once per simulated alarm, not once per deploy", async () => {
    const smtp = await sinks.start();
    red = await NodeRedProcess.start();
    const target = {
      capture: true,
      host: "127.0.0.1",
      port: smtp.port,
      security: "none",
      auth: "none",
      from: "gateway@plant.example",
      to: "operators@plant.example",
    };
    // Beside the demo, a count of the presses of its Simulate alarm button, the automatic one at each start included.
    const presses: FlowNode[] = [
      { id: "presses", z: "demo-tab", type: "complete", scope: ["demo-inject"], wires: [["count-press"]] },
      {
        id: "count-press",
        z: "demo-tab",
        type: "function",
        func: "global.set('presses', (global.get('presses') || 0) + 1);\nreturn null;",
        wires: [],
      },
    ];
    const flows = [...(demoFlow(target) as FlowNode[]), ...presses];
    const pressed = async () => {
      const body = (await (await red?.request("GET", "/context/global/presses"))?.json()) as { msg?: string };
      return Number(body.msg ?? 0);
    };
    await red.deploy(flows);
    await smtp.waitFor(1);
    await until(async () => (await pressed()) === 1, "the first press");

    // A full deploy starts every node again, and the inject-once presses Simulate alarm again: the alarm is still
    // active, so nothing new is mailed.
    await red.deploy(flows);
    await until(async () => (await pressed()) === 2, "the press at the deploy", 15_000);
    await red.inject("demo-normal");
    await red.inject("demo-inject");
    await smtp.waitFor(2);
    await until(async () => (await pressed()) === 3, "the person's press");
    assert.equal(smtp.received.length, 2, "one mail at the first start, one for the person's new alarm");
  });
});

describe("first hour: statuses in a French runtime", () => {
  it("counts in the runtime's French, short; fixed words as keys that the editor translates", async () => {
    red = await NodeRedProcess.start({ lang: "fr" });
    const editor = (statuses = await EditorStatuses.open(red.url));
    await red.deploy([
      { id: "tab", type: "tab", label: "premier contact" },
      { id: "block", z: "tab", type: "alarm-mail-block", block: 1, alarms: [HIGH], wires: [[]] },
      { id: "send", z: "tab", type: "alarm-mail-send", server: "", wires: [[], []] },
    ]);
    await until(() => editor.of("block") !== undefined && editor.of("send") !== undefined, "both statuses");
    assert.equal(editor.of("block")?.text, "0 act., 0 à acq.");
    assert.equal(editor.of("send")?.text, CONFIG_STATUS.text);
    const words = catalogueText("fr", "alarm-mail-server", "errors.config-missing", { field: "server" });
    await logged("send", words);
  });
});
