import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { findChromium } from "../../nodes/lib/screenshot/Screenshotter";
import { Editor } from "../support/Editor";
import { NodeRedProcess } from "../support/NodeRedProcess";

const PLUGIN = "alarm-mail-outbox";

/** A text of the plugin's own catalogue in a language. */
function text(language: string, key: string): string {
  const file = join(__dirname, "..", "..", "locales", language, `${PLUGIN}.json`);
  const catalogue = JSON.parse(readFileSync(file, "utf8")) as Record<string, Record<string, string>>;
  return catalogue[PLUGIN][key];
}

/** The part of the editor's plugin registry the test reads. */
type PluginRegistry = { plugins: { getPlugin(id: string): { type?: string } | undefined } };

/**
 * The outbox sidebar is an editor plugin of the package, not part of the server node's editor script: Node-RED lists
 * it as a plugin, and its tab is there, in the editor's language, on a Node-RED where no server node was ever deployed
 * nor dragged onto the workspace.
 */
describe("the outbox sidebar plugin", { skip: findChromium().path ? false : "no Chromium here" }, () => {
  let red: NodeRedProcess;

  before(async () => {
    red = await NodeRedProcess.start();
  });
  after(async () => {
    await red?.kill();
  });

  it("is registered with the runtime as a plugin of the package", async () => {
    const res = await red.request("GET", "/plugins");
    assert.equal(res.status, 200);
    const list = (await res.json()) as Array<{
      id: string;
      module: string;
      err?: string;
      plugins?: Array<{ id: string }>;
    }>;
    const ours = list.find((entry) => entry.id === `@alarm-mail/node-red/${PLUGIN}`);
    assert.ok(ours, `plugins: ${list.map((entry) => entry.id).join(", ")}`);
    assert.equal(ours.module, "@alarm-mail/node-red");
    assert.equal(ours.err, undefined);
    assert.deepEqual(
      ours.plugins?.map((p) => p.id),
      [PLUGIN],
    );
  });

  for (const language of ["en-US", "fr"]) {
    it(`adds its tab to the sidebar with no server node, in ${language}`, async () => {
      const editor = await Editor.open(red, { locale: language });
      try {
        const page = editor.page;
        const servers = await page.evaluate(() => {
          let count = 0;
          window.RED.nodes.eachConfig((node) => {
            if (node.type === "alarm-mail-server") count++;
          });
          return count;
        });
        assert.equal(servers, 0, "no server node in the editor");
        const type = await page.evaluate(
          (id) => (window as unknown as { RED: PluginRegistry }).RED.plugins.getPlugin(id)?.type,
          PLUGIN,
        );
        assert.equal(type, "alarm-mail-sidebar", "the editor holds the plugin");

        const sidebar = await editor.sidebar(PLUGIN);
        await sidebar.locator(".alarm-mail-outbox-message", { hasText: text(language, "empty") }).waitFor();
        assert.equal(await sidebar.locator(".alarm-mail-outbox-server").count(), 0);
        assert.equal(
          await sidebar.locator(".alarm-mail-outbox-bar button").getAttribute("title"),
          text(language, "refresh"),
        );
      } finally {
        await editor.close();
      }
    });
  }
});
