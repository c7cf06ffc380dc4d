import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse } from "csv-parse/sync";
import { NodeRedProcess } from "../support/NodeRedProcess";

type Prop = { p: string; v: string; vt: string };
const at = (x: number, y: number) => ({ x, y });

/**
 * A samples trace fed by inject nodes, and a CSV node that exports it to a file (semicolon, decimal comma): what an
 * operator's flow does, observed from outside the runtime so that the runtime can be stopped or killed in between.
 */
function flow(exportFile: string): object[] {
  const inject = (id: string, props: Prop[], target: string, y: number) => ({
    id,
    z: "tab",
    type: "inject",
    props,
    repeat: "",
    once: false,
    wires: [[target]],
    ...at(120, y),
  });
  const level = (id: string, value: string, y: number) =>
    inject(
      id,
      [
        { p: "topic", v: "LT-201", vt: "str" },
        { p: "payload", v: value, vt: "num" },
      ],
      "trace",
      y,
    );
  return [
    { id: "tab", type: "tab", label: "trace restart" },
    level("level-a", "6.25", 40),
    level("level-b", "7.5", 80),
    level("level-c", "-1.5", 120),
    inject("read", [{ p: "payload", v: '{"PT-7":2.5,"XV-1":true}', vt: "json" }], "trace", 160),
    inject("export", [{ p: "topic", v: "export", vt: "str" }], "csv", 200),
    { id: "trace", z: "tab", type: "alarm-mail-trace", mode: "samples", wires: [[]], ...at(320, 100) },
    {
      id: "csv",
      z: "tab",
      type: "alarm-mail-csv",
      source: "trace",
      trace: "trace",
      delimiter: ";",
      decimalComma: true,
      bom: true,
      wires: [["to-text"]],
      ...at(320, 200),
    },
    {
      id: "to-text",
      z: "tab",
      type: "function",
      func: "msg.payload = msg.attachments[0].content.toString('utf8');\nreturn msg;",
      outputs: 1,
      wires: [["to-file"]],
      ...at(500, 200),
    },
    {
      id: "to-file",
      z: "tab",
      type: "file",
      filename: exportFile,
      filenameType: "str",
      appendNewline: false,
      createDir: true,
      overwriteFile: "true",
      encoding: "utf8",
      wires: [],
      ...at(680, 200),
    },
  ];
}

/** Exports the trace through the CSV node and reads the file back: header row, then [topic, value] of each row. */
async function exported(red: NodeRedProcess, file: string): Promise<{ header: string[]; rows: string[][] }> {
  rmSync(file, { force: true });
  await red.inject("export");
  const deadline = Date.now() + 10_000;
  while (!existsSync(file) || readFileSync(file).length === 0) {
    if (Date.now() > deadline) assert.fail(`no export\n${red.output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const [header, ...rows] = parse(readFileSync(file), { delimiter: ";", bom: true }) as string[][];
  for (const row of rows) assert.match(row[0], /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  return { header, rows: rows.map((row) => row.slice(1)) };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("alarm-mail-trace across a restart of Node-RED", () => {
  it("the log survives a stop and a kill -9; the CSV's headers follow the runtime's language", async () => {
    let red = await NodeRedProcess.start({ lang: "en-US" });
    try {
      const userDir = red.userDir;
      const file = join(userDir, "export.csv");
      await red.deploy(flow(file));
      await red.inject("level-a");
      await red.inject("read");
      await pause(200);
      const first = await exported(red, file);
      assert.deepEqual(first.header, ["Time", "Topic", "Value"]);
      assert.deepEqual(first.rows, [
        ["LT-201", "6,25"],
        ["PT-7", "2,5"],
        ["XV-1", "true"],
      ]);

      // A stop right after a sample, within the second its batch waits: closing writes it.
      await red.inject("level-b");
      await pause(100);
      await red.stop();
      red = await NodeRedProcess.start({ userDir, lang: "fr" });
      const second = await exported(red, file);
      assert.deepEqual(second.header, ["Heure", "Topic", "Valeur"]);
      assert.deepEqual(second.rows, [...first.rows, ["LT-201", "7,5"]]);

      // A kill -9 once the batch had its second to reach the disk.
      await red.inject("level-c");
      await pause(1500);
      await red.kill();
      red = await NodeRedProcess.start({ userDir, lang: "fr" });
      const third = await exported(red, file);
      assert.deepEqual(third.rows, [...second.rows, ["LT-201", "-1,5"]]);
      assert.doesNotMatch(red.output, /\[(error|warn)\] \[alarm-mail-(trace|csv)/);
    } finally {
      await red.kill();
    }
  });
});
