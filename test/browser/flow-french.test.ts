import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { SmtpSink } from "../../dev/SmtpSink";
import { HIGH } from "../support/alarms";
import { Editor } from "../support/Editor";
import { NodeRedProcess } from "../support/NodeRedProcess";
import { Sinks } from "../support/smtp";

/**
 * An engineer in Lyon: a level into an alarm block, its events mailed to the shift, in a French editor. The palette
 * names the package's category in French, the value raises the alarm, and the README shows the flow with its
 * statuses.
 */
describe("a French flow with its statuses", () => {
  const sinks = new Sinks();
  let sink: SmtpSink;
  let red: NodeRedProcess;
  let editor: Editor;

  before(async () => {
    sink = await sinks.start();
    red = await NodeRedProcess.start({ lang: "fr" });
    await red.deploy([
      { id: "tab", type: "tab", label: "Bassin 2" },
      {
        id: "srv",
        type: "alarm-mail-server",
        name: "Relais de l'usine",
        host: "127.0.0.1",
        port: sink.port,
        security: "none",
        auth: "none",
        from: "passerelle@usine.example",
      },
      { id: "grp", type: "alarm-mail-recipients", name: "Équipe de quart", to: "quart@usine.example" },
      {
        id: "lvl",
        z: "tab",
        type: "inject",
        name: "Niveau 7,5",
        topic: "LT-201",
        payload: "7.5",
        payloadType: "num",
        props: [{ p: "payload" }, { p: "topic", vt: "str" }],
        repeat: "",
        crontab: "",
        once: false,
        onceDelay: 0.1,
        x: 130,
        y: 80,
        wires: [["blk"]],
      },
      {
        id: "blk",
        z: "tab",
        type: "alarm-mail-block",
        name: "Alarmes bassin 2",
        block: "2",
        alarms: [{ ...HIGH, label: "Niveau bactéries bassin 2 haut" }],
        x: 340,
        y: 80,
        wires: [["snd"]],
      },
      {
        id: "snd",
        z: "tab",
        type: "alarm-mail-send",
        name: "Mail au quart",
        server: "srv",
        recipients: "grp",
        x: 560,
        y: 80,
        wires: [[], []],
      },
    ]);
    editor = await Editor.open(red, { locale: "fr" });
  });
  after(async () => {
    await editor?.close();
    await red?.kill();
    await sinks.closeAll();
  });

  it("raises the alarm and mails it, the palette and the flow in French", async () => {
    assert.equal(
      (await editor.page.locator("#red-ui-palette-header-alarm_mail span").textContent())?.trim(),
      "e-mail d'alarme",
    );
    await editor.press("lvl");
    await sink.waitFor(1);
    await editor.status("blk", /1/);
    await editor.status("snd", /\S/);
    assert.equal(await editor.marked("lvl"), false);
    await editor.screenshotNodes("flow-fr-statuses", ["lvl", "blk", "snd"]);
  });
});
