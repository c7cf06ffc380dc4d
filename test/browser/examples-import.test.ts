import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Editor } from "../support/Editor";
import { NodeRedProcess } from "../support/NodeRedProcess";

/**
 * A person tries one example, then another: both use the mail server that `npm start` captures. The examples share
 * that server's id, so Node-RED recognises it: it asks once, and "Import copy" copies the flow but keeps the one
 * server, instead of adding a near-duplicate to the configuration nodes.
 */
describe("importing a second example", () => {
  let red: NodeRedProcess;
  let editor: Editor;

  before(async () => {
    red = await NodeRedProcess.start();
    editor = await Editor.open(red);
  });
  after(async () => {
    await editor?.close();
    await red?.kill();
  });

  const servers = () =>
    editor.page.evaluate(() => {
      const found: string[] = [];
      window.RED.nodes.eachConfig((node) => {
        if (node.type === "alarm-mail-server") found.push(node.id);
      });
      return found;
    });

  it("keeps the one capture server that the first one added", async () => {
    await editor.importExample("Send a mail on alarm");
    const first = await servers();
    assert.equal(first.length, 1);

    // The second example, through the same menu: Node-RED says that its server already exists, and the person
    // takes "Import copy" (Editor.importExample does).
    await editor.importExample("Alarm history as CSV");
    assert.deepEqual(await servers(), first, "still one server");
    const used = await editor.page.evaluate(() =>
      window.RED.nodes.filterNodes({ type: "alarm-mail-send" }).map((node) => String(node.server)),
    );
    assert.deepEqual(used, [first[0], first[0]], "both examples' send nodes use it");
  });
});
