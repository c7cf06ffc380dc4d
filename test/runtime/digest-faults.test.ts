import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, it } from "node:test";
import { NodeRedProcess } from "../support/NodeRedProcess";
import { until } from "../support/until";
import { tempDir } from "../support/tempDir";
import { smtpServer } from "../support/smtp";

/** inject → send (with a digest window) and a catch node, both printing to Node-RED's log through debug nodes. */
function digestFlow(smtpPort: number): object[] {
  return [
    { id: "tab", type: "tab", label: "digest faults" },
    smtpServer("server", smtpPort),
    { id: "group", type: "alarm-mail-recipients", to: "ops@plant.example", subject: "{{topic}}" },
    { id: "alarm", z: "tab", type: "inject", topic: "Tank high", payload: "", payloadType: "str", wires: [["send"]] },
    {
      id: "send",
      z: "tab",
      type: "alarm-mail-send",
      server: "server",
      recipients: "group",
      digest: 500,
      wires: [[], []],
    },
    { id: "catch", z: "tab", type: "catch", scope: null, wires: [["log"]] },
    { id: "log", z: "tab", type: "debug", active: true, tosidebar: false, console: true, complete: "error", wires: [] },
  ];
}

let red: NodeRedProcess | undefined;
const log = () => red?.output ?? "";
afterEach(async () => {
  await red?.kill();
  red = undefined;
});

describe("the send node's digest window when its folder is damaged or unusable", () => {
  it("reports a damaged digest record in the send node's own words, not as a raw catalogue key", async () => {
    const userDir = tempDir("alarm-mail-nr-");
    const folder = join(userDir, "alarm-mail", "digest", "send");
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, "journal-00000001.log"), "0badc0de {not a record}\n");
    red = await NodeRedProcess.start({ userDir });
    await red.deploy(digestFlow(1));
    await until(
      () => /digest/i.test(red?.output ?? "") && /damaged/i.test(red?.output ?? ""),
      "the damage reported",
      10_000,
      log,
    );
    assert.doesNotMatch(red.output, /alarm-mail-server\.outbox\.corrupt|alarm-mail-send\.digest\./);
    assert.match(red.output, /journal-00000001\.log/);
  });

  it("says so when the folder cannot be opened, refuses each msg with that error and keeps Node-RED running", async () => {
    const userDir = tempDir("alarm-mail-nr-");
    // A file where the window's folder should be: the folder cannot be created.
    mkdirSync(join(userDir, "alarm-mail", "digest"), { recursive: true });
    writeFileSync(join(userDir, "alarm-mail", "digest", "send"), "");
    red = await NodeRedProcess.start({ userDir });
    await red.deploy(digestFlow(1));
    await until(() => /digest window/i.test(red?.output ?? ""), "the unusable folder reported at deploy", 10_000, log);
    await red.inject("alarm");
    await until(
      () => (red?.output.match(/digest window/gi) ?? []).length >= 2,
      "the msg refused with the same reason",
      10_000,
      log,
    );
    assert.doesNotMatch(red.output, /alarm-mail-send\.digest\.|Unhandled|uncaught/i);
    assert.equal((await red.request("GET", "/flows")).status, 200, "Node-RED still answers");
  });
});
