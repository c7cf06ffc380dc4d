import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Editor } from "../support/Editor";
import { NodeRedProcess } from "../support/NodeRedProcess";

const catalogue = (language: string, node: string) =>
  (
    JSON.parse(readFileSync(join(__dirname, "..", "..", "locales", language, `${node}.json`), "utf8")) as Record<
      string,
      never
    >
  )[node] as { paletteLabel: string; label: Record<string, string> };

/** The first three headings of a node's help, as test/locales.test.ts requires them in each language. */
const HELP: Record<string, string[]> = {
  fr: ["Entrées", "Sorties", "Détails"],
  de: ["Eingangsdaten", "Ausgangsdaten", "Details"],
  ro: ["Intrări", "Ieșiri", "Detalii"],
};

/** The palette wraps long labels with breaks and hyphens of its own. */
const squeeze = (text: string | null) => (text ?? "").replace(/[\s\u00ad-]+/g, "");

/**
 * The editor in the browser's language, as a user in Lyon, Munich or Cluj opens it: the palette, the dialog and the
 * help of the package's nodes are in that language, from its own catalogues.
 */
describe("the editor in French, German and Romanian", () => {
  let red: NodeRedProcess;

  before(async () => {
    red = await NodeRedProcess.start();
  });
  after(async () => {
    await red?.kill();
  });

  it("serves the editor scripts the dialogs load from resources/", async () => {
    for (const script of ["alarm-mail-editor.js", "alarm-mail-server-oauth.js"]) {
      const response = await fetch(`${red.url}/resources/@alarm-mail/node-red/${script}`);
      assert.equal(response.status, 200, script);
      assert.match(response.headers.get("content-type") ?? "", /javascript/, script);
    }
  });

  for (const language of Object.keys(HELP)) {
    it(language, async () => {
      const editor = await Editor.open(red, { locale: language });
      try {
        const send = catalogue(language, "alarm-mail-send");
        const palette = editor.page.locator(".red-ui-palette-node[data-palette-type='alarm-mail-send']");
        assert.equal(squeeze(await palette.locator(".red-ui-palette-label").textContent()), squeeze(send.paletteLabel));
        for (const node of ["alarm-mail-block", "alarm-mail-screenshot", "alarm-mail-trace", "alarm-mail-csv"]) {
          const entry = editor.page.locator(`.red-ui-palette-node[data-palette-type='${node}'] .red-ui-palette-label`);
          assert.equal(squeeze(await entry.textContent()), squeeze(catalogue(language, node).paletteLabel), node);
        }

        const id = await editor.drag("alarm-mail-send", 300, 200);
        await editor.node(id).locator(".red-ui-flow-node").click();
        const headings = (await editor.sidebar("help")).locator(".red-ui-help h3");
        await headings.first().waitFor();
        assert.deepEqual((await headings.allTextContents()).slice(0, 3), HELP[language]);

        const tray = await editor.openDialog(id);
        assert.equal((await tray.locator("label[for='node-input-server']").textContent())?.trim(), send.label.server);
        assert.equal(
          (await tray.locator("label[for='node-input-recipients']").textContent())?.trim(),
          send.label.recipients,
        );
        await editor.screenshot(`alarm-mail-send-dialog-${language}`);
        await editor.cancel();
      } finally {
        await editor.close();
      }
    });
  }
});
