import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { findChromium } from "../../nodes/lib/screenshot/Screenshotter";
import { SmtpSink } from "../../dev/SmtpSink";
import { HIGH } from "../support/alarms";
import { Editor } from "../support/Editor";
import { NodeRedProcess } from "../support/NodeRedProcess";
import { until } from "../support/until";

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

  it("marks the mails of one alarm thread, readable at the default sidebar width, in English and French", async () => {
    const smtp = new SmtpSink({ starttls: false });
    await smtp.listen();
    try {
      await red.deploy([
        { id: "tab", type: "tab", label: "threads" },
        ...["a", "b"].map((id) => ({
          id: `server-${id}`,
          type: "alarm-mail-server",
          name: `Relay ${id}`,
          host: "127.0.0.1",
          port: smtp.port,
          security: "none",
          auth: "none",
          from: "gateway@plant.example",
        })),
        { id: "ops", type: "alarm-mail-recipients", to: "operators@plant.example" },
        { id: "block", z: "tab", type: "alarm-mail-block", block: 1, alarms: [HIGH], version: 1, wires: [["send"]] },
        { id: "send", z: "tab", type: "alarm-mail-send", server: "server-a", recipients: "ops", wires: [[], []] },
        { id: "burst", z: "tab", type: "inject", props: [], repeat: "", once: false, wires: [["both"]] },
        {
          id: "both",
          z: "tab",
          type: "function",
          func: [
            'node.send({ topic: "LT-201", payload: 9 });',
            'node.send({ command: "ack", alarm: "*", user: "ana" });',
            'node.send({ topic: "LT-201", payload: 1 });',
            "return null;",
          ].join("\n"),
          outputs: 1,
          wires: [["block"]],
        },
        {
          id: "plain",
          z: "tab",
          type: "inject",
          props: [{ p: "topic", v: "no alarm", vt: "str" }],
          repeat: "",
          once: false,
          wires: [["send"]],
        },
      ]);
      await red.inject("burst");
      await red.inject("plain");
      await smtp.waitFor(4, 20_000);
      // The trigger is the thread's root; the plain mail may reach the server first, as it waits for no thread.
      const heads = smtp.received.map((mail) => mail.raw.toString("utf8").split(/\r?\n\r?\n/)[0]);
      const root = heads.findIndex((head) => /^Subject: .*Basin 2/m.test(head) && !/^In-Reply-To:/im.test(head));
      assert.notEqual(root, -1, "the trigger mail was received");
      const rootId = smtp.received[root].messageId;

      for (const language of ["en-US", "fr"]) {
        const editor = await Editor.open(red, { locale: language });
        try {
          const sidebar = await editor.sidebar(PLUGIN);
          const relay = sidebar.locator(".alarm-mail-outbox-server", { hasText: "Relay a" });
          const threaded = relay.locator(`.alarm-mail-outbox-entry[data-thread="${rootId}"]`);
          await until(async () => (await threaded.count()) === 3, "three rows of one thread", 15_000);
          const marks = await threaded.locator(".alarm-mail-outbox-thread").allTextContents();
          const says = (position: number) =>
            text(language, "thread").replace("__position__", String(position)).replace("__count__", "3");
          assert.deepEqual(marks, [says(3), says(2), says(1)], "the sent log is newest first");
          assert.equal(
            await threaded
              .and(relay.locator(`.alarm-mail-outbox-entry[data-id="${rootId}"]`))
              .locator(".alarm-mail-outbox-thread")
              .textContent(),
            says(1),
            "the root is the thread's first mail",
          );
          const plain = relay.locator(".alarm-mail-outbox-entry", { hasText: "no alarm" });
          assert.equal(await plain.locator(".alarm-mail-outbox-thread").count(), 0, "a mail about no alarm");
          // At the sidebar's default width the mark is whole: not cut by the column's ellipsis.
          for (const mark of await threaded.locator(".alarm-mail-outbox-thread").all()) {
            const fits = await mark.evaluate((el) => el.scrollWidth <= el.clientWidth);
            assert.ok(fits, `"${await mark.textContent()}" fits its column`);
          }
          const edges = await threaded.evaluateAll((rows) =>
            rows.map((row) => getComputedStyle(row.children[0]).borderLeftColor),
          );
          assert.equal(new Set(edges).size, 1, "one colour for the thread");
          assert.match(
            (await threaded.first().locator(".alarm-mail-outbox-details").textContent()) ?? "",
            /Basin 2 bacteria level high/,
            "the details name the thread's topic",
          );
        } finally {
          await editor.close();
        }
      }
    } finally {
      await smtp.close();
    }
  });
});
