import assert from "node:assert/strict";
import type { EventEmitter } from "node:events";
import { createRequire } from "node:module";
import { runInNewContext } from "node:vm";
import { after, describe, it } from "node:test";
import type { NodeInitializer, NodeMessage } from "node-red";
import { isPlainObject } from "../../nodes/lib/common/PlainObject";
import { HIGH } from "../support/alarms";
import { builtNode, helper, until, type FlowNode, type RuntimeSettings } from "../support/flows";
import { tempDir } from "../support/tempDir";

const functionNode = createRequire(require.resolve("node-red/package.json"))(
  "@node-red/nodes/core/function/10-function.js",
) as NodeInitializer;

describe("objects built in a function node", () => {
  after(() => helper.unload());

  it("are records, whatever realm made them; arrays, Buffers, Dates and class instances are not", () => {
    assert.equal(isPlainObject(runInNewContext("({ 'LT-201': 7.5 })")), true);
    assert.equal(isPlainObject(runInNewContext("Object.create(null)")), true);
    assert.equal(isPlainObject({ a: 1 }), true);
    for (const value of [runInNewContext("[1]"), runInNewContext("new Date()"), Buffer.from("x"), new Map(), null]) {
      assert.equal(isPlainObject(value), false, String(value));
    }
    class Reading {
      value = 1;
    }
    assert.equal(isPlainObject(new Reading()), false);
  });

  it("reach the block as a table of tag values, the trace as samples and the CSV as rows", async () => {
    const settings: RuntimeSettings = { alarmMail: { dataDir: tempDir("alarm-mail-fn-") } };
    helper.settings(settings);
    // The function node runs its code in a VM context: the objects it returns are of that context's Object.
    const flow: FlowNode[] = [
      { id: "tab", type: "tab", label: "function node objects" },
      {
        id: "read",
        z: "tab",
        type: "function",
        func: "msg.payload = { 'LT-201': 7.5, 'FT-101': 12 }; return msg;",
        wires: [["block", "trace"]],
      },
      {
        id: "block",
        z: "tab",
        type: "alarm-mail-block",
        block: 1,
        alarms: [{ ...HIGH, onDelay: 0 }],
        wires: [["events"]],
      },
      { id: "trace", z: "tab", type: "alarm-mail-trace", mode: "samples", wires: [] },
      {
        id: "rows",
        z: "tab",
        type: "function",
        func: "msg.payload = [{ tag: 'LT-201', value: 7.5 }]; return msg;",
        wires: [["csv"]],
      },
      { id: "csv", z: "tab", type: "alarm-mail-csv", source: "payload", wires: [["file"]] },
      { id: "events", z: "tab", type: "helper" },
      { id: "file", z: "tab", type: "helper" },
    ];
    await helper.load(
      [functionNode, ...["alarm-mail-block", "alarm-mail-trace", "alarm-mail-csv"].map(builtNode)],
      flow,
    );
    const errors: string[] = [];
    for (const id of ["block", "trace", "csv"]) {
      (helper.getNode(id) as unknown as EventEmitter).on("call:error", (call: { args: unknown[] }) =>
        errors.push(`${id}: ${String(call.args[0])}`),
      );
    }
    const events: Array<NodeMessage & { event?: string }> = [];
    const files: Array<NodeMessage & { attachments?: Array<{ content: Buffer }> }> = [];
    helper.getNode("events").on("input", (msg) => events.push(msg));
    helper.getNode("file").on("input", (msg) => files.push(msg));
    helper.getNode("read").receive({ payload: null } as NodeMessage);
    helper.getNode("rows").receive({ payload: null } as NodeMessage);
    // A refused object shows as an error at once: fail with it rather than wait for an output that never comes.
    await until(() => errors.length > 0 || (events.length > 0 && files.length > 0), "the block's event and the CSV");
    assert.deepEqual(errors, []);
    assert.equal(events[0].event, "trigger");
    assert.match(files[0].attachments?.[0].content.toString("utf8") ?? "", /LT-201/);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(errors, []);
  });
});
