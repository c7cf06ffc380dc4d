import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Chromium, CHROMIUM } from "./support/Chromium";
import { NodeRedProcess } from "./support/NodeRedProcess";

let browser: Chromium;

/** Does something in the page, as a click or typing would. */
const act = (statements: string) => browser.evaluate(`(function () { ${statements}; })()`);

/** Opens a node's dialog, as a double click does, asking again until the editor has settled and shows `ready`. */
const openDialog = (id: string, ready: string) =>
  browser.waitFor(
    `(function () {
      if ($('.red-ui-tray').length === 0) RED.editor.edit(RED.nodes.node('${id}'));
      return ${ready};
    })()`,
    30_000,
  );

const save = async () => {
  await act("$('#node-dialog-ok').click()");
  await browser.waitFor("$('.red-ui-tray').length === 0");
};

const COLUMNS = "$('#alarm-mail-csv-columns input[data-column]')";
const columnKeys = () =>
  browser.evaluate<string[]>(`${COLUMNS}.map(function () { return $(this).attr('data-column'); }).get()`);

describe(
  "alarm-mail-csv and alarm-mail-trace dialogs in the Node-RED editor",
  { skip: CHROMIUM ? false : "no Chromium here" },
  () => {
    let red: NodeRedProcess;

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
      browser = await Chromium.launch();
      await browser.call("Page.navigate", { url: red.url });
      await browser.waitFor("window.RED && RED.nodes && RED.nodes.node('csv')", 30_000);
    });
    after(async () => {
      await browser?.close();
      await red?.kill();
    });

    it("marks a CSV node without its block as invalid", async () => {
      assert.equal(await browser.evaluate("RED.nodes.node('bad').valid"), false);
      assert.equal(await browser.evaluate("RED.nodes.node('csv').valid"), true);
    });

    it("offers the blocks of the flow and one ticked box per column of the source, with localised labels", async () => {
      await openDialog("csv", `${COLUMNS}.length === 8`);
      assert.equal(await browser.evaluate("$('#node-input-block').val()"), "blk");
      assert.equal(await browser.evaluate("$('#node-input-block option:selected').text()"), "Basin 2");
      assert.deepEqual(await columnKeys(), ["time", "event", "id", "label", "priority", "state", "value", "user"]);
      assert.equal(await browser.evaluate(`${COLUMNS}.filter(':checked').length`), 8);
      assert.equal(await browser.evaluate("$('#alarm-mail-csv-columns span').first().text()"), "Time");
      assert.equal(await browser.evaluate("$('#node-input-bom').prop('checked')"), true, "BOM on by default");
      await act(`${COLUMNS}.filter('[data-column=event], [data-column=state]').prop('checked', false)`);
      await save();
      assert.deepEqual(await browser.evaluate("RED.nodes.node('csv').columns"), [
        "time",
        "id",
        "label",
        "priority",
        "value",
        "user",
      ]);
    });

    it("a trace source shows the columns of the trace's mode; a decimal comma moves the delimiter to ;", async () => {
      await openDialog("csv", `${COLUMNS}.length === 8`);
      await act("$('#node-input-source').val('trace').trigger('change')");
      await act("$('#node-input-trace').val('ops').trigger('change')");
      assert.deepEqual(await columnKeys(), ["time", "user", "control", "previous", "value"]);
      assert.equal(await browser.evaluate(`${COLUMNS}.filter(':checked').length`), 5, "a new source starts all ticked");
      assert.equal(await browser.evaluate("$('#node-input-block').is(':visible')"), false);
      await act("$('#node-input-decimalComma').prop('checked', true).trigger('change')");
      assert.equal(await browser.evaluate("$('#node-input-delimiter').val()"), ";");
      assert.equal(await browser.evaluate("$('.alarm-mail-csv-decimal-tip').is(':visible')"), true);
      await act("$('#node-input-delimiter').val('\\t').trigger('change')");
      await act("$('#node-input-range').val('rows').trigger('change')");
      assert.equal(await browser.evaluate("$('#node-input-count').is(':visible')"), true);
      await save();
      const node = await browser.evaluate<Record<string, unknown>>(
        "(function (n) { return { source: n.source, trace: n.trace, delimiter: n.delimiter, decimalComma: n.decimalComma, columns: n.columns, range: n.range, valid: n.valid }; })(RED.nodes.node('csv'))",
      );
      assert.deepEqual(node, {
        source: "trace",
        trace: "ops",
        delimiter: "\t",
        decimalComma: true,
        columns: [],
        range: "rows",
        valid: true,
      });
    });

    it("the trace dialog shows the rows of its mode, and its output can be removed", async () => {
      await openDialog("ops", "$('#node-input-mode').length === 1");
      assert.equal(await browser.evaluate("$('.alarm-mail-trace-operator').is(':visible')"), true);
      assert.equal(await browser.evaluate("$('#node-input-sampling').is(':visible')"), false);
      await act("$('#node-input-mode').val('samples').trigger('change')");
      await act("$('#node-input-sampling').val('interval').trigger('change')");
      assert.equal(await browser.evaluate("$('#node-input-interval').is(':visible')"), true);
      await act("$('#node-input-interval').val('0').trigger('change')");
      assert.equal(await browser.evaluate("$('#node-input-interval').hasClass('input-error')"), true);
      await act("$('#node-input-interval').val('5').trigger('change')");
      await act("$('#alarm-mail-trace-output').prop('checked', false).trigger('change')");
      await save();
      const node = await browser.evaluate<Record<string, unknown>>(
        "(function (n) { return { mode: n.mode, sampling: n.sampling, interval: n.interval, outputs: n.outputs }; })(RED.nodes.node('ops'))",
      );
      assert.deepEqual(node, { mode: "samples", sampling: "interval", interval: "5", outputs: 0 });
    });
  },
);
