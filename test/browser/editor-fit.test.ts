import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Locator } from "playwright-core";
import { HIGH, HIGH_HIGH } from "../support/alarms";
import { Editor } from "../support/Editor";
import { cutTexts, type Cut } from "../support/layout";
import { NodeRedProcess } from "../support/NodeRedProcess";

const LANGUAGES = ["en-US", "fr", "de", "ro"];

/** The palette category's name in a language, from the send node's catalogue (Node-RED reads it there). */
const category = (language: string) =>
  (
    JSON.parse(readFileSync(join(__dirname, "..", "..", "locales", language, "alarm-mail-send.json"), "utf8")) as {
      palette: { label: { alarm_mail: string } };
    }
  ).palette.label.alarm_mail;

/** One node of every kind on a flow, with the two config nodes the send node uses. */
const FLOW = [
  { id: "tab", type: "tab", label: "fit" },
  { id: "srv", type: "alarm-mail-server", host: "127.0.0.1", port: 2525, security: "none", auth: "none" },
  { id: "grp", type: "alarm-mail-recipients", name: "Operators", to: "operator@plant.example" },
  { id: "blk", z: "tab", type: "alarm-mail-block", block: "1", alarms: [HIGH, HIGH_HIGH], x: 150, y: 60, wires: [[]] },
  { id: "snd", z: "tab", type: "alarm-mail-send", server: "srv", recipients: "grp", x: 400, y: 60, wires: [[], []] },
  { id: "csv", z: "tab", type: "alarm-mail-csv", source: "active", block: "blk", x: 150, y: 140, wires: [[]] },
  { id: "shot", z: "tab", type: "alarm-mail-screenshot", x: 400, y: 140, wires: [[]] },
  { id: "trc", z: "tab", type: "alarm-mail-trace", x: 150, y: 220, wires: [[]] },
  { id: "rep", z: "tab", type: "alarm-mail-report", block: "blk", x: 400, y: 220, wires: [[]] },
  { id: "chg", z: "tab", type: "change", rules: [], x: 150, y: 300, wires: [[]] },
];

/**
 * Node-RED opens an edit dialog 500 px wide, as wide as a core change node's, unless what it holds is wider as it
 * opens; a vertical scroll bar may add a few pixels. The sidebar is 315 px wide until a person drags it wider.
 */
const SCROLL_BAR = 10;
const SIDEBAR_WIDTH = 315;

const show = (where: string, cuts: Cut[]) =>
  cuts.map((cut) => `${where}: "${cut.text}" needs ${cut.needs}px, has ${cut.has}px (${cut.what})`);

/**
 * A person opens every dialog of the package, and every tab of each, in English, French, German and Romanian, at
 * the width Node-RED gives a dialog and the sidebar before anyone widens them. No label, tab, button or choice is
 * cut short or runs over its neighbour, and the palette names the package's category in the editor's language.
 */
describe("every dialog fits at Node-RED's default width, in four languages", () => {
  let red: NodeRedProcess;

  before(async () => {
    red = await NodeRedProcess.start();
    await red.deploy(FLOW);
  });
  after(async () => {
    await red?.kill();
  });

  for (const language of LANGUAGES) {
    it(language, async () => {
      const editor = await Editor.open(red, { locale: language });
      const problems: string[] = [];
      try {
        const header = editor.page.locator("#red-ui-palette-header-alarm_mail span");
        assert.equal((await header.textContent())?.trim(), category(language), "the palette category");

        const widthOf = (tray: Locator) => tray.evaluate((el) => Math.round(el.getBoundingClientRect().width));
        const core = await widthOf(await editor.openDialog("chg"));
        await editor.cancel();

        /** Measures the open dialog, tab by tab. */
        const measure = async (tray: Locator, name: string) => {
          const width = await widthOf(tray);
          if (width > core + SCROLL_BAR) problems.push(`${name} opens ${width}px wide, a change node's ${core}px`);
          const form = tray.locator(".red-ui-tray-body form").first();
          const tabs = await form
            .locator("ul.red-ui-tabs li a.red-ui-tab-label")
            .evaluateAll((links) =>
              links
                .filter((a) => (a as HTMLElement).offsetParent !== null)
                .map((a) => a.id.replace(/^red-ui-tab-/, "")),
            );
          problems.push(...show(name, await cutTexts(form)));
          for (const tab of tabs.slice(1)) {
            await editor.tab(tab);
            problems.push(...show(`${name} › ${tab}`, await cutTexts(form)));
          }
        };

        for (const id of ["blk", "csv", "shot", "trc", "rep", "snd"]) {
          const type = FLOW.find((n) => n.id === id)?.type ?? id;
          await measure(await editor.openDialog(id), type);
          if (id !== "snd") await editor.cancel();
        }
        // The config nodes, from the send node's dialog, by the pencil beside each choice.
        for (const [field, type] of [
          ["server", "alarm-mail-server"],
          ["recipients", "alarm-mail-recipients"],
        ]) {
          await editor.tray().locator(`#node-input-btn-${field}-edit`).click();
          // The send node's dialog slides away and the config node's takes its place.
          await editor.page.locator("#node-config-input-name").waitFor();
          await measure(await editor.settled(), type);
          await editor.cancel();
        }
        await editor.cancel();

        const sidebar = await editor.sidebar("alarm-mail-outbox");
        const bar = editor.page.locator("#red-ui-sidebar");
        assert.ok((await bar.evaluate((el) => el.getBoundingClientRect().width)) <= SIDEBAR_WIDTH + 2);
        for (const names of await (await editor.sidebarTabNames()).all()) {
          problems.push(...show("sidebar tabs", await cutTexts(names)));
        }
        problems.push(...show("outbox", await cutTexts(sidebar)));
        await editor.screenshot(`alarm-mail-outbox-tab-${language}`, bar);
      } finally {
        await editor.close();
      }
      assert.deepEqual(problems, []);
    });
  }
});
