import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Locator } from "playwright-core";
import { Editor } from "../support/Editor";
import { NodeRedProcess } from "../support/NodeRedProcess";

const WEEKDAYS = [1, 2, 3, 4, 5];

describe("alarm-mail-escalation's dialog in the Node-RED editor", () => {
  let red: NodeRedProcess;
  let editor: Editor;

  const levels = () => editor.page.locator("#alarm-mail-escalation-levels > li");
  const shifts = () => editor.page.locator("#alarm-mail-escalation-shifts > li");
  /** The levels' groups, top to bottom, as their selects show them. */
  const levelGroups = () =>
    levels()
      .locator(".alarm-mail-escalation-level-group select")
      .evaluateAll((selects) => selects.map((s) => (s as HTMLSelectElement).value));
  const showsRows = (list: string, count: number) =>
    editor.page.waitForFunction(([selector, n]) => document.querySelectorAll(`${selector} > li`).length === n, [
      list,
      count,
    ] as const);
  /** Drags a level by its handle to the top of the table, as a user does. */
  const dragToTop = async (index: number) => {
    const handle = await box(levels().nth(index).locator(".red-ui-editableList-item-handle"));
    const top = await box(levels().nth(0));
    const mouse = editor.page.mouse;
    await mouse.move(handle.x + handle.width / 2, handle.y + handle.height / 2);
    await mouse.down();
    await mouse.move(handle.x + handle.width / 2, top.y + 2, { steps: 20 });
    await mouse.move(handle.x + handle.width / 2, top.y + 1, { steps: 2 });
    await mouse.up();
  };
  const warning = (kind: "gap" | "overlap") =>
    editor.tray().locator(`.alarm-mail-escalation-week .alarm-mail-escalation-${kind}`);

  before(async () => {
    red = await NodeRedProcess.start();
    await red.deploy([
      { id: "tab", type: "tab", label: "editor" },
      { id: "ops", type: "alarm-mail-recipients", name: "Operators", to: "ops@plant.example" },
      { id: "day", type: "alarm-mail-recipients", name: "Day engineer", to: "day@plant.example" },
      { id: "night", type: "alarm-mail-recipients", name: "Night engineer", to: "night@plant.example" },
      {
        id: "esc",
        z: "tab",
        type: "alarm-mail-escalation",
        x: 200,
        y: 100,
        levels: [
          { recipients: "ops", after: 0, repeat: 300_000 },
          { recipients: "roster:on-call", after: 900_000, repeat: 600_000 },
        ],
        rosters: {
          "on-call": [
            { recipients: "day", days: WEEKDAYS, from: "07:00", to: "19:00" },
            { recipients: "night", days: WEEKDAYS, from: "19:00", to: "07:00" },
          ],
        },
        quiet: { from: "", to: "", priority: 1 },
        stopOn: "ack",
        tz: "Europe/Paris",
        wires: [[]],
      },
    ]);
    editor = await Editor.open(red);
  });
  after(async () => {
    await editor?.close();
    await red?.kill();
  });

  it("shows the levels in minutes, the roster's shifts and a week with the weekend uncovered", async () => {
    await editor.openDialog("esc");
    await showsRows("#alarm-mail-escalation-levels", 2);
    await showsRows("#alarm-mail-escalation-shifts", 2);
    assert.deepEqual(await levelGroups(), ["ops", "roster:on-call"]);
    assert.equal(await levels().nth(1).locator(".alarm-mail-escalation-after").inputValue(), "15");
    assert.equal(await levels().nth(1).locator(".alarm-mail-escalation-repeat").inputValue(), "10");
    // Nobody from Saturday 07:00 (the end of Friday's night shift) to Monday 07:00; the week is read from Monday.
    await warning("gap").waitFor();
    assert.equal(
      await warning("gap").textContent(),
      "Roster on-call: nobody on duty 48 h a week, from Mon 00:00 first.",
    );
    assert.equal(await warning("overlap").count(), 0);
    assert.equal(await editor.tray().locator(".alarm-mail-escalation-week td.gap").count(), 96);
  });

  it("warns of an overlap as soon as a shift is changed, and of nothing once the week is covered", async () => {
    const night = shifts().nth(1);
    // The night shift starting at 18:00 overlaps the day shift for an hour on weekdays.
    await night.locator(".alarm-mail-escalation-from").fill("18:00");
    await warning("overlap").waitFor();
    assert.equal(
      await warning("overlap").textContent(),
      "Roster on-call: more than one group on duty 5 h a week, from Mon 18:00 first.",
    );
    await night.locator(".alarm-mail-escalation-from").fill("19:00");
    // Weekend days for both shifts: one group at every hour.
    for (const row of [shifts().nth(0), night]) {
      for (const day of [6, 7]) await row.locator(`.alarm-mail-escalation-day[value='${day}']`).check();
    }
    await editor.tray().locator(".alarm-mail-escalation-week .form-tips").waitFor();
    assert.equal(await warning("gap").count(), 0);
    assert.equal(await warning("overlap").count(), 0);
  });

  it("reorders levels by dragging, refuses a level that does not come later, and saves in ms", async () => {
    await editor.tray().locator(".red-ui-editableList-addButton").first().click();
    await showsRows("#alarm-mail-escalation-levels", 3);
    const third = levels().nth(2);
    await third.locator(".alarm-mail-escalation-level-group select").selectOption("night");
    await third.locator(".alarm-mail-escalation-after").fill("5");
    // Dragged to the top, the new level (5 min) would come before the operators (0): then the operators go back up.
    await dragToTop(2);
    assert.deepEqual(await levelGroups(), ["night", "ops", "roster:on-call"]);
    await dragToTop(1);
    assert.deepEqual(await levelGroups(), ["ops", "night", "roster:on-call"]);
    await editor.done();
    const saved = await editor.page.evaluate(() => {
      const node = window.RED.nodes.node("esc") as unknown as { levels: unknown; rosters: unknown; valid?: boolean };
      return { levels: node.levels, rosters: node.rosters, valid: node.valid };
    });
    assert.deepEqual(saved.levels, [
      { recipients: "ops", after: 0, repeat: 300_000 },
      { recipients: "night", after: 300_000, repeat: 0 },
      { recipients: "roster:on-call", after: 900_000, repeat: 600_000 },
    ]);
    assert.deepEqual(
      (saved.rosters as Record<string, Array<{ days: number[] }>>)["on-call"][0].days,
      [1, 2, 3, 4, 5, 6, 7],
    );
    assert.equal(saved.valid, true);

    // A level that comes no later than the one before makes the node invalid.
    await editor.openDialog("esc");
    await showsRows("#alarm-mail-escalation-levels", 3);
    await levels().nth(1).locator(".alarm-mail-escalation-after").fill("20");
    await editor.done();
    assert.equal(await editor.marked("esc"), true);
    assert.equal(await editor.page.evaluate(() => window.RED.nodes.node("esc")?.valid), false);
  });

  it("leaves a picture of the dialog for the README", async () => {
    await editor.page.setViewportSize({ width: 1440, height: 1000 });
    await editor.openDialog("esc");
    await levels().nth(1).locator(".alarm-mail-escalation-after").fill("5");
    await shifts().nth(1).locator(".alarm-mail-escalation-day[value='7']").uncheck();
    await warning("gap").waitFor();
    await editor.screenshot("alarm-mail-escalation-dialog");
    await editor.cancel();
  });
});

async function box(locator: Locator): Promise<{ x: number; y: number; width: number; height: number }> {
  const found = await locator.boundingBox();
  if (!found) throw new Error(`${locator.toString()} is not on the screen`);
  return found;
}
