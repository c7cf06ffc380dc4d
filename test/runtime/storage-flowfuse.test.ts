import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { SmtpSink } from "../../dev/SmtpSink";
import { freePort, NodeRedProcess } from "../support/NodeRedProcess";
import { tempDir } from "../support/tempDir";
import { smtpServer } from "../support/smtp";

/** What a FlowFuse hosted instance has in its environment (FlowFuse sets FF_INSTANCE_ID for every instance it runs). */
const FLOWFUSE = { FF_INSTANCE_ID: "0f1e2d3c-alarm-mail-test", FF_INSTANCE_NAME: "alarm-mail-test" };
const SUBJECT = "Bassin 2 level high";

function flows(port: number): object[] {
  return [
    { id: "tab", type: "tab", label: "FlowFuse" },
    smtpServer("srv", port, {
      // Retries within the test's time; the first attempt is bound to fail, as nothing listens yet.
      retryDelay: 200,
      retryMaxDelay: 500,
    }),
    { id: "go", z: "tab", type: "inject", props: [], wires: [["mail"]] },
    {
      id: "mail",
      z: "tab",
      type: "change",
      rules: [
        { t: "set", p: "to", pt: "msg", to: "operator@plant.example", tot: "str" },
        { t: "set", p: "topic", pt: "msg", to: SUBJECT, tot: "str" },
        { t: "set", p: "payload", pt: "msg", to: "7.4 mg/l", tot: "str" },
      ],
      wires: [["send"]],
    },
    { id: "send", z: "tab", type: "alarm-mail-send", server: "srv", wires: [[], []] },
  ];
}

/** A FlowFuse container restart: the user directory is laid anew, only its storage/ folder is kept. */
function wipeAllButStorage(userDir: string): void {
  for (const entry of readdirSync(userDir)) {
    if (entry !== "storage") rmSync(join(userDir, entry), { recursive: true, force: true });
  }
}

describe("data folder on FlowFuse", () => {
  const processes: NodeRedProcess[] = [];
  const sinks: SmtpSink[] = [];
  after(async () => {
    await Promise.all(processes.map((p) => p.kill()));
    await Promise.all(sinks.map((s) => s.close()));
  });

  it("keeps a queued mail in the storage folder, so that it is delivered after a restart that wiped the rest", async () => {
    const userDir = tempDir("alarm-mail-flowfuse-");
    const port = await freePort();
    const first = await NodeRedProcess.start({ userDir, env: FLOWFUSE });
    processes.push(first);
    await first.deploy(flows(port));
    await first.inject("go");
    const outbox = join(userDir, "storage", "alarm-mail", "outbox", "srv");
    // Queued once its record is in a segment: the folder alone says nothing, as it holds a preallocated segment (all
    // zeros) from the moment the outbox opens.
    const queued = () =>
      existsSync(outbox) && readdirSync(outbox).some((name) => readFileSync(join(outbox, name)).includes(SUBJECT));
    for (let i = 0; i < 100 && !queued(); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(queued(), "the mail is queued under storage/alarm-mail");
    assert.equal(existsSync(join(userDir, "alarm-mail")), false, "nothing is kept beside the storage folder");
    assert.match(
      first.output,
      new RegExp(`outbox, alarm states and traces in ${join(userDir, "storage", "alarm-mail")}`),
    );
    await first.stop();

    wipeAllButStorage(userDir);
    const sink = new SmtpSink({ starttls: false });
    sinks.push(sink);
    await sink.listen(port);
    // FlowFuse starts the instance again with its flows from the platform: the same flows, deployed anew.
    const second = await NodeRedProcess.start({ userDir, env: FLOWFUSE });
    processes.push(second);
    await second.deploy(flows(port));
    const [mail] = await sink.waitFor(1, 20_000);
    assert.equal((await mail.parse()).subject, SUBJECT);
    assert.deepEqual(mail.to, ["operator@plant.example"]);
  });

  it("warns at start when the data folder is set outside the storage folder", async () => {
    const userDir = tempDir("alarm-mail-flowfuse-");
    const red = await NodeRedProcess.start({
      userDir,
      env: FLOWFUSE,
      settings: { alarmMailServerDataDir: "alarm-data" },
    });
    processes.push(red);
    const dir = join(userDir, "alarm-data");
    assert.match(red.output, new RegExp(`data folder ${dir} is outside ${join(userDir, "storage")}, the only folder`));
  });

  it("uses the registered setting, and neither warns nor moves to storage/ outside FlowFuse", async () => {
    const userDir = tempDir("alarm-mail-nr-");
    const red = await NodeRedProcess.start({ userDir, settings: { alarmMailServerDataDir: "alarm-data" } });
    processes.push(red);
    assert.match(red.output, new RegExp(`outbox, alarm states and traces in ${join(userDir, "alarm-data")}`));
    assert.doesNotMatch(red.output, /the only folder FlowFuse keeps/);
  });
});
