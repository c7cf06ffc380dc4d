import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Editor } from "../support/Editor";
import { NodeRedProcess } from "../support/NodeRedProcess";

const EXAMPLES = join(__dirname, "..", "..", "examples");
const names = readdirSync(EXAMPLES)
  .filter((file) => file.endsWith(".json"))
  .map((file) => file.slice(0, -".json".length))
  .sort();

/**
 * Every example, as a user gets it: Import > Examples > @alarm-mail/node-red in the editor's main menu, into a new
 * flow, then Deploy. An example must arrive whole and valid, so that the editor deploys it without asking to confirm
 * nodes that are not properly configured.
 */
describe("Import > Examples in the Node-RED editor", () => {
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

  for (const name of names) {
    it(name, async () => {
      const flow = JSON.parse(readFileSync(join(EXAMPLES, `${name}.json`), "utf8")) as Array<{ type: string }>;
      const ids = await editor.importExample(name);
      const imported = await editor.page.evaluate(
        (found) => found.map((id) => window.RED.nodes.node(id)).map((n) => ({ type: n?.type, valid: n?.valid })),
        ids,
      );
      const onFlow = flow.filter((n) => !["alarm-mail-server", "alarm-mail-recipients"].includes(n.type));
      assert.deepEqual(imported.map((n) => n.type).sort(), onFlow.map((n) => n.type).sort(), "every node arrived");
      assert.deepEqual(
        imported.filter((n) => n.valid === false),
        [],
        "no node is marked as not properly configured",
      );
      await editor.deploy();
    });
  }
});
