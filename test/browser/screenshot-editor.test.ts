import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Editor } from "../support/Editor";
import { PASSWORD, USER } from "../support/images";
import { NodeRedProcess } from "../support/NodeRedProcess";

describe("alarm-mail-screenshot's dialog in the Node-RED editor", () => {
  let red: NodeRedProcess;
  let editor: Editor;
  const field = (id: string) => editor.tray().locator(`#node-input-${id}`);
  const visible = (id: string) => field(id).isVisible();
  const type = async (id: string, value: string) => {
    await field(id).fill(value);
    await field(id).blur();
  };

  before(async () => {
    red = await NodeRedProcess.start();
    await red.deploy([
      { id: "tab", type: "tab", label: "editor" },
      {
        id: "shot",
        z: "tab",
        type: "alarm-mail-screenshot",
        mode: "page",
        url: "http://127.0.0.1:1880/dashboard",
        x: 200,
        y: 100,
        wires: [[]],
        credentials: { username: USER, password: PASSWORD },
      },
    ]);
    editor = await Editor.open(red);
    await editor.openDialog("shot");
  });
  after(async () => {
    await editor?.close();
    await red?.kill();
  });

  it("shows what the runtime takes for the settings the flow leaves out", async () => {
    assert.equal(await field("format").inputValue(), "png");
    assert.deepEqual(
      await Promise.all(["width", "height", "delay", "timeout"].map((id) => field(id).getAttribute("placeholder"))),
      ["1280", "720", "0", "20000"],
    );
  });

  it("shows the rows of the chosen source", async () => {
    assert.equal(
      await editor.page.evaluate(
        () => (window.RED.nodes.getType("alarm-mail-screenshot") as { category: string }).category,
      ),
      "alarm mail",
    );
    assert.deepEqual(
      [await visible("url"), await visible("width"), await visible("waitFor"), await visible("path")],
      [true, true, true, false],
    );
    await field("mode").selectOption("file");
    assert.deepEqual([await visible("url"), await visible("width"), await visible("path")], [false, false, true]);
    await field("mode").selectOption("image-url");
    assert.deepEqual([await visible("url"), await visible("username"), await visible("width")], [true, true, false]);
    assert.equal(await visible("quality"), false);
    await field("format").selectOption("jpeg");
    assert.equal(await visible("quality"), true);
  });

  it("marks a URL that is not http(s) and a size out of range", async () => {
    await field("mode").selectOption("page");
    await type("url", "ftp://camera/snap.jpg");
    await type("width", "90000");
    assert.equal(await editor.invalid(field("url")), true);
    assert.equal(await editor.invalid(field("width")), true);
    await type("url", "http://127.0.0.1:1880/dashboard");
    await type("width", "1280");
    assert.equal(await editor.invalid(field("url")), false);
    assert.equal(await editor.invalid(field("width")), false);
  });

  it("never sends the password back to the editor, nor into the flow", async () => {
    assert.equal(await field("username").inputValue(), USER);
    assert.notEqual(await field("password").inputValue(), "");
    assert.notEqual(await field("password").inputValue(), PASSWORD);
    const flows = await (await red.request("GET", "/flows")).text();
    assert.doesNotMatch(flows, new RegExp(PASSWORD));
  });
});
