import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Editor } from "../support/Editor";
import { NodeRedProcess } from "../support/NodeRedProcess";

describe("alarm-mail-csv and alarm-mail-trace dialogs in the Node-RED editor", () => {
  let red: NodeRedProcess;
  let editor: Editor;

  /** The column boxes of the CSV dialog, one per column of the chosen source. */
  const columns = () => editor.page.locator("#alarm-mail-csv-columns input[data-column]");
  const columnKeys = () => columns().evaluateAll((boxes) => boxes.map((box) => box.getAttribute("data-column")));
  const ticked = () =>
    columns().evaluateAll((boxes) => boxes.filter((box) => (box as HTMLInputElement).checked).length);
  const column = (key: string) => editor.page.locator(`#alarm-mail-csv-columns input[data-column='${key}']`);
  /** Opens the CSV node's dialog with a double click and waits until it shows `count` column boxes. */
  const openCsv = async (count: number) => {
    const tray = await editor.openDialog("csv");
    await editor.page.waitForFunction(
      (n) => document.querySelectorAll("#alarm-mail-csv-columns input[data-column]").length === n,
      count,
    );
    return tray;
  };
  const openTrace = async () => {
    const tray = await editor.openDialog("ops");
    await tray.locator("#node-input-mode").waitFor();
    return tray;
  };
  /** Some properties of a node as the editor holds them. */
  const saved = (id: string, keys: string[]) =>
    editor.page.evaluate(
      ([nodeId, names]) => {
        const node = window.RED.nodes.node(nodeId);
        return Object.fromEntries(names.map((name) => [name, node?.[name]]));
      },
      [id, keys] as const,
    );

  before(async () => {
    red = await NodeRedProcess.start({ lang: "en-US" });
    await red.deploy([
      { id: "tab", type: "tab", label: "editor" },
      {
        id: "blk",
        z: "tab",
        type: "alarm-mail-block",
        name: "Basin 2",
        block: "1",
        alarms: [],
        x: 100,
        y: 60,
        wires: [[]],
      },
      {
        id: "ops",
        z: "tab",
        type: "alarm-mail-trace",
        name: "Operators",
        mode: "operator",
        x: 100,
        y: 120,
        wires: [[]],
      },
      { id: "csv", z: "tab", type: "alarm-mail-csv", source: "history", block: "blk", x: 300, y: 60, wires: [[]] },
      { id: "bad", z: "tab", type: "alarm-mail-csv", source: "history", block: "", x: 300, y: 120, wires: [[]] },
    ]);
    editor = await Editor.open(red);
  });
  after(async () => {
    await editor?.close();
    await red?.kill();
  });

  it("marks a CSV node without its block as invalid", async () => {
    assert.equal(await editor.page.evaluate(() => window.RED.nodes.node("bad")?.valid), false);
    assert.equal(await editor.page.evaluate(() => window.RED.nodes.node("csv")?.valid), true);
    assert.equal(await editor.marked("bad"), true);
    assert.equal(await editor.marked("csv"), false);
  });

  it("offers the blocks of the flow and one ticked box per column of the source, with localised labels", async () => {
    const tray = await openCsv(10);
    assert.equal(await tray.locator("#node-input-block").inputValue(), "blk");
    assert.equal(await tray.locator("#node-input-block option:checked").textContent(), "Basin 2");
    assert.deepEqual(await columnKeys(), [
      "time",
      "event",
      "id",
      "label",
      "priority",
      "state",
      "value",
      "user",
      "ackVia",
      "comment",
    ]);
    assert.equal(await ticked(), 10);
    assert.equal(await tray.locator("#alarm-mail-csv-columns span").first().textContent(), "Time");
    assert.equal(await tray.locator("#node-input-bom").isChecked(), true, "BOM on by default");
    await column("event").uncheck();
    await column("state").uncheck();
    await editor.done();
    assert.deepEqual(await saved("csv", ["columns"]), {
      columns: ["time", "id", "label", "priority", "value", "user", "ackVia", "comment"],
    });
  });

  it("a trace source shows the columns of the trace's mode; a decimal comma moves the delimiter to ;", async () => {
    const tray = await openCsv(10);
    assert.equal(await ticked(), 8, "the columns chosen before are still the ones ticked");
    await tray.locator("#node-input-source").selectOption("active");
    assert.deepEqual(
      (await columnKeys()).slice(-3),
      ["ackBy", "ackVia", "comment"],
      "the ack's comment, as the history",
    );
    assert.equal(await tray.locator("#alarm-mail-csv-columns span").last().textContent(), "Comment");
    await tray.locator("#node-input-source").selectOption("trace");
    await tray.locator("#node-input-trace").selectOption({ label: "Operators" });
    assert.deepEqual(await columnKeys(), ["time", "user", "control", "previous", "value"]);
    assert.equal(await ticked(), 5, "a new source starts all ticked");
    assert.equal(await tray.locator("#node-input-block").isVisible(), false);
    await tray.locator("#node-input-decimalComma").check();
    assert.equal(await tray.locator("#node-input-delimiter").inputValue(), ";");
    assert.equal(await tray.locator(".alarm-mail-csv-decimal-tip").isVisible(), true);
    await tray.locator("#node-input-delimiter").selectOption({ label: "tab" });
    await tray.locator("#node-input-range").selectOption("rows");
    assert.equal(await tray.locator("#node-input-count").isVisible(), true);
    await editor.done();
    assert.deepEqual(
      await saved("csv", ["source", "trace", "delimiter", "decimalComma", "columns", "range", "valid"]),
      {
        source: "trace",
        trace: "ops",
        delimiter: "\t",
        decimalComma: true,
        columns: [],
        range: "rows",
        valid: true,
      },
    );
  });

  it("the trace dialog shows the rows of its mode, and its output can be removed", async () => {
    const tray = await openTrace();
    assert.equal(await tray.locator(".alarm-mail-trace-operator").isVisible(), true);
    assert.equal(await tray.locator("#node-input-sampling").isVisible(), false);
    await tray.locator("#node-input-mode").selectOption("samples");
    await tray.locator("#node-input-sampling").selectOption("interval");
    assert.equal(await tray.locator("#node-input-interval").isVisible(), true);
    // The editor checks a field as it is typed into (keyup) and when it is left (change).
    await tray.locator("#node-input-interval").fill("0");
    await tray.locator("#node-input-interval").press("Tab");
    assert.equal(await editor.invalid(tray.locator("#node-input-interval")), true);
    await tray.locator("#node-input-interval").fill("");
    await tray.locator("#node-input-interval").pressSequentially("5");
    assert.equal(await editor.invalid(tray.locator("#node-input-interval")), false);
    await tray.locator("#alarm-mail-trace-output").uncheck();
    await editor.done();
    assert.deepEqual(await saved("ops", ["mode", "sampling", "interval", "outputs"]), {
      mode: "samples",
      sampling: "interval",
      interval: "5",
      outputs: 0,
    });
    assert.equal(await editor.node("ops").locator(".red-ui-flow-port-output").count(), 0, "the port is gone");
  });

  it("leaves pictures of the CSV and trace dialogs, filled in as for a basin's daily report, for the README", async () => {
    // The trace now samples at an interval: the CSV node offers that trace's columns, time and value.
    let tray = await openCsv(2);
    assert.deepEqual(await columnKeys(), ["time", "value"]);
    assert.equal(await tray.locator(".alarm-mail-csv-interval-tip").isVisible(), true);
    await tray.locator("#node-input-name").fill("Basin 2 alarm log");
    await tray.locator("#node-input-source").selectOption("history");
    await tray.locator("#node-input-block").selectOption({ label: "Basin 2" });
    await tray.locator("#node-input-range").selectOption("since-mail");
    await column("user").uncheck();
    await tray.locator("#node-input-delimiter").selectOption(";");
    await tray.locator("#node-input-timeZone").fill("Europe/Berlin");
    await tray.locator("#node-input-filename").fill("basin-2-alarms.csv");
    await tray.locator("#node-input-name").focus();
    await editor.screenshot("alarm-mail-csv-dialog");
    await editor.cancel();

    tray = await openTrace();
    await tray.locator("#node-input-name").fill("Basin 2 level");
    await tray.locator("#node-input-sampling").selectOption("interval");
    await tray.locator("#node-input-interval").fill("60");
    await tray.locator("#node-input-maxAge").fill("30");
    await tray.locator("#alarm-mail-trace-output").check();
    await tray.locator("#node-input-name").focus();
    await editor.screenshot("alarm-mail-trace-dialog");
    await editor.cancel();
  });
});
