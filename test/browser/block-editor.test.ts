import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import type { Locator } from "playwright-core";
import { HIGH, HIGH_HIGH } from "../support/alarms";
import { Editor } from "../support/Editor";
import { NodeRedProcess } from "../support/NodeRedProcess";

const TABLE = [
  HIGH,
  HIGH_HIGH,
  { ...HIGH, id: "PLC-W1.3", label: "Pump 3 fault", topic: "PLC/word1", condition: "bit", bit: 3, priority: 3 },
];

describe("alarm-mail-block's dialog in the Node-RED editor", () => {
  let red: NodeRedProcess;
  let editor: Editor;

  /** The rows of the alarm table: editableList draws one `li` per alarm. */
  const rows = () => editor.page.locator("#alarm-mail-block-alarms > li");
  const field = (i: number, name: string) => rows().nth(i).locator(`.alarm-mail-block-${name}`);
  /** The ids in the table, top to bottom. */
  const ids = () =>
    rows()
      .locator(".alarm-mail-block-id")
      .evaluateAll((inputs) => inputs.map((input) => (input as HTMLInputElement).value));
  /** The table shows `count` rows (a removed row fades out before it goes). */
  const showsRows = (count: number) =>
    editor.page.waitForFunction((n) => document.querySelectorAll("#alarm-mail-block-alarms > li").length === n, count);
  /** Replaces what a field holds by typing, key by key, as a user does; the table checks itself on each key. */
  const type = async (input: Locator, text: string) => {
    await input.fill("");
    await input.pressSequentially(text);
  };
  const openDialog = async (count: number) => {
    const tray = await editor.openDialog("blk");
    await showsRows(count);
    return tray;
  };

  before(async () => {
    red = await NodeRedProcess.start();
    await red.deploy([
      { id: "tab", type: "tab", label: "editor" },
      { id: "blk", z: "tab", type: "alarm-mail-block", block: "1", alarms: TABLE, x: 200, y: 100, wires: [[]] },
    ]);
    editor = await Editor.open(red);
    await openDialog(3);
  });
  after(async () => {
    await editor?.close();
    await red?.kill();
  });

  it("shows one row per alarm, with the fields its condition uses", async () => {
    assert.deepEqual(await ids(), ["LT-201-H", "LT-201-HH", "PLC-W1.3"]);
    assert.equal(await field(2, "bit").isVisible(), true);
    assert.equal(await field(2, "bit").inputValue(), "3");
    assert.equal(await field(2, "setpoint").isVisible(), false);
    assert.equal(await field(0, "deadband").isDisabled(), false);
    assert.equal(await field(2, "deadband").isDisabled(), true, "deadband is for high and low");
  });

  it("marks a duplicate id and a setpoint that is not a number where they are, as they are typed", async () => {
    await type(field(1, "id"), "LT-201-H");
    await type(field(0, "setpoint"), "six");
    assert.equal(await editor.invalid(field(1, "id")), true);
    assert.equal(await field(1, "id").getAttribute("title"), "Another alarm has this id.");
    assert.equal(await editor.invalid(field(0, "setpoint")), true);
    await type(field(1, "id"), "LT-201-HH");
    await type(field(0, "setpoint"), "6");
    assert.equal(await editor.tray().locator("#alarm-mail-block-alarms .input-error").count(), 0);
  });

  it("adds, removes and reorders rows, and saves the table in the order shown", async () => {
    await editor.tray().locator(".red-ui-editableList-addButton").click();
    await showsRows(4);
    assert.equal(await editor.invalid(field(3, "id")), true, "a new row needs an id");
    await type(field(3, "id"), "LT-201-L");
    await field(3, "label").fill("Basin 2 bacteria level low");
    await type(field(3, "topic"), "LT-201");
    await field(3, "condition").selectOption("low");
    await type(field(3, "setpoint"), "1.5");
    assert.equal(await editor.invalid(field(3, "id")), false);

    // Remove the bit alarm, then drag the new low alarm by its handle to the top.
    await rows().nth(2).locator(".red-ui-editableList-item-remove").click();
    await showsRows(3);
    const handle = await box(rows().nth(2).locator(".red-ui-editableList-item-handle"));
    const top = await box(rows().nth(0));
    const mouse = editor.page.mouse;
    await mouse.move(handle.x + handle.width / 2, handle.y + handle.height / 2);
    await mouse.down();
    await mouse.move(handle.x + handle.width / 2, top.y + 2, { steps: 20 });
    await mouse.move(handle.x + handle.width / 2, top.y + 1, { steps: 2 });
    await mouse.up();
    assert.deepEqual(await ids(), ["LT-201-L", "LT-201-H", "LT-201-HH"]);

    await editor.done();
    const saved = await editor.page.evaluate(() => window.RED.nodes.node("blk")?.alarms);
    assert.deepEqual(
      (saved as Array<{ id: string; setpoint: number; condition: string }>).map((a) => [a.id, a.condition, a.setpoint]),
      [
        ["LT-201-L", "low", 1.5],
        ["LT-201-H", "high", 6],
        ["LT-201-HH", "high", 8],
      ],
    );
    assert.equal(await editor.page.evaluate(() => window.RED.nodes.node("blk")?.version), 1);
    assert.equal(await editor.page.evaluate(() => window.RED.nodes.node("blk")?.valid), true);
    assert.equal(await editor.marked("blk"), false);
  });

  it("imports a pasted CSV from a French spreadsheet, listing the rows it cannot take", async () => {
    const tray = await openDialog(3);
    const csv =
      "id;label;topic;condition;setpoint;deadband;priority;Commentaire\nA1;Cuve 1 haute;T1;high;6,5;0,5;1;x\nA2;Cuve 1 basse;T1;low;;;2;y\n";
    await tray.locator("#alarm-mail-block-paste").click();
    await tray.locator("#alarm-mail-block-csv").fill(csv);
    await tray.locator("#alarm-mail-block-import-pasted").click();
    const result = tray.locator(".alarm-mail-block-result .form-tips");
    await result.waitFor();
    await showsRows(2);
    assert.equal(await field(0, "setpoint").inputValue(), "6.5");
    assert.equal(await editor.invalid(field(1, "setpoint")), true);
    const text = (await result.textContent()) ?? "";
    assert.match(text, /2 alarms imported/);
    assert.match(text, /Columns left out: Commentaire/);
    assert.match(text, /Line 3: Alarm A2: setpoint "" is not valid/);
    assert.equal(await tray.locator("#alarm-mail-block-delimiter").inputValue(), ";");
  });

  it("exports the table being edited as a CSV file that reads back the same", async () => {
    await type(field(1, "setpoint"), "2");
    const download = editor.page.waitForEvent("download");
    await editor.tray().locator("#alarm-mail-block-export").click();
    const file = await download;
    assert.equal(file.suggestedFilename(), "alarms-1.csv");
    const text = await readFile(await file.path(), "utf8");
    assert.equal(
      text,
      "\uFEFFid;label;topic;condition;setpoint;deadband;onDelay;offDelay;priority;ack;bit;latch\r\n" +
        "A1;Cuve 1 haute;T1;high;6,5;0,5;0;0;1;manual;;false\r\n" +
        "A2;Cuve 1 basse;T1;low;2;0;0;0;2;manual;;false\r\n",
    );
    await editor.cancel();
  });

  it("leaves a picture of the dialog with a basin's alarm table for the README", async () => {
    // A taller window gives the table the room for its three rows.
    await editor.page.setViewportSize({ width: 1440, height: 1000 });
    const tray = await openDialog(3);
    await tray.locator("#node-input-name").fill("Basin 2 level alarms");
    await tray.locator("#node-input-block").fill("Basin 2");
    await rows().nth(2).locator(".alarm-mail-block-more").click();
    await field(2, "latch").check();
    await editor.screenshot("alarm-mail-block-dialog");
    await editor.cancel();
  });
});

async function box(locator: Locator): Promise<{ x: number; y: number; width: number; height: number }> {
  const found = await locator.boundingBox();
  if (!found) throw new Error(`${locator.toString()} is not on the screen`);
  return found;
}
