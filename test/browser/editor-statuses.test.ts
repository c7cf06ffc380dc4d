import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { HIGH } from "../support/alarms";
import { Editor } from "../support/Editor";
import { NodeRedProcess } from "../support/NodeRedProcess";

/** A text of a node's catalogue in `language`. */
function text(language: string, type: string, key: string): string {
  const catalogue = JSON.parse(
    readFileSync(join(__dirname, "..", "..", "locales", language, `${type}.json`), "utf8"),
  ) as Record<string, unknown>;
  return String(key.split(".").reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], catalogue));
}

/**
 * Statuses as a person in Lyon reads them under the nodes, with the runtime in English: what has no number is a
 * catalogue key that the editor shows in French; what counts is said in the runtime's language, in under 20
 * characters either way.
 */
describe("statuses in the editor user's language", () => {
  let red: NodeRedProcess;

  before(async () => {
    red = await NodeRedProcess.start({ lang: "en-US" });
    await red.deploy([
      { id: "tab", type: "tab", label: "statuses" },
      { id: "send", z: "tab", type: "alarm-mail-send", server: "", x: 200, y: 100, wires: [[], []] },
      {
        id: "block",
        z: "tab",
        type: "alarm-mail-block",
        block: 1,
        alarms: [HIGH, { ...HIGH, id: "TT-1-L", topic: "TT-1", condition: "low", setpoint: "" }],
        x: 200,
        y: 200,
        wires: [[]],
      },
      { id: "clean", z: "tab", type: "alarm-mail-block", block: 2, alarms: [HIGH], x: 200, y: 300, wires: [[]] },
    ]);
  });
  after(async () => {
    await red?.kill();
  });

  it("a French editor shows the fixed statuses in French and the counts in the runtime's English", async () => {
    const editor = await Editor.open(red, { locale: "fr" });
    try {
      const config = text("fr", "alarm-mail-server", "alarm-mail-server.status.config");
      const refused = text("fr", "alarm-mail-block", "alarm-mail-block.status.refused");
      assert.equal(await editor.status("send", new RegExp(`^${config}$`)), config);
      assert.equal(await editor.status("block", new RegExp(`^${refused}$`)), refused);
      assert.equal(await editor.status("clean", /active/), "0 active, 0 unack");
      for (const id of ["send", "block", "clean"]) {
        const shown = await editor.node(id).locator(".red-ui-flow-node-status-label").textContent();
        assert.ok((shown ?? "").length < 20, `${id}: ${shown}`);
      }
    } finally {
      await editor.close();
    }
  });
});
