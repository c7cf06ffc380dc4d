import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { SmtpSink } from "../../dev/SmtpSink";
import { helper, loadMailFlow } from "../support/flows";
import { tempDir } from "../support/tempDir";

const sinks: SmtpSink[] = [];
async function sink(delayMs: number): Promise<SmtpSink> {
  const s = new SmtpSink({ starttls: false, delayMs });
  sinks.push(s);
  await s.listen();
  return s;
}
afterEach(async () => {
  await helper.unload();
  await Promise.all(sinks.splice(0).map((s) => s.close()));
});

/** Redeploys (stops the flow), measuring how long Node-RED waits for the nodes to close. */
async function timedStop(): Promise<number> {
  const started = Date.now();
  await helper.unload();
  return Date.now() - started;
}

describe("outbox: close on redeploy or shutdown", () => {
  it("lets a mail in flight finish, records it, and does not send it again after the restart", async () => {
    const userDir = tempDir("alarm-mail-close-");
    const slow = await sink(1500);
    await loadMailFlow(slow.port, { userDir });
    helper.getNode("send").receive({ topic: "in flight", payload: "x" });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stopped = await timedStop();
    assert.ok(stopped < 15_000, `closed in ${stopped} ms`);
    assert.equal(slow.received.length, 1);

    const fast = await sink(0);
    await loadMailFlow(fast.port, { userDir });
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(fast.received.length, 0, "not sent twice");
  });

  it("stops within Node-RED's 15 s even when the server hangs, and the mail stays queued for the next start", async () => {
    const userDir = tempDir("alarm-mail-close-");
    const hanging = await sink(30_000);
    await loadMailFlow(hanging.port, { userDir, server: { socketTimeout: 60_000 } });
    helper.getNode("send").receive({ topic: "stuck", payload: "x" });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stopped = await timedStop();
    assert.ok(stopped < 15_000, `closed in ${stopped} ms`);

    const fast = await sink(0);
    await loadMailFlow(fast.port, { userDir });
    const [mail] = await fast.waitFor(1);
    assert.match(mail.raw.toString(), /^Subject: stuck$/m);
  });
});
