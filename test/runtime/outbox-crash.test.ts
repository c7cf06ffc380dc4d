import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { SmtpSink } from "../../dev/SmtpSink";
import { NodeRedProcess } from "../support/NodeRedProcess";
import { smtpServer } from "../support/smtp";

const MAILS = 300;

describe("outbox: a crash in the middle of delivery", () => {
  const processes: NodeRedProcess[] = [];
  const smtp = new SmtpSink({ starttls: false, delayMs: 15 });
  after(async () => {
    await Promise.all(processes.map((p) => p.kill()));
    await smtp.close();
  });

  it("loses nothing: after SIGKILL and a restart every mail arrives, duplicates at most the ones in flight", async () => {
    await smtp.listen();
    const first = await NodeRedProcess.start();
    processes.push(first);
    await first.deploy([
      { id: "tab", type: "tab", label: "crash" },
      smtpServer("srv", smtp.port),
      { id: "go", z: "tab", type: "inject", props: [], wires: [["burst"]] },
      {
        id: "burst",
        z: "tab",
        type: "function",
        func: `for (let i = 0; i < ${MAILS}; i++) node.send({ to: "op@plant.example", topic: "alarm " + i, payload: "value " + i });\nreturn null;`,
        outputs: 1,
        wires: [["send"]],
      },
      { id: "send", z: "tab", type: "alarm-mail-send", server: "srv", wires: [[], []] },
    ]);
    await first.inject("go");
    await smtp.waitFor(60, 20_000);
    await first.kill();
    const beforeRestart = smtp.received.length;
    assert.ok(beforeRestart < MAILS, `killed in the middle of delivery (${beforeRestart} of ${MAILS} delivered)`);

    const second = await NodeRedProcess.start({ userDir: first.userDir });
    processes.push(second);
    await smtp.waitFor(MAILS, 30_000);
    // Give a wrongly resent mail the time to show up before counting.
    await new Promise((resolve) => setTimeout(resolve, 500));

    const subjects = new Set(smtp.received.map((m) => /^Subject: (.*)$/m.exec(m.raw.toString())?.[1]));
    assert.equal(subjects.size, MAILS, "every mail was delivered");
    const ids = smtp.received.map((m) => m.messageId);
    const duplicates = ids.length - new Set(ids).size;
    assert.ok(duplicates <= 2, `${duplicates} duplicates: no more than the two connections had in flight`);
    console.log(
      `crash test: ${beforeRestart} delivered before SIGKILL, ${ids.length} received in all, ${duplicates} duplicates`,
    );
  });
});
