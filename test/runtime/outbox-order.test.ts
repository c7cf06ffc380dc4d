import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createServer as createNetServer } from "node:net";
import { join } from "node:path";
import { afterEach, describe, it } from "node:test";
import type { SmtpSink, SmtpSinkOptions } from "../../dev/SmtpSink";
import { HIGH } from "../support/alarms";
import { plainPng } from "../support/images";
import { helper, loadMailFlow, until, type FlowNode } from "../support/flows";
import { NodeRedProcess } from "../support/NodeRedProcess";
import { downPort, Sinks, smtpServer } from "../support/smtp";
import { tempDir } from "../support/tempDir";

/**
 * Mails about one alarm occurrence reach the server in event order (trigger, ack, recovery), whatever overtakes
 * what on the way: a slow attachment, a server that is down, a kill -9. And an outage is a state of the server: the
 * queued mails wait untouched and go at once when it answers again.
 */
const sinks = new Sinks();
const servers: Server[] = [];
const processes: NodeRedProcess[] = [];
afterEach(async () => {
  await helper.unload();
  await Promise.all(processes.splice(0).map((p) => p.kill()));
  await sinks.closeAll();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});
const sink = (port = 0, options: SmtpSinkOptions = {}) => sinks.start(options, port);

/**
 * What each received mail is about: its subject, or for a later mail of an alarm thread (whose subject is the root's
 * after "Re: ") the first line of its body, which is its own subject.
 */
const subjects = (smtp: SmtpSink) =>
  Promise.all(
    smtp.received.map(async (m) => {
      const parsed = await m.parse();
      const subject = parsed.subject ?? "";
      return subject.startsWith("Re: ") ? (parsed.text ?? "").split("\n")[0] : subject;
    }),
  );
const block = (wires: string[]): FlowNode => ({
  id: "block",
  z: "tab",
  type: "alarm-mail-block",
  block: "B1",
  version: 1,
  alarms: [{ ...HIGH, ack: "manual" }],
  wires: [wires],
});
const recipients = { subject: "{{event}} {{alarm.id}}" };
const trigger = { topic: HIGH.topic, payload: 9 };
const ack = { command: "ack", alarm: HIGH.id, user: "op" };
const recovery = { topic: HIGH.topic, payload: 1 };

describe("alarm mails in event order", () => {
  it("an ack and a recovery wait for the trigger whose attachment is slow", async () => {
    // A camera whose first picture takes 1.5 s (a cold start); the later ones come at once.
    let requests = 0;
    const png = plainPng(8, 8, [200, 0, 0]);
    const camera = createServer((_req, res) => {
      const answer = () => res.writeHead(200, { "content-type": "image/png" }).end(png);
      if (requests++ === 0) setTimeout(answer, 1500);
      else answer();
    });
    servers.push(camera);
    await new Promise<void>((resolve) => camera.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(camera.address() as { port: number }).port}/snapshot.png`;
    const smtp = await sink();
    await loadMailFlow(smtp.port, {
      recipients,
      modules: ["alarm-mail-block", "alarm-mail-screenshot"],
      extraNodes: [
        block(["camera"]),
        { id: "camera", z: "tab", type: "alarm-mail-screenshot", mode: "image-url", url, wires: [["send"]] },
      ],
    });
    const input = helper.getNode("block");
    input.receive(trigger);
    await new Promise((resolve) => setTimeout(resolve, 50));
    input.receive(ack);
    await new Promise((resolve) => setTimeout(resolve, 50));
    input.receive(recovery);
    await smtp.waitFor(3, 15_000);
    assert.deepEqual(await subjects(smtp), [`trigger ${HIGH.id}`, `ack ${HIGH.id}`, `recovery ${HIGH.id}`]);
    for (const mail of smtp.received) assert.equal((await mail.parse()).attachments.length, 1, "each with its picture");
    // The ack and the recovery reached the send node before the trigger, and waited for it to take the root.
    const [first, ...later] = await Promise.all(smtp.received.map((m) => m.parse()));
    assert.equal(first.subject, `trigger ${HIGH.id}`);
    for (const mail of later) assert.equal(mail.inReplyTo, first.messageId, "the trigger is its thread's root");
  });

  it("after an outage: nothing tried while the server is down, the first mail within a second of its return, in order", async () => {
    const port = await downPort();
    const userDir = tempDir("alarm-mail-order-");
    await loadMailFlow(port, { recipients, userDir, modules: ["alarm-mail-block"], extraNodes: [block(["send"])] });
    const input = helper.getNode("block");
    input.receive(trigger);
    input.receive(ack);
    input.receive(recovery);
    const send = helper.getNode("send");
    for (let i = 0; i < 20; i++) send.receive({ to: "ops@plant.example", topic: `report ${i}`, payload: "-" });
    const server = helper.getNode("server") as unknown as { mailServer: { queued: number } };
    await until(() => server.mailServer.queued === 23, "23 mails queued");
    // Long enough for the default retry schedule (5 s, then 10 s ...) to have tried every mail several times.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const journal = outboxJournalIn(join(userDir, "alarm-mail", "outbox", "server"));
    assert.equal((journal.match(/"t":"q"/g) ?? []).length, 23, "the journal read is the outbox's");
    const retries = (journal.match(/"t":"a"/g) ?? []).length;
    assert.ok(retries <= 2, `at most the attempts that found the server down: ${retries} retry records`);

    const smtp = await sink(port);
    const back = Date.now();
    await smtp.waitFor(1, 10_000);
    const first = Date.now() - back;
    console.log(`outage: the first mail arrived ${first} ms after the server answered again`);
    assert.ok(first < 2500, `the first mail within about a second of the server's return (${first} ms)`);
    await smtp.waitFor(23, 15_000);
    const alarmMails = (await subjects(smtp)).filter((s) => s.endsWith(HIGH.id));
    assert.deepEqual(alarmMails, [`trigger ${HIGH.id}`, `ack ${HIGH.id}`, `recovery ${HIGH.id}`]);
    assert.equal(
      (await subjects(smtp)).indexOf(`trigger ${HIGH.id}`),
      0,
      "the alarm (priority 2) goes before the reports",
    );
  });

  it("a reminder refused once by the server is retried and still arrives before the ack that ended it", async () => {
    let refused = 0;
    // The server turns the first reminder away for now (451): its retry is due later than the ack's first try.
    const onMessage = (mail: { raw: Buffer }) =>
      refused === 0 && /^reminder /m.test(mail.raw.toString())
        ? (refused++, { code: 451, message: "try later" })
        : undefined;
    const smtp = await sink(0, { onMessage });
    await loadMailFlow(smtp.port, {
      recipients: null,
      server: { retryDelay: 300, retryMaxDelay: 300 },
      modules: ["alarm-mail-block", "alarm-mail-escalation"],
      extraNodes: [
        { id: "ops", type: "alarm-mail-recipients", to: "ops@plant.example", ...recipients },
        block(["escalation"]),
        {
          id: "escalation",
          z: "tab",
          type: "alarm-mail-escalation",
          tz: "UTC",
          levels: [{ recipients: "ops", after: 0, repeat: 800 }],
          wires: [["send"]],
        },
      ],
    });
    const input = helper.getNode("block");
    input.receive(trigger);
    await until(() => refused === 1, "the first reminder refused once", 10_000);
    input.receive(ack);
    await smtp.waitFor(3, 15_000);
    assert.deepEqual(await subjects(smtp), [`trigger ${HIGH.id}`, `reminder ${HIGH.id}`, `ack ${HIGH.id}`]);
  });

  it("across a kill -9 while the server hangs", async () => {
    const port = await downPort();
    // A server that takes connections and never greets: the first attempts hang until Node-RED is killed, so after
    // the restart every mail is due at once.
    const silent = createNetServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(port, "127.0.0.1", resolve));
    const first = await NodeRedProcess.start();
    processes.push(first);
    await first.deploy([
      { id: "tab", type: "tab", label: "order" },
      smtpServer("srv", port),
      { id: "group", type: "alarm-mail-recipients", to: "ops@plant.example", ...recipients },
      inject("high", trigger),
      inject("ack", ack),
      inject("normal", recovery),
      block(["send"]),
      { id: "send", z: "tab", type: "alarm-mail-send", server: "srv", recipients: "group", wires: [[], []] },
    ]);
    await first.inject("high");
    await first.inject("ack");
    await first.inject("normal");
    const outbox = join(first.userDir, "alarm-mail", "outbox", "srv");
    await until(() => (outboxJournalIn(outbox).match(/"t":"q"/g) ?? []).length === 3, "three mails queued");
    await first.kill();
    await new Promise((resolve) => silent.close(resolve));

    // The server takes its time over the trigger: a second connection must not slip the ack in before it.
    const slowTrigger = (mail: { raw: Buffer }) => (/^Subject: trigger/m.test(mail.raw.toString()) ? 500 : 0);
    const smtp = await sink(port, { delayMs: slowTrigger });
    const second = await NodeRedProcess.start({ userDir: first.userDir });
    processes.push(second);
    await smtp.waitFor(3, 20_000);
    assert.deepEqual(await subjects(smtp), [`trigger ${HIGH.id}`, `ack ${HIGH.id}`, `recovery ${HIGH.id}`]);
  });
});

function inject(id: string, msg: Record<string, unknown>): FlowNode {
  const props = Object.entries(msg).map(([p, v]) => ({ p, v: String(v), vt: typeof v === "number" ? "num" : "str" }));
  return { id, z: "tab", type: "inject", props, wires: [["block"]] };
}

/** The text of every journal segment of one outbox folder ("" before it exists). */ function outboxJournalIn(
  folder: string,
): string {
  try {
    return readdirSync(folder)
      .filter((file) => file.startsWith("journal-"))
      .map((file) => readFileSync(join(folder, file), "utf8"))
      .join("");
  } catch {
    return "";
  }
}
