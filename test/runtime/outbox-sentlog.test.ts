import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { SmtpSink } from "../../dev/SmtpSink";
import { NodeRedProcess } from "../support/NodeRedProcess";
import { smtpServer } from "../support/smtp";

interface LogEntry {
  id: string;
  attempts: number;
  summary: { to: string[]; subject: string };
  lastError?: { code: string };
}
interface OutboxView {
  servers: Array<{ id: string; address: string; queued: LogEntry[]; failed: LogEntry[]; sent: LogEntry[] }>;
}

const BODY = "Confidential process value 42.7";

describe("the sent log, through the admin API", () => {
  let red: NodeRedProcess;
  let admin: string;
  let viewer: string;
  let refuse = true;
  const smtp = new SmtpSink({
    starttls: false,
    onRecipient: () => (refuse ? { code: 550, message: "5.1.1 Mailbox unavailable" } : undefined),
  });

  before(async () => {
    await smtp.listen();
    red = await NodeRedProcess.start({ adminAuth: true });
    admin = await red.token("admin");
    viewer = await red.token("viewer");
    await red.deploy(
      [
        { id: "tab", type: "tab", label: "log" },
        smtpServer("srv", smtp.port),
        {
          id: "go",
          z: "tab",
          type: "inject",
          props: [
            { p: "to", v: "maintenance@plant.example", vt: "str" },
            { p: "topic", v: "Pump P-12 overload", vt: "str" },
            { p: "payload", v: BODY, vt: "str" },
          ],
          wires: [["send"]],
        },
        { id: "send", z: "tab", type: "alarm-mail-send", server: "srv", wires: [[], []] },
      ],
      admin,
    );
  });
  after(async () => {
    await red.stop();
    await smtp.close();
  });

  const outbox = async (token: string) =>
    (await (await red.request("GET", "/alarm-mail/outbox", undefined, token)).json()) as OutboxView;
  const eventually = async (check: () => Promise<boolean>, what: string) => {
    for (let i = 0; i < 100; i++) {
      if (await check()) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.fail(`timed out waiting for ${what}`);
  };

  it("lists a failed mail with its recipients, subject, attempts and error, never its body", async () => {
    await red.inject("go", admin);
    await eventually(async () => (await outbox(viewer)).servers[0]?.failed.length === 1, "a failed mail");
    const view = await outbox(viewer);
    const [failed] = view.servers[0].failed;
    assert.deepEqual(failed.summary, { to: ["maintenance@plant.example"], subject: "Pump P-12 overload" });
    assert.equal(failed.attempts, 1);
    assert.equal(failed.lastError?.code, "smtp-rejected");
    assert.match(view.servers[0].address, /^127\.0\.0\.1:\d+$/);
    assert.doesNotMatch(JSON.stringify(view), new RegExp(BODY));
  });

  it("needs a login to read it and the write permission to resend or purge", async () => {
    assert.equal((await red.request("GET", "/alarm-mail/outbox")).status, 401);
    const id = (await outbox(admin)).servers[0].failed[0].id;
    assert.equal((await red.request("POST", "/alarm-mail/outbox/srv/resend", { id }, viewer)).status, 401);
    assert.equal((await red.request("POST", "/alarm-mail/outbox/srv/purge", {}, viewer)).status, 401);
  });

  it("resends a failed mail once the fault is fixed, with the same Message-ID", async () => {
    const id = (await outbox(admin)).servers[0].failed[0].id;
    refuse = false;
    const res = await red.request("POST", "/alarm-mail/outbox/srv/resend", { id }, admin);
    assert.equal(res.status, 200);
    const [mail] = await smtp.waitFor(1);
    assert.equal(mail.messageId, id);
    await eventually(async () => (await outbox(admin)).servers[0].sent.length === 1, "the sent log entry");
    assert.equal((await outbox(admin)).servers[0].failed.length, 0);
  });

  it("purges the failed mails and the log", async () => {
    const res = await red.request("POST", "/alarm-mail/outbox/srv/purge", {}, admin);
    assert.deepEqual(await res.json(), { ok: true, purged: 1 });
    const view = await outbox(admin);
    assert.deepEqual([view.servers[0].sent.length, view.servers[0].failed.length], [0, 0]);
  });
});
