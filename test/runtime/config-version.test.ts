import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { HIGH } from "../support/alarms";
import { text } from "../support/bad-inputs";
import { EditorStatuses } from "../support/comms";
import { NodeRedProcess } from "../support/NodeRedProcess";
import { until } from "../support/until";

/**
 * A block or an inbox whose `version` no package ever wrote (hand-edited, or broken by a tool) says that its setting
 * is invalid, in the runtime's words, with a red status, and does not run; only a version above this package's says
 * the flow needs a newer package.
 */

const CONFIG_STATUS = {
  fill: "red",
  shape: "ring",
  text: "@alarm-mail/node-red/alarm-mail-server:alarm-mail-server.status.config",
};

let red: NodeRedProcess;
let statuses: EditorStatuses;

before(async () => {
  red = await NodeRedProcess.start();
  statuses = await EditorStatuses.open(red.url);
});
after(async () => {
  statuses?.close();
  await red?.stop();
});

const block = (id: string, version: unknown) => ({
  id,
  z: "tab",
  type: "alarm-mail-block",
  block: 1,
  alarms: [HIGH],
  ...(version === undefined ? {} : { version }),
  wires: [[]],
});
const inbox = (id: string, version: unknown) => ({
  id,
  z: "tab",
  type: "alarm-mail-inbox",
  host: "127.0.0.1",
  port: 1,
  security: "none",
  auth: "login",
  mailbox: "INBOX",
  afterRead: "seen",
  pollSeconds: "30",
  version,
  // Never used: an inbox whose config is refused does not connect.
  credentials: { user: "gw@plant.example", password: "unused" },
  wires: [[]],
});

/** Waits for the line Node-RED logged for node `id`, ending with `words`. */
const logged = (id: string, words: string) =>
  until(
    () => red.output.split("\n").some((line) => line.includes(`:${id}]`) && line.endsWith(words)),
    `${id}: ${words}`,
    10_000,
    () => red.output,
  );

describe("a node config's version, in a real Node-RED", () => {
  it("a malformed version is the node's invalid setting; a newer one asks for an update; none runs as version 1", async () => {
    await red.deploy([
      { id: "tab", type: "tab", label: "versions" },
      block("block-word", "x"),
      block("block-fraction", 2.5),
      block("block-null", null),
      block("block-newer", 2),
      block("block-none", undefined),
      inbox("inbox-zero", 0),
      inbox("inbox-object", { major: 3 }),
      inbox("inbox-newer", 3),
    ]);
    const refused = ["block-word", "block-fraction", "block-null", "block-newer", "inbox-zero", "inbox-object"];
    for (const id of [...refused, "inbox-newer"]) {
      await until(() => statuses.of(id) !== undefined, `a status under ${id}`, 10_000);
      assert.deepEqual(statuses.of(id), CONFIG_STATUS, id);
    }

    const invalidBlock = (value: string) =>
      text("alarm-mail-block", "errors.block-config-invalid", { field: "version", value });
    await logged("block-word", invalidBlock("x"));
    await logged("block-fraction", invalidBlock("2.5"));
    await logged("block-null", invalidBlock("null"));
    await logged("block-newer", text("alarm-mail-block", "errors.config-version", { version: 2, supported: 1 }));
    const invalidInbox = text("alarm-mail-inbox", "errors.config-invalid", { field: "version" });
    await logged("inbox-zero", invalidInbox);
    await logged("inbox-object", invalidInbox);
    await logged("inbox-newer", text("alarm-mail-inbox", "errors.config-version", { version: 3, supported: 2 }));

    // Only a version above this package's is called newer.
    const newer = /newer/;
    for (const id of ["block-word", "block-fraction", "block-null", "inbox-zero", "inbox-object"]) {
      const lines = red.output.split("\n").filter((line) => line.includes(`:${id}]`));
      assert.ok(lines.length > 0, id);
      assert.ok(!lines.some((line) => newer.test(line)), `${id}: ${lines.join("\n")}`);
    }
    await until(() => statuses.of("block-none") !== undefined, "a status under block-none", 10_000);
    assert.equal(statuses.of("block-none")?.fill, "green", "a block saved before versions runs as version 1");
  });
});
