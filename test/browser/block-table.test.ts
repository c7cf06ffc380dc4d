import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Locator } from "playwright-core";
import { HIGH } from "../support/alarms";
import { Editor } from "../support/Editor";
import { cutTexts, overlaps } from "../support/layout";
import { NodeRedProcess } from "../support/NodeRedProcess";

/** Fifty alarms of a plant: a high alarm on each of fifty levels, with long labels as a plant writes them. */
const FIFTY = Array.from({ length: 50 }, (_, i) => ({
  ...HIGH,
  id: `LT-${201 + i}-H`,
  label: `Basin ${i + 1} bacteria level high`,
  topic: `LT-${201 + i}`,
  setpoint: 6 + i / 10,
}));

/**
 * A person opens an alarm block with fifty alarms at the width Node-RED gives a dialog, reads the table, then makes
 * the usual mistake of a half-filled row.
 */
describe("the alarm table at Node-RED's default dialog width", () => {
  let red: NodeRedProcess;
  let editor: Editor;

  const rows = () => editor.page.locator("#alarm-mail-block-alarms > li");
  const field = (i: number, name: string) => rows().nth(i).locator(`.alarm-mail-block-${name}`);

  before(async () => {
    red = await NodeRedProcess.start();
    await red.deploy([
      { id: "tab", type: "tab", label: "plant" },
      { id: "blk", z: "tab", type: "alarm-mail-block", block: "1", alarms: FIFTY, x: 200, y: 100, wires: [[]] },
      { id: "chg", z: "tab", type: "change", rules: [], x: 200, y: 200, wires: [[]] },
    ]);
    editor = await Editor.open(red);
  });
  after(async () => {
    await editor?.close();
    await red?.kill();
  });

  it("opens as wide as a core node's dialog and shows many of the fifty alarms, one readable line each", async () => {
    const width = (tray: Locator) => tray.evaluate((el) => Math.round(el.getBoundingClientRect().width));
    const core = await width(await editor.openDialog("chg"));
    await editor.cancel();

    const tray = await editor.openDialog("blk");
    await editor.page.waitForFunction(() => document.querySelectorAll("#alarm-mail-block-alarms > li").length === 50);
    assert.ok(
      (await width(tray)) <= core + 10,
      `the dialog opens ${await width(tray)}px wide, a change node's ${core}`,
    );

    const list = tray.locator(".red-ui-editableList-container");
    // It opens on the first alarms: Node-RED's list scrolls to each row it adds, a tick later; those ticks pass.
    await editor.page.waitForTimeout(300);
    assert.deepEqual(
      await list.evaluate((container) => ({
        top: container.scrollTop,
        overflow: container.scrollHeight > container.clientHeight,
      })),
      { top: 0, overflow: true },
    );
    const shown = await list.evaluate((container) => {
      const view = container.getBoundingClientRect();
      return Array.from(container.querySelectorAll("#alarm-mail-block-alarms > li")).filter((li) => {
        const row = li.getBoundingClientRect();
        return row.top >= view.top && row.bottom <= view.bottom;
      }).length;
    });
    assert.ok(shown >= 8, `only ${shown} whole rows are shown`);

    // Each alarm's id, label, topic, condition, setpoint and priority on one line, none over another, none cut.
    const first = rows().first();
    const line = first.locator(".alarm-mail-block-line");
    const top = await line
      .locator("input:visible, select:visible")
      .evaluateAll((els) => els.map((el) => Math.round(el.getBoundingClientRect().top)));
    assert.equal(new Set(top).size, 1, `the row's fields are on ${new Set(top).size} lines`);
    assert.deepEqual(await overlaps(first, "input, select, button"), []);
    assert.deepEqual(await cutTexts(tray.locator(".alarm-mail-block-table-row")), []);
    assert.equal(await field(0, "setpoint").inputValue(), "6");
    assert.equal(await field(0, "deadband").isVisible(), false, "the details wait until asked for");

    // The header's captions stand over their columns.
    const left = async (selector: string) =>
      tray
        .locator(selector)
        .first()
        .evaluate((el) => Math.round(el.getBoundingClientRect().left));
    for (const column of ["id", "label", "topic"]) {
      assert.ok(
        Math.abs(
          (await left(`.alarm-mail-block-header .alarm-mail-block-cell-${column}`)) -
            (await left(`#alarm-mail-block-alarms .alarm-mail-block-cell-${column}`)),
        ) <= 1,
        column,
      );
    }

    // Details on demand: the row's deadband, delays, acknowledgement and latching, readable in full.
    await rows().first().locator(".alarm-mail-block-more").click();
    assert.equal(await field(0, "deadband").inputValue(), "0.5");
    assert.equal(await field(0, "ack").isVisible(), true);
    assert.deepEqual(await cutTexts(rows().first()), []);
    assert.deepEqual(await overlaps(rows().first(), "input, select, button"), []);
    await editor.screenshot("alarm-mail-block-dialog-fifty");
    await editor.cancel();
  });

  it("says on a half-filled row which field is wrong and why, before deploy", async () => {
    await editor.openDialog("blk");
    await editor.tray().locator(".red-ui-editableList-addButton").click();
    const last = 50;
    await rows().nth(last).waitFor();
    await field(last, "id").fill("LT-301-H");
    await field(last, "topic").fill("LT-301");
    await field(last, "topic").press("Tab");
    // The setpoint is left empty, as a person does who means to come back to it.
    const problem = rows().nth(last).locator(".alarm-mail-block-problem");
    await problem.waitFor();
    assert.equal(await problem.textContent(), "Setpoint: Enter the setpoint, a number.");
    assert.equal(await editor.invalid(field(last, "setpoint")), true);
    assert.equal(await rows().nth(0).locator(".alarm-mail-block-problem").isVisible(), false, "a valid row");

    // A wrong value in the details opens them, so that the marked field is in sight.
    await field(0, "condition").selectOption("high");
    await rows().first().locator(".alarm-mail-block-more").click();
    await field(0, "onDelay").fill("soon");
    await field(0, "onDelay").press("Tab");
    await rows().first().locator(".alarm-mail-block-more").click();
    assert.equal(await field(0, "onDelay").isVisible(), true, "the details stay open on a wrong value");
    assert.equal(
      await rows().nth(0).locator(".alarm-mail-block-problem").textContent(),
      "On delay (ms): Enter a number of 0 or more, or leave it empty for 0.",
    );

    await editor.done();
    assert.equal(await editor.marked("blk"), true, "the node is marked as not properly configured");
    const listed = await editor.tryDeploy();
    assert.equal(listed.length, 1);
  });
});
