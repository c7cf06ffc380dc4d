import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Editor } from "../support/Editor";
import { NodeRedProcess } from "../support/NodeRedProcess";
import { smtpServer } from "../support/smtp";

const OURS = [
  "alarm-mail-block",
  "alarm-mail-send",
  "alarm-mail-csv",
  "alarm-mail-screenshot",
  "alarm-mail-trace",
  "alarm-mail-report",
];

/** A person who knows Node-RED but not this package, with one server and one recipient group already set up. */
describe("the first hour in the editor", () => {
  let red: NodeRedProcess;
  let editor: Editor;

  before(async () => {
    red = await NodeRedProcess.start();
    await red.deploy([
      { id: "tab", type: "tab", label: "plant" },
      smtpServer("srv", 2525),
      { id: "grp", type: "alarm-mail-recipients", name: "Operators", to: "operator@plant.example" },
      { id: "blk", z: "tab", type: "alarm-mail-block", block: "1", alarms: [], x: 120, y: 60, wires: [[]] },
    ]);
    editor = await Editor.open(red);
  });
  after(async () => {
    await editor?.close();
    await red?.kill();
  });

  it("tells the package's nodes apart in the palette, by name and icon, from each other and from the core csv node", async () => {
    const entry = (type: string) => editor.page.locator(`.red-ui-palette-node[data-palette-type='${type}']`);
    const icons = await Promise.all(
      OURS.map((type) => entry(type).locator(".red-ui-palette-icon-container").getAttribute("data-palette-icon")),
    );
    assert.equal(new Set(icons).size, OURS.length, `icons: ${icons.join(", ")}`);
    const names = await Promise.all(OURS.map((type) => entry(type).getAttribute("data-palette-label")));
    assert.equal(new Set(names).size, OURS.length);
    assert.notEqual(await entry("alarm-mail-csv").getAttribute("data-palette-label"), "csv");
  });

  it("gives a new send node the only server and the only recipient group", async () => {
    const id = await editor.drag("alarm-mail-send", 300, 200);
    const node = await editor.page.evaluate((sent) => window.RED.nodes.node(sent), id);
    assert.equal(node?.server, "srv");
    assert.equal(node?.recipients, "grp");
    await editor.page.waitForFunction((sent) => window.RED.nodes.node(sent)?.valid === true, id);
    assert.equal(await editor.marked(id), false, "not marked as unconfigured");
    const tray = await editor.openDialog(id);
    assert.equal(await tray.locator("#node-input-server").inputValue(), "srv");
    await editor.cancel();

    const csv = await editor.drag("alarm-mail-csv", 300, 400);
    assert.equal(await editor.page.evaluate((added) => window.RED.nodes.node(added)?.block, csv), "blk");
  });

  it("names every bad address of a recipient group in the runtime's words; examples read as examples", async () => {
    const id = await editor.drag("alarm-mail-send", 300, 300);
    await editor.openDialog(id);
    await editor.tray().locator("#node-input-btn-recipients-edit").click();
    const to = editor.page.locator("#node-config-input-to");
    await to.waitFor();
    assert.match((await to.getAttribute("placeholder")) ?? "", /^e\.g\. /, "an example, not a value");
    await to.fill("operator@plant.example, maintenance at plant, night@");
    await to.press("Tab");
    assert.equal(await editor.invalid(to), true);
    await to.hover();
    const tip = editor.page.locator(".red-ui-popover").filter({ hasText: "not valid" });
    await tip.waitFor();
    assert.equal(
      (await tip.textContent())?.trim(),
      'To: "maintenance at plant", "night@" are not valid e-mail addresses.',
    );
    await editor.cancel();
    await editor.cancel();
  });
});
