import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { HIGH, HIGH_HIGH } from "./support/alarms";
import { Chromium, CHROMIUM } from "./support/Chromium";
import { NodeRedProcess } from "./support/NodeRedProcess";

const TABLE = [
  HIGH,
  HIGH_HIGH,
  { ...HIGH, id: "PLC-W1.3", label: "Pump 3 fault", topic: "PLC/word1", condition: "bit", bit: 3, priority: 3 },
];

/** The rows of the open dialog, as jQuery sees them: editableList's items are jQuery objects, one per row. */
let browser: Chromium;

const ROWS = "$('#alarm-mail-block-alarms').editableList('items')";
const row = (i: number) => `$(${ROWS}[${i}])`;
/** Does something in the page, as a click or typing would; the jQuery object it returns stays there. */
const act = (statements: string) => browser.evaluate(`(function () { ${statements}; })()`);
/**
 * Opens the block's dialog, as a double click does. The editor may still be settling after it loaded the flows, so
 * the dialog is asked for again until it shows the table.
 */
const openDialog = (rows: number) =>
  browser.waitFor(
    `(function () {
      if ($('#alarm-mail-block-alarms').length === 0 && $('.red-ui-tray').length === 0) {
        RED.editor.edit(RED.nodes.node('blk'));
      }
      return ${ROWS}.length === ${rows};
    })()`,
    30_000,
  );
const field = (i: number, name: string) => `${row(i)}.find('.alarm-mail-block-${name}')`;

describe("alarm-mail-block's dialog in the Node-RED editor", { skip: CHROMIUM ? false : "no Chromium here" }, () => {
  let red: NodeRedProcess;
  const downloads = mkdtempSync(join(tmpdir(), "alarm-mail-downloads-"));

  before(async () => {
    red = await NodeRedProcess.start();
    await red.deploy([
      { id: "tab", type: "tab", label: "editor" },
      { id: "blk", z: "tab", type: "alarm-mail-block", block: "1", alarms: TABLE, x: 200, y: 100, wires: [[]] },
    ]);
    browser = await Chromium.launch();
    await browser.browserCall("Browser.setDownloadBehavior", { behavior: "allow", downloadPath: downloads });
    await browser.call("Page.navigate", { url: red.url });
    await browser.waitFor("window.RED && RED.nodes && RED.nodes.node('blk')", 30_000);
    await openDialog(3);
  });
  after(async () => {
    await browser?.close();
    await red?.kill();
  });

  it("shows one row per alarm, with the fields its condition uses", async () => {
    assert.deepEqual(
      await browser.evaluate(`${ROWS}.map(function () { return $(this).find('.alarm-mail-block-id').val(); }).get()`),
      ["LT-201-H", "LT-201-HH", "PLC-W1.3"],
    );
    assert.equal(await browser.evaluate(`${field(2, "bit")}.is(':visible') && ${field(2, "bit")}.val()`), "3");
    assert.equal(await browser.evaluate(`${field(2, "setpoint")}.is(':visible')`), false);
    assert.equal(await browser.evaluate(`${field(0, "deadband")}.prop('disabled')`), false);
    assert.equal(
      await browser.evaluate(`${field(2, "deadband")}.prop('disabled')`),
      true,
      "deadband is for high and low",
    );
  });

  it("marks a duplicate id and a setpoint that is not a number where they are, as they are typed", async () => {
    await act(`${field(1, "id")}.val('LT-201-H').trigger('keyup')`);
    await act(`${field(0, "setpoint")}.val('six').trigger('keyup')`);
    assert.equal(await browser.evaluate(`${field(1, "id")}.hasClass('input-error')`), true);
    assert.equal(await browser.evaluate(`${field(1, "id")}.attr('title')`), "Another alarm has this id.");
    assert.equal(await browser.evaluate(`${field(0, "setpoint")}.hasClass('input-error')`), true);
    await act(`${field(1, "id")}.val('LT-201-HH').trigger('keyup')`);
    await act(`${field(0, "setpoint")}.val('6').trigger('keyup')`);
    assert.equal(await browser.evaluate(`$('#alarm-mail-block-alarms .input-error').length`), 0);
  });

  it("adds, removes and reorders rows, and saves the table in the order shown", async () => {
    await act(
      "$('#alarm-mail-block-alarms').closest('.red-ui-editableList').find('.red-ui-editableList-addButton').click()",
    );
    assert.equal(await browser.evaluate(`${ROWS}.length`), 4);
    assert.equal(await browser.evaluate(`${field(3, "id")}.hasClass('input-error')`), true, "a new row needs an id");
    await act(
      `${field(3, "id")}.val('LT-201-L'); ${field(3, "topic")}.val('LT-201'); ${field(3, "condition")}.val('low').trigger('change'); ${field(3, "setpoint")}.val('1,5'.replace(',', '.')).trigger('keyup')`,
    );
    // Remove the bit alarm, then move the new low alarm to the top, as dragging its handle does.
    await act(`${row(2)}.closest('li').find('.red-ui-editableList-item-remove').click()`);
    await browser.waitFor(`${ROWS}.length === 3`);
    await act(`${row(2)}.closest('li').prependTo(${row(0)}.closest('ol'))`);
    await act("$('#node-dialog-ok').click()");
    await browser.waitFor("!$('#node-dialog-ok').is(':visible')");
    const saved =
      await browser.evaluate<Array<{ id: string; setpoint: number; condition: string }>>(
        "RED.nodes.node('blk').alarms",
      );
    assert.deepEqual(
      saved.map((a) => [a.id, a.condition, a.setpoint]),
      [
        ["LT-201-L", "low", 1.5],
        ["LT-201-H", "high", 6],
        ["LT-201-HH", "high", 8],
      ],
    );
    assert.equal(await browser.evaluate("RED.nodes.node('blk').version"), 1);
    assert.equal(await browser.evaluate("RED.nodes.node('blk').valid"), true);
  });

  it("imports a pasted CSV from a French spreadsheet, listing the rows it cannot take", async () => {
    await openDialog(3);
    const csv =
      "id;label;topic;condition;setpoint;deadband;priority;Commentaire\\nA1;Cuve 1 haute;T1;high;6,5;0,5;1;x\\nA2;Cuve 1 basse;T1;low;;;2;y\\n";
    await act(
      `$('#alarm-mail-block-paste').click(); $('#alarm-mail-block-csv').val("${csv}"); $('#alarm-mail-block-import-pasted').click()`,
    );
    await browser.waitFor(`${ROWS}.length === 2`);
    assert.equal(await browser.evaluate(`${field(0, "setpoint")}.val()`), "6.5");
    assert.equal(await browser.evaluate(`${field(1, "setpoint")}.hasClass('input-error')`), true);
    const result = await browser.evaluate<string>("$('.alarm-mail-block-result .form-tips').text()");
    assert.match(result, /2 alarms imported/);
    assert.match(result, /Columns left out: Commentaire/);
    assert.match(result, /Line 3: Alarm A2: setpoint "" is not valid/);
    assert.equal(await browser.evaluate("$('#alarm-mail-block-delimiter').val()"), ";");
  });

  it("exports the table being edited as a CSV file that reads back the same", async () => {
    await act(`${field(1, "setpoint")}.val('2').trigger('keyup')`);
    await act("$('#alarm-mail-block-export').click()");
    const file = join(downloads, "alarms-1.csv");
    const deadline = Date.now() + 10_000;
    while (!existsSync(file) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    const text = readFileSync(file, "utf8");
    assert.equal(
      text,
      "\uFEFFid;label;topic;condition;setpoint;deadband;onDelay;offDelay;priority;ack;bit;latch\r\n" +
        "A1;Cuve 1 haute;T1;high;6,5;0,5;0;0;1;manual;;false\r\n" +
        "A2;Cuve 1 basse;T1;low;2;0;0;0;2;manual;;false\r\n",
    );
  });
});
