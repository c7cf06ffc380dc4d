import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import type { SmtpSink } from "../../dev/SmtpSink";
import { text } from "../support/bad-inputs";
import { EditorStatuses } from "../support/comms";
import type { FlowNode } from "../support/flows";
import { NodeRedProcess } from "../support/NodeRedProcess";
import { Sinks } from "../support/smtp";
import { until } from "../support/until";

/**
 * The server's `connections` in a real Node-RED: the mail server sees as many sessions at once as it says while
 * mails wait in the outbox, never more, and a flow that does not say keeps the 2 it always had. The sink counts the
 * connections open at once (smtp-server's onConnect and onClose); each DATA is held a little so that the queue
 * backs up behind the sessions.
 */

const MAILS = 20;
const sinks = new Sinks();
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
afterEach(async () => {
  await sinks.closeAll();
});

/**
 * A tab with a server on the sink (with `server` settings), a recipient group and a send node mailing it through that
 * server. Node ids start with `prefix`, new for each test, so that a msg cannot reach the flow of the test before.
 */
function mailFlow(prefix: string, sink: SmtpSink, server: Record<string, unknown>): FlowNode[] {
  const id = (name: string) => `${prefix}-${name}`;
  return [
    { id: id("tab"), type: "tab", label: prefix },
    {
      id: id("server"),
      type: "alarm-mail-server",
      host: "127.0.0.1",
      port: sink.port,
      security: "none",
      auth: "none",
      from: "gateway@plant.example",
      ...server,
    },
    { id: id("group"), type: "alarm-mail-recipients", to: "operator@plant.example" },
    {
      id: id("send"),
      z: id("tab"),
      type: "alarm-mail-send",
      server: id("server"),
      recipients: id("group"),
      wires: [[], []],
    },
  ];
}

/**
 * Deploys `mailFlow` behind a function node that turns one inject into MAILS msgs, presses the inject and waits until
 * the sink has every mail.
 */
async function sendBurst(prefix: string, sink: SmtpSink, server: Record<string, unknown>): Promise<void> {
  const id = (name: string) => `${prefix}-${name}`;
  await red.deploy([
    ...mailFlow(prefix, sink, server),
    { id: id("inject"), z: id("tab"), type: "inject", wires: [[id("burst")]] },
    {
      id: id("burst"),
      z: id("tab"),
      type: "function",
      func: `for (let i = 0; i < ${MAILS}; i++) node.send({ topic: "Pump " + i + " tripped", payload: i });\nreturn null;`,
      outputs: 1,
      wires: [[id("send")]],
    },
  ]);
  await red.inject(id("inject"));
  await sink.waitFor(MAILS, 60_000);
}

describe("alarm-mail-server: connections", () => {
  it("4 connections: the server sees 4 sessions at once while 20 mails wait, and never more", async () => {
    const sink = await sinks.start({ delayMs: 150 });
    await sendBurst("four", sink, { connections: 4 });
    assert.equal(sink.peakConnections, 4);
  });

  it("a server that does not set it keeps 2 sessions at once", async () => {
    const sink = await sinks.start({ delayMs: 150 });
    await sendBurst("default", sink, {});
    assert.equal(sink.peakConnections, 2);
  });

  it("11 connections: the send node is red at deploy, in the words of the dialog's rule", async () => {
    const sink = await sinks.start();
    const prefix = "eleven";
    await red.deploy(mailFlow(prefix, sink, { connections: 11 }));
    await until(() => statuses.of(`${prefix}-send`) !== undefined, "a status under the send node", 10_000);
    assert.deepEqual(statuses.of(`${prefix}-send`), {
      fill: "red",
      shape: "ring",
      text: "@alarm-mail/node-red/alarm-mail-server:alarm-mail-server.status.config",
    });
    const rule = text("alarm-mail-server", "alarm-mail-server.validation.connections");
    const words = text("alarm-mail-server", "errors.config-rule", { field: "connections", validation: rule });
    await until(
      () => red.output.split("\n").some((line) => line.includes(`:${prefix}-server]`) && line.endsWith(words)),
      `the server's error: ${words}`,
      10_000,
      () => red.output,
    );
    assert.equal(sink.peakConnections, 0, "nothing reached the mail server");
  });
});
